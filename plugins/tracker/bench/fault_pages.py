"""Which pages a warm fork launch makes its parent write, and what lives on them.

After ``fork()`` every page the parent writes faults once (copy-on-write:
about 5 us while the child shares it, 2 us after), and a Python process
writes a page by changing any reference count on it. The page faults a
launch adds are the tracker's part of a fork start+join that does not
drift with the machine's speed, and this script shows where they are.

For each column (``NAME=KIND[@CHECKOUT][+ENV=VALUE...]``, as in
``ab_forkpath.py``, with the same checks and warm-up) it runs one process
under ``perf record -e page-faults -d`` (every fault of that process, not
of its children, with its data address). The process starts one child,
waits 0.3 s, starts 20 more, then ``--launches`` measured ones, then lists
where its gc-tracked objects, functions' code objects and modules'
dictionaries live. A page that faulted in at least three quarters of the
launches is a page the launch writes; the script prints how many there are
per launch and, for each, the mapping it is in, the function that wrote it
and the objects on it. Objects that are not gc-tracked (strings, ints,
bytes) are not listed: such a page shows its writer only.

    python plugins/tracker/bench/fault_pages.py \\
        none=procstart+PROCSTART_DISABLE_PLUGINS=procstart-tracker with=procstart

The second and later columns also list the objects found on their
launch's pages and on none of the first column's: what the difference is
made of. Counts move by one or two pages between processes (addresses are
randomised), but which objects share a page is the same in every process
of one version and moves with any change: ``--layouts N`` runs N processes
per column, each with objects of random sizes allocated first (``ab_forkpath.PAD``),
and prints means and ranges instead (compare versions that way; a single
process's difference of a few pages can be where objects fell, not what
the launch does). Needs Linux ``perf`` with access to
software events (``perf_event_paranoid`` 2 or lower). Not a test: figures
go to notes, never into assertions.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile

import ab_forkpath  # this folder: the columns are given and checked the same way

WORKER = (
    ab_forkpath.PAD
    + ab_forkpath.WARM_START
    + r"""
import gc, json
out = sys.argv[3]
for _ in range(20 + n):
    one()
pages = {}


def note(obj, label):
    pages.setdefault(id(obj) >> 12, []).append(label)


for obj in gc.get_objects():
    kind_ = type(obj).__name__
    if kind_ == "function":
        name = f"{obj.__module__}.{obj.__qualname__}"
        note(obj, f"function {name}")
        note(obj.__code__, f"code {name}")
    elif kind_ == "module":
        note(obj, f"module {obj.__name__}")
        note(obj.__dict__, f"globals {obj.__name__}")
    elif kind_ == "type":
        note(obj, f"type {obj.__module__}.{obj.__qualname__}")
    else:
        note(obj, kind_)
with open("/proc/self/maps") as fh:
    maps = fh.read()
with open(out, "w") as fh:
    json.dump({"launches": n, "pages": pages, "maps": maps}, fh)
