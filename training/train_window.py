"""Train the counter-window finder the local engine ships (``models/counter_window.onnx``).

The model is a small fully-convolutional network: a grey photo, letterboxed to 192 x 192,
in; a 48 x 48 map of logits out, high where the counter window (the row of drums) is. The
engine (:mod:`xlwings_meter.engines.local.window`) turns the map into a rotated rectangle,
reads it as one more candidate row and prefers candidate rows that lie on the window, so
that a serial number or a dial's figures do not win over the counter.

Data:

- the ``datasets/Brojilo/train/`` photos of github.com/CroniX-Business/Gas-Meter-Reading
  (Roboflow ``petar-rukan/brojilo`` v3, CC BY 4.0 per its ``data.yaml``): 318 field photos of
  gas meters, one box around the counter each. Its ``test/`` and ``valid/`` photos are in the
  evaluation set (``../shared/realphotos``) and are never read here;
- photos drawn by this project's generator (:mod:`xlwings_meter.demo.synth`: dark and white
  drums, any rotation, perspective, glare, clutter), the window being the hull of the drum
  cells it reports.

Run (CPU, a few minutes on 2 cores; ``pip install ".[train]"``)::

    git clone https://github.com/CroniX-Business/Gas-Meter-Reading /tmp/cronix
    nice -n 10 python training/train_window.py /tmp/cronix \\
        xlwings_meter/engines/local/models/counter_window.onnx

``CRONIX`` may also be a bare git mirror of that repository (files are read with ``git show``).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from torch import nn
from torch.nn import functional as F

from xlwings_meter.engines.local.window import SIDE, STRIDE

SEED = 12
STORE = 320  # long side the source photos are kept at
TRAIN_DIR = "datasets/Brojilo/train"


def _git_files(repo: Path, folder: str) -> list[str]:
    out = subprocess.run(["git", "-C", str(repo), "ls-tree", "-r", "--name-only", "HEAD", folder],
                         check=True, capture_output=True, text=True).stdout
    return out.split()


def _read(repo: Path, name: str) -> bytes:
    if (repo / name).is_file():
        return (repo / name).read_bytes()
    return subprocess.run(["git", "-C", str(repo), "show", f"HEAD:{name}"], check=True,
                          capture_output=True).stdout


def cronix(repo: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """(grey photo, window corners in its pixels) for each ``train/`` photo, never test/valid."""
    if (repo / TRAIN_DIR).is_dir():
        names = [str(p.relative_to(repo)) for p in sorted((repo / TRAIN_DIR).rglob("*"))]
    else:
        names = _git_files(repo, TRAIN_DIR)
    images = sorted(n for n in names if n.endswith(".jpg") and "/images/" in n)
    out = []
    for name in images:
        assert "/train/" in name
        label = name.replace("/images/", "/labels/").rsplit(".", 1)[0] + ".txt"
        fields = _read(repo, label).decode().split()
        if len(fields) != 5:
            continue
        grey = cv2.imdecode(np.frombuffer(_read(repo, name), np.uint8), cv2.IMREAD_GRAYSCALE)
        grey, k = _shrink(grey)
        h, w = grey.shape
        xc, yc, bw, bh = (float(v) for v in fields[1:])
        x0, x1, y0, y1 = (xc - bw / 2) * w, (xc + bw / 2) * w, (yc - bh / 2) * h, (yc + bh / 2) * h
        out.append((grey, np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32)))
    return out


def generated(count: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(grey photo, window corners) for ``count`` generated photos: the hull of the drums."""
    from xlwings_meter.demo.synth import generate_meter_photo

    out = []
    for i in range(count):
        photo = generate_meter_photo(seed * 100_000 + i)
        grey = cv2.imdecode(np.frombuffer(photo.data, np.uint8), cv2.IMREAD_GRAYSCALE)
        h, w = grey.shape
        points = (np.array([p for q in photo.truth.boxes for p in q]) * [w, h]).astype(np.float32)
        corners = cv2.boxPoints(cv2.minAreaRect(points)).astype(np.float32)
        grey, k = _shrink(grey)
        out.append((grey, corners * k))
    return out


def _shrink(grey: np.ndarray) -> tuple[np.ndarray, float]:
    k = STORE / max(grey.shape)
    size = (round(grey.shape[1] * k), round(grey.shape[0] * k))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA), k


