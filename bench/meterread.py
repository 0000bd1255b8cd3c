"""How long Excel waits for =METERREAD over photos not read yet: before (main) and after (this checkout).

    python bench/meterread.py [--photos 50] [--latency 0.3] [--before-ref main]

Fills a column with =METERREAD over distinct photos and lets Excel calculate it, through the
counting fake of xlwings (tests/xlwings_fake.py) and the model of xlwings' UDF server
(tests/xlwings_udf_server.py), against the local test service (tests/fake_aigen.py), each reply
delayed by --latency seconds. Measures how long the calculation held Excel (frozen), how long
until every cell showed its reading, and the requests sent (and most at once). The package of
git ref --before-ref (taken with ``git archive``, nothing checked out) and this checkout's each
run in a fresh Python, one after the other, in one run of this script.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def measure(photos: int, latency: float) -> dict[str, float]:
    """One run in this Python, with whichever xlwings_meter is first on sys.path."""
    sys.path.append(str(ROOT))  # the test helpers; xlwings_meter may come from --package
    import xlwings as xw

    from tests.fake_aigen import FakeAigen, Reply
    from tests.photos import make_photo
    from tests.xlwings_fake import FakeExcel
    from tests.xlwings_udf_server import PENDING, Formula, UdfServer, registered_module
    from xlwings_meter.excel import book as excel_book

    folder = Path(tempfile.mkdtemp(prefix="bench-meterread-"))
    names = [make_photo(folder / f"meter {i:03d}.jpg", size=(1600, 1200), seed=i).name
             for i in range(photos)]
    fullname = str(folder / "meters.xlsm")
    excel = FakeExcel()
    excel.create(fullname, {"Readings": [["Image"]] + [[n] for n in names]})
    xw.Book.caller = classmethod(lambda cls: excel.book(fullname))  # type: ignore[assignment]
    excel_book.open_books = excel.books_here  # type: ignore[assignment]
    udf = UdfServer(excel, registered_module("xlwings_meter.excel.meterread"))
    cells = [Formula(fullname, "Readings", f"$B${row}", "METERREAD", (name, "value"))
             for row, name in enumerate(names, start=2)]

    with FakeAigen() as server:
        server.default = Reply.success("17.250").delayed(latency)
        os.environ.update(AIGEN_API_URL=server.url, AIGEN_API_KEY=server.valid_key,
                          XLWINGS_METER_CONFIG=str(folder / "no-such-xlwings.conf"))
        start = time.monotonic()
        frozen = udf.calculate(cells)
        assert udf.settle(600.0), "the cells never filled in"
        filled = time.monotonic() - start
        values = [udf.shown[c] for c in cells]
        result = {"frozen": frozen, "filled": filled, "requests": len(server.calls),
                  "at_once": server.max_in_flight,
                  "read": sum(v == 17.25 for v in values), "pending": values.count(PENDING)}
    udf.close()
    return result


def run_child(package: Path, photos: int, latency: float) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(package))
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--photos", str(photos), "--latency", str(latency)],
        env=env, check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def archived_package(ref: str, into: Path) -> Path:
    """The xlwings_meter package of git ref ``ref``, unpacked under ``into``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref, "xlwings_meter"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--before-ref", default="main")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.photos, args.latency)))
        return

    with tempfile.TemporaryDirectory() as tmp:
        before = run_child(archived_package(args.before_ref, Path(tmp)), args.photos, args.latency)
    after = run_child(ROOT, args.photos, args.latency)
    print(f"=METERREAD over {args.photos} distinct photos, local test service at {args.latency} s "
          f"a reply,\nthrough the counting fake of xlwings and its UDF server model "
          f"(sequential would be {args.photos * args.latency:.1f} s)\n")
    print(f"{'':32}{'Excel frozen':>14}{'all filled':>12}{'requests':>10}{'at once':>9}")
    for label, r in ((f"before ({args.before_ref}, synchronous)", before),
                     ("after (this checkout, async)", after)):
        print(f"{label:32}{r['frozen']:>12.2f} s{r['filled']:>10.2f} s{r['requests']:>10}{r['at_once']:>9}")
    print(f"\nExcel frozen: {before['frozen'] / max(after['frozen'], 1e-6):,.0f} times shorter; "
          f"all cells filled: {before['filled'] / after['filled']:.1f} times sooner")


if __name__ == "__main__":
    main()
