"""The light encoder every child uses agrees with the tracker's parser.

``_wire.encode_message`` checks common messages without ``re`` and asks
``_protocol.parse_message`` about the rest: for any input it must give the
same line, or raise the same error, as ``_protocol.encode_message`` (which
always parses what it encodes).
"""

from __future__ import annotations

from urllib.parse import quote_from_bytes

from hypothesis import given, settings
from hypothesis import strategies as st

from procstart_tracker import _protocol, _wire

KINDS = ["shared_memory", "semaphore", "file", "folder", "marker", "bad kind", "", "é", "x" * 65]
NAMES = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="/.ab\x00é\udcff", max_size=12),
    st.builds(lambda parts: "/" + "/".join(parts), st.lists(st.sampled_from(["a", ".", "..", ""]))),
    st.sampled_from(["pkg.mod:clean", "pkg..mod:clean", "mod:", ":f", "a:b:c", "/psm_1"]),
)
PIDS = st.one_of(st.integers(min_value=-2, max_value=2**31 + 2), st.booleans(), st.just("7"))


def _outcome(encode, op, pid, *fields):  # type: ignore[no-untyped-def]
    try:
        return encode(op, pid, *fields)
    except Exception as exc:  # the type is what must agree
        return type(exc)


@settings(max_examples=600, deadline=None)
@given(
    op=st.sampled_from([*_wire.OPS, "NOPE", "é"]),
    pid=PIDS,
    kind=st.sampled_from(KINDS),
    name=NAMES,
    child=PIDS,
    arity=st.integers(min_value=0, max_value=3),
)
def test_light_encoder_agrees_with_the_parser(op, pid, kind, name, child, arity) -> None:  # type: ignore[no-untyped-def]
    fields = {0: (), 1: (child,), 2: (kind, name), 3: (kind, name, "x")}[arity]
    light = _outcome(_wire.encode_message, op, pid, *fields)
    full = _outcome(_protocol.encode_message, op, pid, *fields)
    assert light == full


def test_light_encoder_on_the_usual_messages() -> None:
    for op, fields in [
        ("HELLO", ()),
        ("CHILD", (1234,)),
        ("REG", ("shared_memory", "/psm_1a2b")),
        ("UNREG", ("semaphore", "/mp-x1y2")),
        ("REG", ("folder", "/tmp/a b/c")),
        ("TYPE", ("marker", "pkg.mod:clean_up")),
    ]:
        assert _wire.encode_message(op, 7, *fields) == _protocol.encode_message(op, 7, *fields)
        assert _wire._plainly_valid(op, 7, fields, _wire.encode_line(op, 7, *fields))


@given(st.text())
def test_field_encoding_is_quote_from_bytes(value: str) -> None:
    data = value.encode("utf-8", "surrogateescape") if _encodable(value) else None
    if data is None:
        return
    assert _wire.encode_field(value) == quote_from_bytes(data, safe="/._~+=,@-")


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return False
    return True