def augment(rng: random.Random, grey: np.ndarray, corners: np.ndarray, turn: bool
            ) -> tuple[np.ndarray, np.ndarray]:
    """One training pair: the photo turned, scaled, shifted into SIDE x SIDE, lit and blurred;
    the window's mask (SIDE / STRIDE square)."""
    h, w = grey.shape
    angle = rng.choice([0, 90, 180, 270]) + rng.gauss(0, 12) if turn else 0.0
    if turn and rng.random() < 0.2:
        angle = rng.uniform(-180, 180)
    scale = SIDE / max(h, w) * rng.uniform(0.6, 1.5)
    stretch = rng.uniform(0.8, 1.25)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    m[0] *= stretch
    centre = corners.mean(0)
    target = m[:, :2] @ centre + m[:, 2]
    # Keep the window in view: shift so its centre lands somewhere inside the middle 70%.
    m[:, 2] += np.array([rng.uniform(0.15, 0.85) * SIDE, rng.uniform(0.15, 0.85) * SIDE]) - target
    fill = rng.randint(0, 255)
    img = cv2.warpAffine(grey, m, (SIDE, SIDE), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=fill)
    img = img.astype(np.float32)
    img = img * rng.uniform(0.6, 1.4) + rng.uniform(-40, 40)
    if rng.random() < 0.3:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 1.5))
    img = np.clip(img + np.random.default_rng(rng.randrange(1 << 30)).normal(0, 4, img.shape),
                  0, 255)
    moved = corners @ m[:, :2].T + m[:, 2]
    mask = np.zeros((SIDE // STRIDE, SIDE // STRIDE), np.uint8)
    cv2.fillPoly(mask, [np.round(moved / STRIDE * 8).astype(np.int32)], 1, shift=3)
    return img, mask.astype(np.float32)


def normalise(img: np.ndarray) -> np.ndarray:
    return (img - img.mean()) / (img.std() + 1e-3)


def block(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class WindowNet(nn.Module):
    """Grey SIDE x SIDE in, window logits at 1/STRIDE of the size out."""

    def __init__(self) -> None:
        super().__init__()
        self.down = nn.Sequential(block(1, 16, 2), block(16, 24, 2), block(24, 24))
        self.deep = nn.Sequential(block(24, 48, 2), block(48, 48, dilation=2),
                                  block(48, 48, dilation=4), block(48, 48, dilation=8))
        self.head = nn.Sequential(nn.Conv2d(72, 24, 1), nn.ReLU(inplace=True), nn.Conv2d(24, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        near = self.down(x)
        far = F.interpolate(self.deep(near), scale_factor=2.0, mode="nearest")
        return self.head(torch.cat([near, far], 1))


def batch(rng: random.Random, pool: list, size: int, turn: bool) -> tuple[torch.Tensor, ...]:
    pairs = [augment(rng, *rng.choice(pool), turn=turn) for _ in range(size)]
    x = torch.from_numpy(np.stack([normalise(p[0]) for p in pairs])[:, None].astype(np.float32))
    y = torch.from_numpy(np.stack([p[1] for p in pairs])[:, None])
    return x, y


def evaluate(model: nn.Module, pairs: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Mean IoU of the thresholded map with the true mask."""
    model.eval()
    ious = []
    with torch.no_grad():
        for img, mask in pairs:
            out = model(torch.from_numpy(normalise(img)[None, None].astype(np.float32)))[0, 0]
            pred = out.numpy() > 0
            union = (pred | (mask > 0)).sum()
            ious.append((pred & (mask > 0)).sum() / max(union, 1))
    model.train()
    return float(np.mean(ious))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cronix", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("--synthetic", type=int, default=1200)
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--cache", type=Path, help="keep the prepared photos here (.npz)")
    args = ap.parse_args()
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    t0 = time.time()
    if args.cache and args.cache.is_file():
        real, synth = _unpack(np.load(args.cache, allow_pickle=True))
    else:
        real = cronix(args.cronix)
        synth = generated(args.synthetic, SEED)
        if args.cache:
            np.savez(args.cache, **_pack(real, "real"), **_pack(synth, "synth"))
    rng = random.Random(SEED)
    rng.shuffle(real)
    held_real, real = real[:30], real[30:]
    held_synth, synth = synth[:60], synth[60:]
    print(f"{len(real)} CroniX train/ photos (+{len(held_real)} held out), {len(synth)} generated "
          f"(+{len(held_synth)} held out); {time.time() - t0:.0f} s")
    check_rng = random.Random(SEED + 1)
    checks = {"real": [augment(check_rng, *p, turn=True) for p in held_real],
              "generated": [augment(check_rng, *p, turn=False) for p in held_synth]}
    model = WindowNet()
    print(f"{sum(p.numel() for p in model.parameters())} parameters")
    opt = torch.optim.AdamW(model.parameters(), 3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=args.steps)
    for step in range(1, args.steps + 1):
        # Half of each batch real: there are far fewer real photos, but they are what counts.
        xr, yr = batch(rng, real, args.batch // 2, turn=True)
        xs, ys = batch(rng, synth, args.batch - args.batch // 2, turn=False)
        x, y = torch.cat([xr, xs]), torch.cat([yr, ys])
        logits = model(x)
        prob = torch.sigmoid(logits)
        dice = 1 - (2 * (prob * y).sum() + 1) / (prob.sum() + y.sum() + 1)
        loss = F.binary_cross_entropy_with_logits(logits, y, pos_weight=torch.tensor(3.0)) + dice
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == args.steps:
            figures = ", ".join(f"{k} IoU {evaluate(model, v):.3f}" for k, v in checks.items())
            print(f"step {step}: loss {loss.item():.3f}; held out: {figures}; "
                  f"{time.time() - t0:.0f} s", flush=True)
            export(model, args.output)
    print(f"wrote {args.output} ({args.output.stat().st_size // 1024} KB)")


def export(model: nn.Module, output: Path) -> None:
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, SIDE, SIDE), str(output),
                      input_names=["photo"], output_names=["window"], opset_version=17,
                      dynamo=False)
    model.train()


def _pack(pairs: list[tuple[np.ndarray, np.ndarray]], name: str) -> dict[str, np.ndarray]:
    images = np.empty(len(pairs), object)
    images[:] = [p[0] for p in pairs]
    return {f"{name}_images": images, f"{name}_corners": np.stack([p[1] for p in pairs])}


def _unpack(data: Any) -> tuple[list, list]:
    return tuple(  # type: ignore[return-value]
        list(zip(data[f"{n}_images"], data[f"{n}_corners"], strict=True))
        for n in ("real", "synth"))


if __name__ == "__main__":
    main()
