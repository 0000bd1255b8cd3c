"""What a 100-photo run costs against the local test service: wall time, calls, bytes.

    python -m bench.cost [--photos 100] [--latency 0.5]

Writes a workbook listing 100 photos (phone-sized 12-megapixel JPEGs and smaller ones, some rows
repeating a photo under another name), runs `xlwings-meter read` on it in-process against the
fake AIGEN service on 127.0.0.1 (each reply delayed by --latency seconds, like a real OCR call),
then runs it again. Prints one table; ratios are within this one run, so a noisy machine
changes them little.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]

from tests.fake_aigen import FakeAigen, Reply  # noqa: E402
from tests.workbooks import photo_book  # noqa: E402
from xlwings_meter.cli import main as cli_main  # noqa: E402


def phone_photo(path: Path, size: tuple[int, int], seed: int) -> None:
    """A photo-like JPEG: a dial on a textured background, with sensor noise, as a phone writes it."""
    rng = random.Random(seed)
    w, h = size
    img = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(30):
        x, y = rng.randrange(w), rng.randrange(h)
        draw.ellipse((x, y, x + rng.randrange(20, w // 3), y + rng.randrange(20, h // 3)),
                     fill=tuple(rng.randrange(256) for _ in range(3)))
    draw.rectangle((w * 0.3, h * 0.42, w * 0.7, h * 0.58), fill="black")
    noise = Image.effect_noise(size, 24).convert("RGB")
    Image.blend(img, noise, 0.15).save(path, "JPEG", quality=92)


def make_book(folder: Path, n: int) -> Path:
    """n rows: 60% 12-megapixel photos, 30% 3-megapixel, 10% copies of earlier photos."""
    names: list[str] = []
    for i in range(n):
        name = f"meter {i:03d}.jpg"
        if i % 10 == 9:
            (folder / name).write_bytes((folder / names[i - 5]).read_bytes())
        else:
            phone_photo(folder / name, (4032, 3024) if i % 3 else (2000, 1500), seed=i)
        names.append(name)
    return photo_book(folder / "meters.xlsx", [[name] for name in names])


def run(book: Path, server: FakeAigen, concurrency: int) -> tuple[float, int, int]:
    before = len(server.calls)
    start = time.perf_counter()
    code = cli_main(["read", str(book), "--quiet", "--concurrency", str(concurrency)])
    wall = time.perf_counter() - start
    calls = server.calls[before:]
    assert code == 0, code
    return wall, len(calls), sum(len(c.image or b"") for c in calls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds the service takes per photo")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, FakeAigen() as server:
        folder = Path(tmp)
        t0 = time.perf_counter()
        book = make_book(folder, args.photos)
        on_disk = sum(p.stat().st_size for p in folder.glob("*.jpg"))
        print(f"made {args.photos} photos ({on_disk / 1e6:.1f} MB on disk) in {time.perf_counter() - t0:.1f} s")
        os.environ.update(AIGEN_API_URL=server.url, AIGEN_API_KEY=server.valid_key,
                          XLWINGS_METER_CONFIG=str(folder / "none.conf"))
        server.default = Reply.success().delayed(args.latency)

        rows = []
        for label, concurrency in (("first run, concurrency 1", 1), ("first run, concurrency 4", 4)):
            copy = folder / f"c{concurrency}.xlsx"
            copy.write_bytes(book.read_bytes())
            rows.append((label, *run(copy, server, concurrency)))
        rows.append(("second run (cached)", *run(folder / "c4.xlsx", server, 4)))

        print(f"\n{'run':<28}{'wall s':>8}{'calls':>7}{'uploaded MB':>13}{'upload/disk':>13}")
        for label, wall, calls, uploaded in rows:
            print(f"{label:<28}{wall:>8.2f}{calls:>7}{uploaded / 1e6:>13.2f}{uploaded / on_disk:>13.1%}")
        print(f"\nservice latency {args.latency} s per call; {args.photos} rows, "
              f"{rows[0][2]} distinct photos; concurrency 4 vs 1: {rows[0][1] / rows[1][1]:.1f}x faster")


if __name__ == "__main__":
    main()
