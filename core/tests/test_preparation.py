"""The launch payload's first section is a typed ``Preparation``, not a dict of strings."""

from __future__ import annotations

import pickle

import pytest

from procstart.child import PayloadError, Preparation, run


def test_fields_round_trip_through_pickle() -> None:
    prep = Preparation(method="spawn", parent_pid=7, sys_path=["/x"], handles={"k": 3})
    again = pickle.loads(pickle.dumps(prep, pickle.HIGHEST_PROTOCOL))
    assert (again.method, again.parent_pid, again.sys_path, again.handles) == (
        "spawn",
        7,
        ["/x"],
        {"k": 3},
    )
    assert again.env is None  # not sent


def test_an_unknown_field_is_refused_with_the_fields_named() -> None:
    with pytest.raises(TypeError, match=r"Preparation has no field\(s\) sys_paths; fields: "):
        Preparation(method="spawn", parent_pid=1, sys_paths=[])


def test_build_refuses_an_unknown_extra_field() -> None:
    import procstart
    from procstart import payload
    from procstart._request import LaunchRequest

    ctx = procstart.get_context("spawn")
    request = LaunchRequest(process=ctx.Process(target=print), method=ctx.method, context=ctx)
    with pytest.raises(TypeError, match=r"payload\.build: Preparation has no field 'sight'"):
        payload.build(request, b"", handles={}, by_index=False, extra={"sight": {}})


def test_a_child_refuses_a_payload_without_a_preparation() -> None:
    import os

    from procstart.child import MAGIC

    prep = pickle.dumps({"method": "spawn"})
    data = MAGIC + len(prep).to_bytes(8, "big") + prep + (0).to_bytes(8, "big")
    r, w = os.pipe()
    os.write(w, data)
    os.close(w)
    try:
        with pytest.raises(PayloadError, match="expected a Preparation, got dict"):
            run(r)
    finally:
        os.close(r)
