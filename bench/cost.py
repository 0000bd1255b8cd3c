"""What reading 40 phone photos costs: the docs' sample code once per row against `xlwings-meter read`.

    python -m bench.cost [--photos 40] [--latency 0.3] [--repeat 3] [--sweep 4,8,16] [--keep DIR]

Makes N phone-like 12-megapixel JPEGs (4032x3024, noisy as a phone's sensor) and a workbook
listing them, reads every photo file once (so each command below finds them in the file cache),
starts the fake AIGEN service on 127.0.0.1 (each reply delayed by --latency seconds, like a
real OCR call), then --repeat times, on the same photos and server, one after the other:

1. the sample code of the API's documentation (Python tab), run once per row, in its own
   process: read the file, base64 it, ``requests.post`` it;
2. ``xlwings-meter read`` on a fresh copy of the workbook, in its own process, as a user runs it;
3. the same command again (every photo is in the cache now).

Prints each round's times and their ratios and the medians, the bytes uploaded against the
bytes on disk, the start-up of ``read --help``, and the CPU time to prepare one photo (as the
batch does: open, decode scaled, shrink, turn upright, encode; the file's hash is taken apart,
before). With --sweep, first runs at each concurrency, twice each. Every ratio is within one
round, so a machine shared with other work changes it less than the absolute times; beside
each round, the CPU seconds other processes used during its first run (Linux) say how much of
the cores that run could not have.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw

from tests.fake_aigen import FakeAigen, Reply
from tests.workbooks import photo_book
from xlwings_meter.photos import LEGIBLE_SIDE, file_digest, load_photo

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


def machine_cpu() -> float:
    """CPU seconds all processes on this machine have used since it started (Linux's
    /proc/stat: user, nice, system, interrupts); NaN where there is no /proc/stat."""
    try:
        with open("/proc/stat") as fh:
            user, nice, system, _idle, _iowait, irq, softirq = map(int, fh.readline().split()[1:8])
    except (OSError, ValueError):
        return float("nan")
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    """CPU seconds this process (the bench and its test service's threads) has used."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds of the command, the CPU seconds (user + system) its process used, and the
    CPU seconds everything else on the machine used meanwhile (other people's jobs, not this
    bench nor its test service): what the command could not have of the cores."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine, own = machine_cpu(), own_cpu()
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{command[2:4]} failed ({done.returncode}): {done.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    others = machine_cpu() - machine - cpu - (own_cpu() - own)
    return wall, cpu, max(0.0, others)


@dataclass
class Round:
    """One round: the sample loop, a first run and a cached run, on the same photos and server."""

    sample: tuple[float, float, float]  # wall s, CPU s, other processes' CPU s meanwhile
    first: tuple[float, float, float]
    cached: tuple[float, float, float]
    uploads: int
    uploaded: int  # bytes of the images the service received

    @property
    def speedup(self) -> float:
        return self.sample[0] / self.first[0]

    @property
    def cached_share(self) -> float:
        return self.cached[0] / self.first[0]


def one_round(server: FakeAigen, env: dict[str, str], cli: list[str], paths: list[Path], book: Path) -> Round:
    sample = timed([sys.executable, "-c", SAMPLE_LOOP, server.url, server.valid_key, *map(str, paths)], env)
    calls = len(server.calls)
    first = timed([*cli, str(book), "--quiet"], env)
    ours = server.calls[calls:]
    cached = timed([*cli, str(book), "--quiet"], env)
    if len(server.calls) != calls + len(ours):
        raise SystemExit("the cached run sent something")
    return Round(sample, first, cached, len(ours), sum(len(c.image or b"") for c in ours))


def warm(paths: list[Path]) -> None:
    """Read every photo once, so that every command timed finds them in the file cache."""
    for path in paths:
        with open(path, "rb") as fh:
            while fh.read(1 << 22):
                pass


def prepare_times(paths: list[Path]) -> dict[str, float]:
    """Median CPU seconds, in this one thread, of: preparing a photo as the batch does
    (load_photo with the hash known: open, decode scaled, shrink, upright, encode), hashing its
    file, and decoding alone (Pillow's libjpeg-turbo, scaled as load_photo scales it)."""
    prepare, hashing, decode = [], [], []
    for path in paths:
        t = time.thread_time()
        digest = file_digest(path)
        hashing.append(time.thread_time() - t)
        t = time.thread_time()
        load_photo(path, digest)
        prepare.append(time.thread_time() - t)
        t = time.thread_time()
        with Image.open(path) as img:
            img.draft("RGB", (LEGIBLE_SIDE, LEGIBLE_SIDE * img.height // img.width))
            img.load()
        decode.append(time.thread_time() - t)
    return {"prepare": statistics.median(prepare), "hash": statistics.median(hashing),
            "decode": statistics.median(decode)}


def startup(env: dict[str, str]) -> tuple[float, float]:
    """Median wall seconds of ``read --help`` and of Python doing nothing, five of each."""
    help_, bare = [], []
    for _ in range(5):
        help_.append(timed([sys.executable, "-m", "xlwings_meter.cli", "read", "--help"], env)[0])
        bare.append(timed([sys.executable, "-c", "pass"], env)[0])
    return statistics.median(help_), statistics.median(bare)


def report(rounds: list[Round], on_disk: int) -> None:
    print(f"\n{'round':<7}{'sample loop s':>14}{'read s':>8}{'faster':>8}{'cached s':>10}"
          f"{'cached/first':>14}{'uploads':>9}{'uploaded/disk':>15}   (CPU s: loop, read, cached; others' during read)")
    for i, r in enumerate(rounds, 1):
        print(f"{i:<7}{r.sample[0]:>14.2f}{r.first[0]:>8.2f}{r.speedup:>7.1f}x{r.cached[0]:>10.2f}"
              f"{r.cached_share:>14.1%}{r.uploads:>9}{r.uploaded / on_disk:>15.1%}"
              f"   ({r.sample[1]:.2f}, {r.first[1]:.2f}, {r.cached[1]:.2f}; {r.first[2]:.2f})")

    def med(values: list[float]) -> float:
        return statistics.median(values)

    print(f"{'median':<7}{med([r.sample[0] for r in rounds]):>14.2f}{med([r.first[0] for r in rounds]):>8.2f}"
          f"{med([r.speedup for r in rounds]):>7.1f}x{med([r.cached[0] for r in rounds]):>10.2f}"
          f"{med([r.cached_share for r in rounds]):>14.1%}{'':>9}"
          f"{med([r.uploaded / on_disk for r in rounds]):>15.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--latency", type=float, default=0.3, help="seconds the service takes per photo")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of sample loop, first run, cached run")
    parser.add_argument("--sweep", default="", help="also time first runs at these concurrencies, e.g. 4,8,16")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="make the photos in DIR, or use those an earlier run made there (the same every time)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, FakeAigen() as server:
        folder = Path(tmp)
        t0, load_before = time.perf_counter(), os.getloadavg()[0]
        kept = [args.keep / f"IMG_{i:04d}.jpg" for i in range(args.photos)] if args.keep else []
        reused = bool(kept) and all(p.exists() for p in kept)
        if reused:
            paths = [Path(shutil.copy(p, folder)) for p in kept]
        else:
            paths = make_photos(folder, args.photos)
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                for p in paths:
                    shutil.copy(p, args.keep)
        on_disk = sum(p.stat().st_size for p in paths)
        pristine = photo_book(folder / "meters.xlsx", [[p.name] for p in paths]).read_bytes()
        warm(paths)
        print(f"{'copied' if reused else 'made'} {len(paths)} photos of 4032x3024 ({on_disk / 1e6:.1f} MB on disk, "
              f"{on_disk / len(paths) / 1e6:.1f} MB each) in {time.perf_counter() - t0:.1f} s; "
              f"{os.cpu_count()} CPUs; service latency {args.latency} s per call; load average "
              f"{load_before:.1f} before making them (making them raised it to {os.getloadavg()[0]:.1f})")
        server.default = Reply.success().delayed(args.latency)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "AIGEN_API_URL": server.url,
               "AIGEN_API_KEY": server.valid_key, "XLWINGS_METER_CONFIG": str(folder / "none.conf")}
        # Both commands run with Python's bytecode cache, as from an installed package (pip
        # compiles it; requests' is there already): a checkout run with PYTHONDONTWRITEBYTECODE
        # would compile this package's modules from source on every run.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "xlwings_meter")], env=env, check=True)
        cli = [sys.executable, "-m", "xlwings_meter.cli", "read"]

        def fresh_book(name: str) -> Path:
            book = folder / name
            book.write_bytes(pristine)  # no cache sheet: every photo is sent
            return book

        rounds = [one_round(server, env, cli, paths, fresh_book(f"round{i}.xlsx")) for i in range(args.repeat)]
        report(rounds, on_disk)
        times = prepare_times(paths[:20])
        help_s, bare_s = startup(env)
        print(f"\non disk {on_disk / 1e6:.1f} MB; uploaded {rounds[0].uploaded / 1e6:.1f} MB "
              f"({rounds[0].uploaded / rounds[0].uploads / 1e3:.0f} kB a photo)")
        print(f"preparing one photo (as the batch does; CPU of one thread, median of 20): "
              f"{times['prepare'] * 1000:.0f} ms, of which decoding {times['decode'] * 1000:.0f} ms; "
              f"hashing its file before: {times['hash'] * 1000:.0f} ms")
        print(f"start-up: `read --help` {help_s * 1000:.0f} ms, Python alone {bare_s * 1000:.0f} ms")
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")

        if args.sweep:
            levels = [int(x) for x in args.sweep.split(",")]
            sweep: dict[int, list[float]] = {n: [] for n in levels}
            for k in range(2):  # interleaved, so a change in the machine's load hits every level
                for n in levels:
                    book = fresh_book(f"c{n}-{k}.xlsx")
                    sweep[n].append(timed([*cli, str(book), "--quiet", "--concurrency", str(n)], env)[0])
            print(f"\n{'concurrency':<14}{'first run s':>12}{'again':>8}")
            for n, runs in sweep.items():
                print(f"{n:<14}{runs[0]:>12.2f}{runs[1]:>8.2f}")

if __name__ == "__main__":
    main()