"""
)

#: a page written in at least this share of the measured launches is the launch's
EVERY_LAUNCH = 0.75


def mappings(text: str) -> list[tuple[int, int, str]]:
    """``/proc/self/maps`` as (first page, end page, short name)."""
    found = []
    for line in text.splitlines():
        fields = line.split()
        if not fields:
            continue
        start, end = (int(x, 16) >> 12 for x in fields[0].split("-"))
        name = fields[5].rsplit("/", 1)[-1] if len(fields) > 5 else "[anon]"
        found.append((start, end, name))
    return found


def faults(data: str) -> tuple[collections.Counter[int], dict[int, str]]:
    """Faults per page in ``perf``'s ``data`` file, and each page's most frequent writer."""
    out = subprocess.run(
        ["perf", "script", "-i", data, "-F", "addr,ip,sym"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    counts: collections.Counter[int] = collections.Counter()
    writers: dict[int, collections.Counter[str]] = {}
    for line in out.splitlines():
        fields = line.split()
        if not fields:
            continue
        page = int(fields[0], 16) >> 12
        counts[page] += 1
        writers.setdefault(page, collections.Counter())[" ".join(fields[1:])] += 1
    return counts, {page: c.most_common(1)[0][0] for page, c in writers.items()}


def measure(
    python: str, env: dict[str, str], kind: str, launches: int, tmp: str, *, layout: int = 0
) -> dict:
    """One process of a column under ``perf``: its launch's pages, each described.

    ``layout``: 0 as the library allocates; else the seed of ``ab_forkpath.PAD``.
    """
    env = {**env, ab_forkpath.LAYOUT_ENV: str(layout)}
    worker, data, dump = (os.path.join(tmp, name) for name in ("w.py", "perf.data", "d.json"))
    with open(worker, "w") as fh:
        fh.write(WORKER)
    record = ["perf", "record", "-q", "--no-inherit", "-e", "page-faults", "-c", "1", "-d"]
    subprocess.run(
        [*record, "-o", data, python, worker, kind, str(launches), dump],
        env=env,
        cwd=tmp,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    with open(dump) as fh:
        dumped = json.load(fh)
    counts, writers = faults(data)
    regions = mappings(dumped["maps"])
    total = launches + 21  # and the warm-up's launches, which write the same pages
    hot = sorted(page for page, n in counts.items() if n >= EVERY_LAUNCH * total)
    rows = []
    for page in hot:
        region = next((name for start, end, name in regions if start <= page < end), "?")
        objects = collections.Counter(dumped["pages"].get(str(page), []))
        rows.append((region, writers[page], objects))
    per_launch = sum(counts[page] for page in hot) / total
    return {"rows": rows, "per_launch": per_launch}


def described(objects: collections.Counter[str]) -> str:
    """The objects on a page, most numerous first."""
    return ", ".join(f"{k} x{v}" if v > 1 else k for k, v in objects.most_common(8))


def over_layouts(
    python: str, columns: dict[str, tuple[str, dict[str, str]]], launches: int, layouts: int
) -> None:
    """Each column's pages per launch over ``layouts`` processes, one per ``ab_forkpath.PAD`` seed.

    The columns take turns within a layout, and each later column's
    difference from the first is taken within a layout (the same seed).
    """
    pages: dict[str, list[int]] = {name: [] for name in columns}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (kind, env) in columns.items():
            ab_forkpath.check_column(python, name, kind, env, tmp)
        for layout in range(1, layouts + 1):
            order = list(columns.items())
            for name, (kind, env) in order if layout % 2 else reversed(order):
                found = measure(python, env, kind, launches, tmp, layout=layout)
                pages[name].append(len(found["rows"]))
    first = next(iter(columns))
    for name, counts in pages.items():
        line = (
            f"{name}: {statistics.mean(counts):.1f} pages written per launch over "
            f"{layouts} layouts ({min(counts)} to {max(counts)})"
        )
        if name != first:
            diffs = [a - b for a, b in zip(counts, pages[first], strict=True)]
            line += (
                f"; - {first}: {statistics.mean(diffs):+.1f} ({min(diffs):+d} to {max(diffs):+d})"
            )
        print(line)


def main() -> None:
    """Measure each column once and print its launch's pages."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("columns", nargs="+", metavar="NAME=KIND[@CHECKOUT][+ENV=VALUE]")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--launches", type=int, default=200)
    parser.add_argument(
        "--without",
        default="procstart-launchlog,procstart-limits",
        help="distributions left out of every procstart column (the examples, as make bench)",
    )
    parser.add_argument(
        "--layouts",
        type=int,
        default=1,
        help="processes per column, each with objects of other sizes allocated first "
        "(PAD): prints each column's mean and range of pages over them, and each "
        "column's difference from the first, paired by layout",
    )
    args = parser.parse_args()
    if os.sep in args.python:
        args.python = os.path.abspath(args.python)
    columns = {}
    checkouts = []
    for column in args.columns:
        name, _, spec = column.partition("=")
        kind, env, checkout = ab_forkpath.column_env(spec, args.without)
        columns[name] = (kind, env)
        checkouts += [checkout] if checkout else []
    ab_forkpath.compile_sources(args.python, checkouts)
    ab_forkpath.wait_settled(checkouts)
    if args.layouts > 1:
        over_layouts(args.python, columns, args.launches, args.layouts)
        return
    first_labels: set[str] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        for name, (kind, env) in columns.items():
            ab_forkpath.check_column(args.python, name, kind, env, tmp)
            found = measure(args.python, env, kind, args.launches, tmp)
            rows = found["rows"]
            print(f"{name}: {len(rows)} pages written per launch, {found['per_launch']:.1f} faults")
            for region, writer, objects in rows:
                print(f"  {region[:20]:20s} {writer[:48]:48s} {described(objects)[:160]}")
            labels = {label for _, _, objects in rows for label in objects}
            if first_labels is None:
                first_labels = labels
            else:
                extra = sorted(labels - first_labels)
                print(f"  on {name}'s pages only: " + (", ".join(extra) or "nothing listed"))


if __name__ == "__main__":
    main()
