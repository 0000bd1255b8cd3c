"""Where the time of one first ``read`` goes: start-up, hashing, preparing, the last reply, the end.

    python -m bench.timeline [--photos 40] [--latency 0.3] [--repeat 3] [--keep DIR]

Makes the photos and workbook bench.cost makes (40 phone-like 12-megapixel JPEGs), starts the
local test service with --latency seconds per call, and runs ``xlwings-meter read`` on a fresh
copy of the workbook --repeat times, each in its own process as bench.cost runs it, but with a
few of the command's functions wrapped to note the moment (and the process's CPU time) they
start and end. Prints, for each run, the phases in order, each with its wall time, the CPU the
process used in it, and so how many of the cores it kept busy; and the CPU seconds the rest of
the machine used during the run (Linux), since a phase can only use the cores others leave.

The phases: Python starting (interpreter, site, up to this wrapper's first line); imports and
opening the workbook (up to the first file hashed); hashing every photo; preparing and sending
(to the last photo prepared); the last replies (to the last one received); the end (cache
sheet, results, saving); Python ending (after ``main`` returns, to the process's end).
"""

from __future__ import annotations

import time

STARTED = (time.monotonic(), time.process_time())  # first thing: the child's "python started"

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def child(book: str, out: str) -> None:
    """Run ``read`` on ``book`` in this process, noting events into ``out`` (JSON), then end as
    the console script does."""
    events: list[tuple[str, float, float]] = [("python started", *STARTED)]
    lock = threading.Lock()

    def note(what: str) -> None:
        with lock:
            events.append((what, time.monotonic(), time.process_time()))

    from xlwings_meter import cli
    from xlwings_meter.workbook import batch

    def wrapped(owner: object, name: str, start: str, end: str) -> None:
        fn = getattr(owner, name)

        def call(*args: object, **kwargs: object) -> object:
            note(start)
            try:
                return fn(*args, **kwargs)
            finally:
                note(end)

        setattr(owner, name, call)

    wrapped(batch, "_hash_all", "hashing", "hashed")
    wrapped(batch, "load_photo", "prepare", "prepared")
    wrapped(batch.PhotoReader, "_ask", "send", "received")
    wrapped(batch.PhotoReader, "run", "reader", "reader done")
    code = cli.main(["read", book, "--quiet"])
    note("main returned")
    Path(out).write_text(json.dumps(events))
    sys.stdout.flush()
    os._exit(code)


def phases(spawned: float, ended: float, events: list[tuple[str, float, float]], cpu: float) -> list[tuple[str, float, float]]:
    """(phase, wall s, process CPU s) from the events of one run."""
    def first(what: str) -> tuple[float, float]:
        return next((t, c) for w, t, c in events if w == what)

    def last(what: str) -> tuple[float, float]:
        return next((t, c) for w, t, c in reversed(events) if w == what)

    marks = [("spawned", (spawned, 0.0)), ("python started", first("python started")),
             ("hashing", first("hashing")), ("hashed", last("hashed")), ("prepared", last("prepared")),
             ("received", last("received")), ("main returned", last("main returned")), ("ended", (ended, cpu))]
    names = ["Python starting", "imports, opening the workbook", "hashing every photo",
             "preparing and sending", "the last replies", "the end (cache sheet, results, save)",
             "Python ending"]
    return [(name, b[1][0] - a[1][0], b[1][1] - a[1][1]) for name, a, b in zip(names, marks, marks[1:])]


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, metavar="DIR", help="use the photos `bench.cost --keep DIR` made there")
    args = parser.parse_args()

    from bench.cost import machine_cpu, make_photos, warm
    from tests.fake_aigen import FakeAigen, Reply
    from tests.workbooks import photo_book

    with tempfile.TemporaryDirectory() as tmp, FakeAigen() as server:
        folder = Path(tmp)
        kept = [args.keep / f"IMG_{i:04d}.jpg" for i in range(args.photos)] if args.keep else []
        if kept and all(p.exists() for p in kept):
            paths = [Path(shutil.copy(p, folder)) for p in kept]
        else:
            paths = make_photos(folder, args.photos)
        pristine = photo_book(folder / "meters.xlsx", [[p.name] for p in paths])
        warm(paths)
        server.default = Reply.success().delayed(args.latency)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "AIGEN_API_URL": server.url,
               "AIGEN_API_KEY": server.valid_key, "XLWINGS_METER_CONFIG": str(folder / "none.conf")}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "xlwings_meter")], env=env, check=True)
        print(f"{args.photos} photos of 4032x3024, service latency {args.latency} s, {os.cpu_count()} CPUs")
        for i in range(args.repeat):
            book = folder / f"run{i}.xlsx"
            shutil.copy(pristine, book)
            out = folder / f"events{i}.json"
            machine = machine_cpu()
            before = os.times()
            spawned = time.monotonic()
            done = subprocess.run([sys.executable, "-m", "bench.timeline", "--child", str(book), str(out)],
                                  env=env, capture_output=True, text=True, check=False)
            ended = time.monotonic()
            after = os.times()
            if done.returncode != 0:
                raise SystemExit(f"read failed ({done.returncode}): {done.stderr.strip()}")
            cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
            others = machine_cpu() - machine - cpu - ((after.user - before.user) + (after.system - before.system))
            rows = phases(spawned, ended, [tuple(e) for e in json.loads(out.read_text())], cpu)
            print(f"\nrun {i + 1}: {ended - spawned:.2f} s, CPU {cpu:.2f} s; "
                  f"other processes' CPU meanwhile {max(0.0, others):.2f} s")
            print(f"  {'phase':<40}{'wall ms':>9}{'CPU ms':>9}{'cores':>7}")
            for name, wall, used in rows:
                print(f"  {name:<40}{wall * 1000:>9.0f}{used * 1000:>9.0f}{used / wall if wall > 0 else 0:>7.2f}")


if __name__ == "__main__":
    main()
