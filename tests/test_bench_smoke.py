"""``procstart bench --quick``: the shape of its output, never its timings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from procstart.bench._model import Row, Stats
from procstart.bench.imports import BEGIN, END, parse

#: figure id -> rows per method in a quick run (numpy doubles the args rows)
QUICK_ROWS = {
    "start_warm": 1,
    "start_cold": 1,
    "many": 2,  # N=1 and N=4
    "args": None,
    "pool": 2,
    "uss": 1,
    "imports": 1,
}


def _bench(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCSTART_")}
    done = subprocess.run(
        [sys.executable, "-m", "procstart", "bench", "--quick", "--json", str(out), *args],
        capture_output=True,
        text=True,
        timeout=110,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done, json.loads(out.read_text())


@pytest.fixture(scope="module")
def quick_fork(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict, Path]:
    tmp = tmp_path_factory.mktemp("bench")
    done, data = _bench(
        tmp,
        "--methods", "fork", "--repeat", "1", "--warmup", "0", "--no-peers",
        "--markdown", str(tmp / "bench.md"),
    )  # fmt: skip
    return done.stdout, data, tmp


def test_json_top_level_keys(quick_fork):
    _, data, _ = quick_fork
    assert set(data) == {"schema", "environment", "options", "elapsed", "figures", "targets"}
    assert data["schema"] == 1
    assert {"date", "python", "cpu_count", "platform", "methods"} <= set(data["environment"])
    assert data["options"]["methods"] == ["fork"]
    assert data["options"]["repeat"] == 1


def test_every_figure_has_its_rows_per_method(quick_fork):
    _, data, _ = quick_fork
    figures = {f["id"]: f for f in data["figures"]}
    assert set(figures) == set(QUICK_ROWS)
    for figure_id, expected in QUICK_ROWS.items():
        figure = figures[figure_id]
        assert {"id", "title", "how", "metrics", "rows"} <= set(figure)
        rows = [row for row in figure["rows"] if row["method"] == "fork"]
        assert rows, figure_id
        if expected is not None:
            assert len(rows) == expected, (figure_id, [r["param"] for r in rows])
        for row in rows:
            assert set(row) == {"method", "param", "results", "errors", "ratio"}
            assert set(row["ratio"]) == set(figure["metrics"])
            if figure_id == "uss" and not row["results"]:
                continue  # psutil missing: the figure says so
            assert {"procstart", "stdlib"} <= set(row["results"]), (figure_id, row["errors"])
            for column in ("procstart", "stdlib"):
                for metric, stats in row["results"][column].items():
                    assert metric in figure["metrics"]
                    assert set(stats) == {"median", "min", "max", "n", "samples"}
                    assert stats["n"] == 1 == len(stats["samples"])


def test_args_rows_cover_quick_sizes(quick_fork):
    _, data, _ = quick_fork
    (args,) = [f for f in data["figures"] if f["id"] == "args"]
    params = {row["param"] for row in args["rows"]}
    assert {"bytes 1 KB", "bytes 10 MB"} <= params
    assert set(args["metrics"]) == {"time", "peak_rss"}


def test_targets_listed(quick_fork):
    _, data, _ = quick_fork
    names = [t["name"] for t in data["targets"]]
    assert any(name.startswith("fork start+join") for name in names)
    for target in data["targets"]:
        assert set(target) == {"name", "limit", "ratio", "met", "how"}


def test_terminal_table_and_markdown(quick_fork):
    stdout, _, tmp = quick_fork
    assert "== start+join, warm (start_warm)" in stdout
    assert "procstart/stdlib" in stdout
    assert "== targets (issue 7)" in stdout
    page = (tmp / "bench.md").read_text()
    assert page.startswith("# Benchmarks")
    assert "## Targets" in page


def test_from_json_shows_the_same_tables(quick_fork):
    stdout, _, tmp = quick_fork
    done = subprocess.run(
        [sys.executable, "-m", "procstart", "bench", "--from-json", str(tmp / "bench.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    shown = done.stdout.split("total time:")[0]
    assert shown == stdout.split("total time:")[0]


def test_unknown_method_is_an_error(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "procstart", "bench", "--methods", "forkservr", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "forkservr" in done.stderr


def test_import_procstart_does_not_load_bench():
    code = (
        "import sys, procstart, procstart.cli; procstart.cli.build_parser(); "
        "print(any(m.startswith('procstart.bench') for m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


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
    assert parse(text) == {"import_time": 150e-6, "modules": 2.0}


def test_row_ratio_uses_medians():
    row = Row("spawn")
    for procstart, stdlib in [(1.0, 2.0), (3.0, 4.0), (2.0, 100.0)]:
        row.add("procstart", {"time": procstart})
        row.add("stdlib", {"time": stdlib})
    assert row.ratio("time") == pytest.approx(2.0 / 4.0)
    assert Stats([3.0, 1.0, 2.0]).as_dict()["median"] == 2.0
    assert Row("custom").ratio("time") is None


CUSTOM_METHOD_RUN = """
import json
import procstart
from procstart_fork import ForkPopen
from procstart.bench import Options, run

seen = []

class Dummy:
    @procstart.hookimpl
    def procstart_start_methods(self):
        yield procstart.StartMethod(
            name="benchdummy",
            launcher=lambda request: ForkPopen(request.process, request),
            inherits_all_fds=True,
        )

    @procstart.hookimpl(wrapper=True)
    def procstart_launch(self, request):
        seen.append(request.method.name)
        return (yield)

if __name__ == "__main__":
    procstart.register_plugin(Dummy(), name="benchdummy")
    results = run(Options(methods=["fork", "benchdummy"], figures=["start"], repeat=1,
                          warmup=0, peers=False))
    rows = {row.method: sorted(row.results) for row in results.figures[0].rows}
    print(json.dumps({"rows": rows, "seen": sorted(set(seen))}))
"""


def test_custom_method_gets_procstart_only_and_its_plugin_only_its_rows(tmp_path):
    script = tmp_path / "custom.py"
    script.write_text(CUSTOM_METHOD_RUN)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    data = json.loads(done.stdout.strip().splitlines()[-1])
    assert data["rows"] == {"fork": ["procstart", "stdlib"], "benchdummy": ["procstart"]}
    # the custom plugin wraps every launch, but was registered only for its own row
    assert data["seen"] == ["benchdummy"]
