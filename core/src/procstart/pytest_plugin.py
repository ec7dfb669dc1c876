"""procstart's pytest plugin: run a test once per installed start method.

Loaded by pytest through the ``pytest11`` entry point when procstart is
installed (``pip install "procstart[pytest]"``); nothing imports it outside
pytest. A test that asks for ``start_method`` or ``procstart_context`` runs
once per selected method::

    def test_pool(procstart_context):
        with procstart_context.Pool(2) as pool:
            assert pool.map(abs, [-1, -2]) == [1, 2]

    @pytest.mark.procstart_skip("fork", reason="needs a fresh interpreter")
    def test_fresh(start_method):
        ...

``--procstart-methods=spawn,forkserver`` (or the ``procstart_methods`` ini
option) picks the methods; the default is every installed one except remote
ones (a cluster, e.g. ``dask``: name it to include it). While the
test runs, the method is also procstart's default (``procstart.Process``,
``procstart.Pool``...); the previous default comes back afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from multiprocessing.context import BaseContext

__all__ = [
    "procstart_context",
    "pytest_addoption",
    "pytest_configure",
    "pytest_generate_tests",
    "selected_methods",
    "start_method",
]

_OPTION = "--procstart-methods"
_INI = "procstart_methods"
_MARKER = "procstart_skip"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--procstart-methods`` and the ``procstart_methods`` ini option."""
    group = parser.getgroup("procstart", "procstart start methods")
    group.addoption(
        _OPTION,
        dest="procstart_methods",
        default=None,
        metavar="NAMES",
        help="comma-separated start methods for tests using the start_method fixture "
        "(default: every installed method)",
    )
    parser.addini(
        _INI,
        "comma-separated start methods for the start_method fixture (default: all installed)",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``procstart_skip`` marker; check explicitly chosen methods now."""
    config.addinivalue_line(
        "markers",
        f"{_MARKER}(*methods, reason=None): skip the test under these procstart start methods",
    )
    if _raw_choice(config).strip():
        selected_methods(config)  # a typo is a usage error before collection


def _raw_choice(config: pytest.Config) -> str:
    return str(config.getoption("procstart_methods") or config.getini(_INI) or "")


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.replace(" ", ",").split(",") if part.strip()]


def selected_methods(config: pytest.Config) -> list[str]:
    """The method names a session runs ``start_method`` tests under, in order.

    Unknown names are a usage error that lists the installed methods.
    """
    cached: list[str] | None = getattr(config, "_procstart_methods", None)
    if cached is not None:
        return cached
    from procstart._manager import plugins
    from procstart._names import normalize_method_name

    registry = plugins()
    installed = sorted(registry.methods)
    raw = _raw_choice(config)
    if raw.strip():
        chosen = []
        for name in _split(raw):
            try:
                canonical = normalize_method_name(name)
            except (TypeError, ValueError) as exc:
                raise pytest.UsageError(f"{_OPTION}: {exc}") from None
            if canonical not in registry.methods:
                shown = ", ".join(installed) or "none"
                raise pytest.UsageError(
                    f"{_OPTION}: unknown start method {canonical!r}; installed: {shown}"
                )
            if canonical not in chosen:
                chosen.append(canonical)
    else:
        # remote methods (a cluster) only when asked for by name
        chosen = [name for name in installed if not registry.methods[name].remote]
    config._procstart_methods = chosen  # type: ignore[attr-defined]
    return chosen


def _skips(metafunc: pytest.Metafunc) -> dict[str, str]:
    skips: dict[str, str] = {}
    for mark in metafunc.definition.iter_markers(_MARKER):
        if not mark.args:
            raise pytest.UsageError(
                f"{metafunc.definition.nodeid}: @pytest.mark.{_MARKER} needs at least "
                "one start method name"
            )
        reason = mark.kwargs.get("reason") or "skipped for this start method"
        for name in mark.args:
            skips.setdefault(str(name).strip().lower(), f"{name}: {reason}")
    return skips


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrise ``start_method`` with the selected methods (marks applied)."""
    if "start_method" not in metafunc.fixturenames:
        return
    from procstart._manager import plugins

    registry = plugins()
    skips = _skips(metafunc)
    params = []
    for name in selected_methods(metafunc.config):
        marks: list[Any] = []
        if name in skips:
            marks.append(pytest.mark.skip(reason=skips[name]))
        else:
            reason = registry.methods[name].unavailable_reason()
            if reason is not None:
                marks.append(pytest.mark.skip(reason=f"{name} unavailable here: {reason}"))
        params.append(pytest.param(name, marks=marks, id=name))
    metafunc.parametrize("start_method", params, indirect=True)


@pytest.fixture
def start_method(request: pytest.FixtureRequest) -> Iterator[str]:
    """The start method this run of the test uses (also procstart's default meanwhile)."""
    import procstart

    name: str | None = getattr(request, "param", None)
    if name is None:
        pytest.fail("start_method is parametrised by procstart's pytest plugin only")
    try:
        previous = procstart.get_start_method_source()
        earlier = previous.method if previous.source == "code" else None
    except (TypeError, ValueError, RuntimeError):  # a bad env/config default: not ours to judge
        earlier = None
    procstart.set_start_method(name, force=True)
    try:
        yield name
    finally:
        procstart.set_start_method(earlier, force=True)


@pytest.fixture
def procstart_context(start_method: str) -> BaseContext:
    """The procstart context of ``start_method`` (a ``multiprocessing`` context)."""
    import procstart

    return procstart.get_context(start_method)
