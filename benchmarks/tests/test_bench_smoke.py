"""``procstart bench --quick``: the shape and fairness of its output, never its timings."""

from __future__ import annotations

import ast
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from procstart_bench._figures import BEGIN, END, parse_importtime
from procstart_bench._model import Row, Stats

SRC = Path(__file__).resolve().parents[1] / "src" / "procstart_bench"
#: the figures the smoke run takes (small: the whole file stays well under 30 s)
SMOKE_FIGURES = "limits,start,untimed,tracker,cold,program"


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_")}


def _cli(*args: str, cwd: Path | None = None, timeout: float = 110) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "procstart", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(),
        cwd=cwd,
        check=False,
    )


@pytest.fixture(scope="module")
def quick_fork(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict, Path]:
    tmp = tmp_path_factory.mktemp("bench")
    done = _cli(
        "bench", "--quick", "--methods", "fork", "--figures", SMOKE_FIGURES, "--rounds", "1",
        "--no-peers", "--quiet", "--json", str(tmp / "bench.json"),
        "--markdown", str(tmp / "bench.md"),
        cwd=tmp,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, json.loads((tmp / "bench.json").read_text()), tmp


def _figures(data: dict) -> dict[str, dict]:
    return {figure["id"]: figure for figure in data["figures"]}


def test_json_top_level_keys(quick_fork):
    _, data, _ = quick_fork
    assert set(data) == {"schema", "environment", "options", "elapsed", "figures", "targets"}
    assert data["schema"] == 2
    env = data["environment"]
    assert {"date", "python", "cpu_count", "platform", "loaded", "load_average_end"} <= set(env)
    assert env["sources_changed"] is False  # nothing edited procstart's sources meanwhile
    assert "sources_at_start" not in env
    assert data["options"]["methods"] == ["fork"]
    assert data["options"]["rounds"] == 1


def test_start_up_rows_come_in_both_forms(quick_fork):
    _, data, _ = quick_fork
    figures = _figures(data)
    assert set(figures) == {
        "limits",
        "start_warm",
        "start_untimed",
        "tracker",
        "start_cold",
        "program",
    }
    for figure_id in ("start_warm", "start_untimed", "tracker", "start_cold", "program"):
        labels = [(row["method"], row["param"]) for row in figures[figure_id]["rows"]]
        assert labels == [("fork", "script"), ("fork", "-c")], figure_id


def test_each_column_ran_alone_in_its_own_form(quick_fork):
    _, data, _ = quick_fork
    for figure_id in ("start_warm", "start_cold"):
        for row in _figures(data)[figure_id]["rows"]:
            checks = row["checks"]
            assert {"procstart", "stdlib"} <= set(checks), row["errors"]
            # the stdlib's process never had procstart loaded; procstart's did
            assert not [
                m
                for m in checks["stdlib"]["modules"]
                if m.startswith("procstart") and m != "procstart_bench"
            ]
            assert "procstart" in checks["procstart"]["modules"]
            expected_main = "-c" if row["param"] == "-c" else "bench_main.py"
            assert checks["stdlib"]["main"] == checks["procstart"]["main"] == expected_main
    for row in _figures(data)["start_cold"]["rows"]:
        for check in row["checks"].values():
            assert check["preloaded"] == []


def test_samples_and_ratios(quick_fork):
    _, data, _ = quick_fork
    row = _figures(data)["start_warm"]["rows"][0]
    stats = row["results"]["procstart"]["time"]
    assert set(stats) == {"median", "min", "max", "n", "samples"}
    assert stats["n"] == len(stats["samples"]) >= 1
    assert row["ratio"]["time"] == pytest.approx(
        stats["median"] / row["results"]["stdlib"]["time"]["median"]
    )
    tracker = _figures(data)["tracker"]
    assert tracker["baseline"] == "no tracker"
    assert {"procstart", "no tracker"} <= set(tracker["rows"][0]["results"])


def test_figures_record_what_one_process_adds(quick_fork):
    # the bootstrap's rounds: each process's samples, in the order taken
    _, data, _ = quick_fork
    figures = _figures(data)
    assert data["options"]["rounds"] == 1
    for figure_id, processes in (("start_warm", 1), ("tracker", 1), ("program", 2)):
        per_process = figures[figure_id]["per_process"]
        for row in figures[figure_id]["rows"]:
            for column, metrics in row["results"].items():
                n = next(iter(metrics.values()))["n"]
                assert n == processes * per_process, (figure_id, row["param"], column)
    # a quick run has too few rounds for an interval: none is shown
    for target in data["targets"]:
        assert all(check["interval"] is None for check in target["checks"])


def test_warm_single_child_samples_count_page_faults(quick_fork):
    _, data, _ = quick_fork
    figures = _figures(data)
    for figure_id in ("start_warm", "start_untimed", "tracker"):
        for column, metrics in figures[figure_id]["rows"][0]["results"].items():
            for metric in ("parent_faults", "child_faults"):
                samples = metrics[metric]["samples"]
                assert len(samples) == metrics["time"]["n"], (figure_id, column, metric)
                # a fork parent writes pages after every fork, and the child does before it exits
                assert all(count > 0 for count in samples), (figure_id, column, metric, samples)
    assert "parent_faults" not in figures["program"]["rows"][0]["results"]["procstart"]


def test_warm_single_child_rounds_run_every_column_in_the_rounds_layout(quick_fork):
    # the one round's seed (1) in every column of the warm start+join figures,
    # none in the figures that measure a whole program's start
    _, data, _ = quick_fork
    figures = _figures(data)
    for figure_id in ("start_warm", "start_untimed", "tracker"):
        for row in figures[figure_id]["rows"]:
            layouts = {column: check["layout"] for column, check in row["checks"].items()}
            assert set(layouts.values()) == {1}, (figure_id, row["param"], layouts)
            assert len(layouts) >= 2, (figure_id, row["param"], layouts)
        assert "procstart_bench._layout" in figures[figure_id]["how"]
    for row in figures["start_cold"]["rows"]:
        assert {check.get("layout", 0) for check in row["checks"].values()} == {0}


def test_the_tracker_columns_take_their_samples_in_turns(quick_fork):
    # both processes of a round ran at once, one start+join each in turn: sorted
    # by when its turn came, every sample is the other column's after the one
    # before it, and began only once that one had ended
    _, data, _ = quick_fork
    figure = _figures(data)["tracker"]
    assert "in turns" in figure["how"]
    for row in figure["rows"]:
        taken = sorted(
            (began, time, column)
            for column, metrics in row["results"].items()
            for began, time in zip(metrics["turn_began"]["samples"], metrics["time"]["samples"])
        )
        assert {column for _, _, column in taken} == {"procstart", "no tracker"}, row["param"]
        assert len(taken) == 2 * figure["per_process"], row["param"]
        for (began, time, column), (next_began, _, next_column) in itertools.pairwise(taken):
            assert next_column != column, (row["param"], taken)
            assert began + time <= next_began, (row["param"], taken)
    for figure_id in ("start_warm", "start_untimed"):  # one process after another
        for row in _figures(data)[figure_id]["rows"]:
            assert all("turn_began" not in metrics for metrics in row["results"].values())


def test_limits_rows(quick_fork):
    _, data, _ = quick_fork
    rows = _figures(data)["limits"]["rows"]
    assert [row["param"] for row in rows] == [
        "os.fork() + waitpid",
        "python -S -c pass",
        "python -I -c pass",
    ]
    for row in rows:
        assert row["results"]["machine"]["time"]["n"] >= 1
        assert "multiprocessing" not in row["checks"]["machine"]["modules"]


def test_targets_are_checked_in_both_forms(quick_fork):
    _, data, _ = quick_fork
    targets = {t["name"]: t for t in data["targets"]}
    fork = targets["fork start+join"]
    assert [c["label"] for c in fork["checks"]] == [
        "script / stdlib",
        "script join() / stdlib",
        "script / raw fork",
        "-c / stdlib",
        "-c join() / stdlib",
        "-c / raw fork",
    ]
    assert all(c["value"] is not None for c in fork["checks"])
    assert fork["met"] == all(c["met"] for c in fork["checks"])
    share = targets["the tracker's share per fork child"]
    assert [c["label"] for c in share["checks"]] == ["script with - without", "-c with - without"]
    assert all(c["value"] is not None and c["unit"] == "ms" for c in share["checks"])
    # spawn was not measured: its target says so instead of passing
    assert targets["spawn start+join"]["met"] is None


def test_terminal_table_and_markdown(quick_fork):
    stdout, _, tmp = quick_fork
    assert "== start+join, warm (start_warm)" in stdout
    assert "procstart/stdlib" in stdout
    assert "== targets (issues 11, 12)" in stdout
    page = (tmp / "bench.md").read_text()
    assert page.startswith("# Benchmarks")
    assert "## Targets (issues 11, 12)" in page


def test_from_json_shows_the_same_tables(quick_fork):
    stdout, _, tmp = quick_fork
    done = _cli("bench", "--from-json", str(tmp / "bench.json"), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("total time:")[0] == stdout.split("total time:")[0]


def test_unknown_method_is_an_error():
    done = _cli("bench", "--methods", "forkservr", "--quiet", timeout=60)
    assert done.returncode == 2
    assert "start method 'forkservr' is not installed" in done.stderr


def _worker(prelude: str, *argv: str) -> dict:
    code = f"{prelude}; from procstart_bench._worker import main; main()"
    done = subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True, text=True, timeout=60, env=_env(), check=False,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_worker_refuses_another_contenders_library():
    report = _worker("import procstart", "start", "stdlib", "fork", "1", "0")
    assert report["error"].startswith("RuntimeError: stdlib worker has other contenders' modules")


def test_cold_worker_refuses_what_procstart_needs_preloaded():
    report = _worker("import json", "cold", "stdlib", "fork", "1", "0")
    assert report["error"].startswith("RuntimeError: cold worker had ['json'")
    assert report["error"].endswith("] before its sample")


def test_package_imports_only_procstart_and_procstart_plugin():
    allowed = {"procstart", "procstart.plugin"}
    for path in SRC.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0].startswith("procstart") and not name.startswith(
                    "procstart_bench"
                ):
                    assert name in allowed, f"{path.name} imports {name}"


def test_importtime_parser_counts_only_between_markers():
    text = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:       999 |        999 | parent_only",
            BEGIN,
            "import time:       100 |        100 | a",
            "import time:        50 |        150 | b",
            END,
            "import time:       999 |        999 | after",
        ]
    )
    assert parse_importtime(text) == {"import_time": 150e-6, "modules": 2.0}


def test_row_ratio_uses_medians():
    row = Row("spawn")
    for procstart, stdlib in [(1.0, 2.0), (3.0, 4.0), (2.0, 100.0)]:
        row.add("procstart", {"time": procstart})
        row.add("stdlib", {"time": stdlib})
    assert row.ratio("time") == pytest.approx(2.0 / 4.0)
    assert Stats([3.0, 1.0, 2.0]).as_dict()["median"] == 2.0
    assert Row("custom").ratio("time") is None
