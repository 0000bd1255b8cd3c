"""What reading 40 phone photos costs: the docs' sample code once per row against `xlwings-meter read`.

    python -m bench.cost [--photos 40] [--latency 0.3] [--sweep 2,4,8,16]

Makes N phone-like 12-megapixel JPEGs (4032x3024, noisy as a phone's sensor) and a workbook
listing them, starts the fake AIGEN service on 127.0.0.1 (each reply delayed by --latency
seconds, like a real OCR call), then, one after the other, on the same photos and server:

1. the sample code of the API's documentation (Python tab), run once per row, in its own
   process: read the file, base64 it, ``requests.post`` it;
2. ``xlwings-meter read`` on the workbook, in its own process, as a user runs it;
3. the same command again (every photo is in the cache now);
4. with --sweep, the first run again on fresh copies of the workbook at each concurrency.

Prints both times and their ratio, the bytes uploaded against the bytes on disk, and the time
to prepare one photo (decode, shrink, encode) on one core. Every ratio is within this one run,
so a machine shared with other work changes it less than the absolute times.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image, ImageDraw

from tests.fake_aigen import FakeAigen, Reply
from tests.workbooks import photo_book
from xlwings_meter.photos import load_photo

ROOT = Path(__file__).resolve().parents[1]

# The documentation's Python sample, looped over the rows (as a user would first write it).
SAMPLE_LOOP = """
import base64, sys, requests
api, key, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
headers = {"x-aigen-key": key}
for path in paths:
    with open(path, "rb") as f:
        data = {"image": base64.b64encode(f.read()).decode()}
    res = requests.post(api, json=data, headers=headers)
    res.json()
"""


def phone_photo(path: Path, size: tuple[int, int] = (4032, 3024), seed: int = 0) -> int:
    """A photo-like JPEG as a phone writes it: a dial on a textured background, sensor noise,
    quality 95 (about 5 MB for 12 megapixels). Returns its size in bytes."""
    rng = random.Random(seed)
    w, h = size
    img = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(30):
        x, y = rng.randrange(w), rng.randrange(h)
        draw.ellipse((x, y, x + rng.randrange(20, w // 3), y + rng.randrange(20, h // 3)),
                     fill=tuple(rng.randrange(256) for _ in range(3)))
    draw.rectangle((w * 0.3, h * 0.42, w * 0.7, h * 0.58), fill="black")
    draw.text((w * 0.33, h * 0.46), f"{seed:05d}.{rng.randrange(1000):03d}", fill="white", font_size=h // 12)
    noise = Image.merge("RGB", [Image.effect_noise(size, 40 + 4 * i) for i in range(3)])
    Image.blend(img, noise, 0.22).save(path, "JPEG", quality=95)
    return path.stat().st_size


def make_photos(folder: Path, n: int) -> list[Path]:
    paths = [folder / f"IMG_{i:04d}.jpg" for i in range(n)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(phone_photo, paths, [(4032, 3024)] * n, range(n)))
    return paths


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds of the command, and the CPU seconds (user + system) its process used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{command[2:4]} failed ({done.returncode}): {done.stderr.strip()}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def prepare_times(paths: list[Path]) -> tuple[float, float, float]:
    """Median wall and CPU seconds of load_photo (decode, shrink, encode) in this one thread,
    and the median CPU seconds of the decoding alone (Pillow's scaled JPEG decode)."""
    walls, cpus, decodes = [], [], []
    for path in paths:
        w0, c0 = time.perf_counter(), time.thread_time()
        load_photo(path)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.thread_time() - c0)
        c0 = time.thread_time()
        with Image.open(path) as img:
            img.draft("RGB", (1600, 1200))
            img.load()
        decodes.append(time.thread_time() - c0)
    return statistics.median(walls), statistics.median(cpus), statistics.median(decodes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.3, help="seconds the service takes per photo")
    parser.add_argument("--sweep", default="", help="also time first runs at these concurrencies, e.g. 2,4,8,16")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, FakeAigen() as server:
        folder = Path(tmp)
        t0 = time.perf_counter()
        paths = make_photos(folder, args.photos)
        on_disk = sum(p.stat().st_size for p in paths)
        book = photo_book(folder / "meters.xlsx", [[p.name] for p in paths])
        pristine = book.read_bytes()  # before any run wrote its cache sheet
        print(f"made {len(paths)} photos of 4032x3024 ({on_disk / 1e6:.1f} MB on disk, "
              f"{on_disk / len(paths) / 1e6:.1f} MB each) in {time.perf_counter() - t0:.1f} s; "
              f"{os.cpu_count()} CPUs; service latency {args.latency} s per call")
        server.default = Reply.success().delayed(args.latency)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "AIGEN_API_URL": server.url,
               "AIGEN_API_KEY": server.valid_key, "XLWINGS_METER_CONFIG": str(folder / "none.conf")}
        cli = [sys.executable, "-m", "xlwings_meter.cli", "read"]

        sample, sample_cpu = timed([sys.executable, "-c", SAMPLE_LOOP, server.url, server.valid_key,
                                    *map(str, paths)], env)
        calls = len(server.calls)
        first, first_cpu = timed([*cli, str(book), "--quiet"], env)
        ours = server.calls[calls:]
        uploaded = sum(len(c.image or b"") for c in ours)
        cached, cached_cpu = timed([*cli, str(book), "--quiet"], env)
        assert len(server.calls) == calls + len(ours), "the cached run sent something"
        prep_wall, prep_cpu, decode_cpu = prepare_times(paths[:10])

        print(f"\n{'run':<42}{'wall s':>8}{'CPU s':>7}{'calls':>7}{'uploaded MB':>13}")
        for label, wall, cpu, n, mb in (
            ("docs sample code, once per row", sample, sample_cpu, calls, on_disk / 1e6),
            ("xlwings-meter read (first run)", first, first_cpu, len(ours), uploaded / 1e6),
            ("xlwings-meter read (again, all cached)", cached, cached_cpu, 0, 0.0),
        ):
            print(f"{label:<42}{wall:>8.2f}{cpu:>7.2f}{n:>7}{mb:>13.1f}")
        print(f"\nfirst run vs sample loop: {sample / first:.1f}x faster")
        print(f"uploaded / on disk: {uploaded / on_disk:.1%}")
        print(f"cached re-run / first run: {cached / first:.1%}")
        print(f"preparing one photo (decode, shrink, encode; median of 10, one thread): "
              f"{prep_wall * 1000:.0f} ms wall, {prep_cpu * 1000:.0f} ms CPU, of which decoding "
              f"{decode_cpu * 1000:.0f} ms")
        print(f"load average while it ran: {os.getloadavg()[0]:.1f} (CPU s: what the process itself used)")

        if args.sweep:
            print(f"\n{'concurrency':<14}{'first run s':>12}")
            for n in (int(x) for x in args.sweep.split(",")):
                copy = folder / f"c{n}.xlsx"
                copy.write_bytes(pristine)  # no cache sheet yet: every photo is sent
                print(f"{n:<14}{timed([*cli, str(copy), '--quiet', '--concurrency', str(n)], env)[0]:>12.2f}")


if __name__ == "__main__":
    main()
