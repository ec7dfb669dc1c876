"""The message parser and the tracker's state: pure, so fuzzed; path cleanup refuses tricks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from procstart_tracker._cleanup import CleanupRefusedError, cleanup, remove_path
from procstart_tracker._protocol import (
    MAX_LINE,
    Message,
    ProtocolError,
    check_name,
    encode_message,
    parse_hello,
    parse_message,
)
from procstart_tracker._server import TrackerState

OPS = [b"REG", b"UNREG", b"TYPE", b"CHILD", b"HELLO", b"PING", b"BYE", b"XX", b""]
KINDS = ["shared_memory", "semaphore", "file", "folder", "marker", "bad kind", ""]


def test_round_trip() -> None:
    for op, fields in [
        ("REG", ("folder", "/tmp/a b/c\n%d")),
        ("UNREG", ("shared_memory", "/psm_1")),
        ("TYPE", ("marker", "pkg.mod:clean_up")),
        ("CHILD", (1234,)),
        ("HELLO", ()),
    ]:
        message = parse_message(encode_message(op, 7, *fields))
        assert message.op == op and message.pid == 7
    assert parse_message(encode_message("CHILD", 7, 99)) == Message("CHILD", 7, child=99)
    assert parse_message(encode_message("REG", 1, "file", "/x/é\udcff")).name == "/x/é\udcff"


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("folder", "/tmp/x/../../etc"),
        ("folder", "tmp/relative"),
        ("folder", "/tmp/./x"),
        ("folder", "/tmp//x"),
        ("folder", "/tmp/x/"),
        ("folder", "/"),
        ("folder", "/etc"),
        ("file", "/tmp/a\x00b"),
        ("shared_memory", "/../etc/passwd"),
        ("shared_memory", "/a/b"),
        ("semaphore", "/.."),
        ("semaphore", ""),
    ],
)
def test_path_and_name_tricks_are_refused(kind: str, name: str) -> None:
    assert check_name(kind, name) is not None
    with pytest.raises(ProtocolError):
        encode_message("REG", 1, kind, name)
    raw = f"REG 1 {kind} ".encode() + name.replace("\x00", "%00").replace(" ", "%20").encode()
    with pytest.raises(ProtocolError):
        parse_message(raw)


@pytest.mark.parametrize(
    "line",
    [
        b"REG 0 folder /tmp/x",  # pid 0
        b"REG -1 folder /tmp/x",
        b"REG 99999999999 folder /tmp/x",
        b"REG 1 folder /tmp/x extra",
        b"REG 1 folder /tmp/x%2",  # broken escape
        b"REG 1 folder /tmp/x%2f",  # lower-case escape: not what encode makes
        b"TYPE 1 folder os:system",  # built-in kinds cannot be redefined
        b"TYPE 1 marker os.system",  # not module:function
        b"TYPE 1 marker __import__('os'):x",
        b"CHILD 1 x",
        b"reg 1 folder /tmp/x",
        b"REG 1 folder /tmp/x" + b"y" * MAX_LINE,
    ],
)
def test_malformed_messages_are_refused(line: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_message(line)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes_never_crash_the_parser(data: bytes) -> None:
    try:
        message = parse_message(data)
    except ProtocolError:
        return
    assert message.pid > 0


def _hello_lines() -> st.SearchStrategy[bytes]:
    pids = st.one_of(
        st.integers(min_value=-5, max_value=2**32).map(lambda n: str(n).encode()),
        st.sampled_from(
            [b"", b"0", b"042", b"2147483647", b"2147483648", b"1 ", b" 1", b"\xd9\xa1"]
        ),
        st.binary(max_size=12),
    )
    heads = st.sampled_from([b"HELLO ", b"HELLO", b"HELLO  ", b"hello ", b"HELL0 ", b""])
    return st.tuples(heads, pids, st.sampled_from([b"", b" 2", b"\n"])).map(b"".join)


@settings(max_examples=500, deadline=None)
@given(_hello_lines())
def test_the_hello_fast_path_accepts_exactly_what_the_parser_does(line: bytes) -> None:
    """The tracker reads HELLO lines without parse_message: same answer, or none."""
    try:
        message = parse_message(line)
    except ProtocolError:
        message = None
    pid = parse_hello(line)
    if pid is not None:  # a fast answer is the parser's answer
        assert message == Message("HELLO", pid)
    elif message is not None:  # the fast path may pass a line on, never a HELLO
        assert message.op != "HELLO" or line.endswith(b"\n")


def _fields() -> st.SearchStrategy[bytes]:
    text = st.text(max_size=40).map(lambda s: s.encode("utf-8", "surrogatepass"))
    return st.one_of(
        st.sampled_from([b"1", b"42", b"/tmp/x", b"/psm_1", b"%2F", b"a:b", b"marker", b"folder"]),
        text,
        st.binary(max_size=20),
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(OPS), st.lists(_fields(), max_size=4)), max_size=30))
def test_fuzz_structured_messages_only_track_what_was_registered(
    stream: list[tuple[bytes, list[bytes]]],
) -> None:
    """Truncated/garbled lines never raise, and never make the tracker own anything new."""
    lines = [b" ".join([op, *fields]) for op, fields in stream]
    state = TrackerState(root_pid=1)
    registered: set[tuple[str, str]] = set()
    for line in lines:
        try:
            message = parse_message(line)
        except ProtocolError:
            continue
        if message.op == "REG":
            registered.add((message.kind, message.name))
    blob = b"\n".join(lines)
    state.feed(blob[: len(blob) // 2])
    state.feed(blob[len(blob) // 2 :] + b"\n")
    assert set(state.resources) <= registered
    for kind, name in state.resources:
        assert check_name(kind, name) is None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["REG", "UNREG"]),
            st.integers(1, 5),
            st.sampled_from(["file", "folder", "marker"]),
            st.sampled_from(["/tmp/a/b", "/tmp/a/c", "/srv/x/y"]),
        ),
        max_size=40,
    )
)
def test_unregistered_resources_are_never_cleaned(
    ops: list[tuple[str, int, str, str]],
) -> None:
    state = TrackerState(root_pid=1)
    state.feed(b"".join(encode_message(op, pid, kind, name) for op, pid, kind, name in ops))
    last: dict[tuple[str, str], str] = {}
    for op, _pid, kind, name in ops:
        last[(kind, name)] = op
    expected = {key for key, op in last.items() if op == "REG"}
    assert set(state.resources) == expected
    assert set(state.held_only_by(lambda pid: True)) == expected


def test_overlong_line_is_dropped_and_the_next_one_still_works() -> None:
    state = TrackerState(root_pid=1)
    state.feed(b"REG 1 folder /tmp/" + b"x" * (2 * MAX_LINE))
    state.feed(b"yyy\n" + encode_message("REG", 2, "folder", "/tmp/ok"))
    assert list(state.resources) == [("folder", "/tmp/ok")]
    assert state.rejected == 1


def test_reference_counts_per_holder() -> None:
    state = TrackerState(root_pid=1)
    state.feed(encode_message("REG", 1, "shared_memory", "/psm_a"))
    state.feed(encode_message("REG", 2, "shared_memory", "/psm_a"))
    state.feed(encode_message("REG", 2, "shared_memory", "/psm_a"))
    assert state.resources[("shared_memory", "/psm_a")] == {1: 1, 2: 2}
    assert state.held_only_by(lambda pid: pid == 1) == []  # 2 still holds it
    assert state.held_only_by(lambda pid: True) == [("shared_memory", "/psm_a")]
    state.feed(encode_message("UNREG", 1, "shared_memory", "/psm_a"))  # unlinked: gone for all
    assert state.resources == {}


# -- the cleanup side: only exactly what was registered -------------------------------
def test_folder_cleanup_removes_the_whole_tree(tmp_path: Path) -> None:
    folder = tmp_path / "tree"
    (folder / "a" / "b").mkdir(parents=True)
    (folder / "a" / "b" / "f").write_text("x")
    os.symlink("/etc", folder / "link-out")  # a symlink inside is removed, not followed
    assert remove_path("folder", str(folder)) is True
    assert not folder.exists()
    assert Path("/etc/passwd").exists()
    assert remove_path("folder", str(folder)) is False  # already gone


def test_cleanup_refuses_a_parent_swapped_for_a_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim" / "data"
    victim.mkdir(parents=True)
    (tmp_path / "work").mkdir()
    registered = tmp_path / "work" / "data"
    (tmp_path / "work").rmdir()
    os.symlink(tmp_path / "victim", tmp_path / "work")  # swapped after registration
    with pytest.raises(CleanupRefusedError):
        remove_path("folder", str(registered))
    assert victim.exists()


def test_cleanup_refuses_kind_changes_and_unnormalised_paths(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "f").write_text("x")
    os.symlink(tmp_path / "d", tmp_path / "l")
    with pytest.raises(CleanupRefusedError):
        remove_path("file", str(tmp_path / "d"))
    with pytest.raises(CleanupRefusedError):
        remove_path("folder", str(tmp_path / "f"))
    with pytest.raises(CleanupRefusedError):
        remove_path("folder", str(tmp_path / "l"))  # a symlink is not the folder
    with pytest.raises(CleanupRefusedError):
        remove_path("folder", f"{tmp_path}/d/../f")
    assert (tmp_path / "d").exists() and (tmp_path / "f").exists()
    with pytest.raises(CleanupRefusedError):
        cleanup("unknown-kind", "x", {})
