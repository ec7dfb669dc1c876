"""``docs/benchmarks.md`` holds only numbers that come from the stored runs' JSON.

The page is regenerated from ``benchmarks/results/python-*.json`` and
``benchmarks/NOTES.md`` by the same generator ``make bench-page`` uses and
must come out identical: every figure on it is a value of those files or
derived from them by that generator. The hand-written notes may quote a
number only if the generated part of the page shows it.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from procstart_bench import report

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "benchmarks.md"
NOTES = ROOT / "benchmarks" / "NOTES.md"
SOURCES = sorted((ROOT / "benchmarks" / "results").glob("python-*.json"))
#: numbers that name things rather than measure them: Python versions and issue numbers
NAMES = {"3.10", "3.11", "3.12", "3.13", "3.13.8", "3.14", "3.14.1", "3.13.7", "12", "13"}

pytestmark = pytest.mark.skipif(not SOURCES, reason="no stored run in benchmarks/results/")


@functools.cache  # the targets' intervals take a second or two per run
def _runs() -> tuple[report.Results, ...]:
    return tuple(report.load(path) for path in SOURCES)


@functools.cache
def _generate() -> str:
    runs = _runs()
    chart = "benchmarks.png" if (PAGE.parent / "benchmarks.png").exists() else None
    return report.markdown(
        runs,
        [str(path.relative_to(ROOT)) for path in SOURCES],
        chart=chart,
        notes=NOTES.read_text(encoding="utf-8") if NOTES.exists() else None,
    )


def test_page_is_what_the_stored_json_gives():
    assert PAGE.read_text(encoding="utf-8") == _generate(), (
        "docs/benchmarks.md differs from what the stored JSON gives: run `make bench-page`"
    )


def test_notes_quote_only_numbers_the_page_generated():
    generated, notes = report.split_notes(_generate())
    assert notes, "the page has no notes section"
    unknown = report.numbers(notes) - report.numbers(generated) - NAMES
    assert not unknown, f"benchmarks/NOTES.md quotes numbers no stored run holds: {sorted(unknown)}"


def test_every_stored_run_is_on_the_page():
    page = PAGE.read_text(encoding="utf-8")
    for path in SOURCES:
        python = report.load(path).environment["python"]
        assert f"### Python {python} (`{path.relative_to(ROOT)}`)" in page


def test_the_share_and_the_program_show_their_intervals():
    # the rows their targets read take enough rounds for one; the page shows it
    page = PAGE.read_text(encoding="utf-8")
    for path, run in zip(SOURCES, _runs(), strict=True):
        shown = [
            check
            for target in run.targets
            if target.name.startswith(("the tracker's share", "one-child program"))
            for check in target.checks
            if check.unit != "MiB"
        ]
        assert len(shown) == 4
        for check in shown:
            assert check.interval is not None, (path.name, check.label)
            low, high = check.interval
            assert low <= check.value <= high, (path.name, check.label)
            assert report.show_check(check) in page


def test_the_number_check_catches_an_invented_number():
    generated, _ = report.split_notes(_generate())
    assert "123456.789" not in report.numbers(generated)
    assert report.numbers("fork 1.31x, +4.7 ms") == {"1.31", "4.7"}
