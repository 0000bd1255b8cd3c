"""Train the drum-digit classifier the local engine ships (xlwings_meter/engines/local/models/).

Data: generated drum crops (the demo's photo generator, dark, white and red drums at any roll)
and the ``datasets/meterdigits`` folder of github.com/haverland/Tenth-of-step-of-a-meter-digit
(Apache-2.0): about 18,000 real drum crops, 20x32 pixels, in folders named by their reading in
tenths of a step (``0.0`` .. ``9.9``). Get it with::

    git clone https://github.com/haverland/Tenth-of-step-of-a-meter-digit /tmp/haverland

and run (CPU, about 30 minutes on 2 cores; needs ``pip install ".[train]"``)::

    python training/train_digits.py /tmp/haverland/datasets/meterdigits \
        xlwings_meter/engines/local/models/drum_digits.onnx

The model reads a grey crop of one drum, 32 high x 20 wide, normalised to zero mean and unit
spread (``xlwings_meter.engines.local.drums.prepare``), and gives 101 probabilities: class k < 100
is the drum at k/10 of a step (class 53 = 5.3: a 5 rolling towards 6), class 100 says no drum is
centred in the crop (see ``no_drums``). Crops are inverted at random in training, so light-on-dark
and dark-on-light drums read alike.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from PIL import Image
from torch import nn
from torch.nn import functional as F

SEED = 12
H, W = 32, 20
TENTHS = 100
#: Class 100: no drum here. A cell cut half-way between two drums, beside a row's end, on a
#: frame bar, a unit (``m3``) or a label: the engine drops such cells at a row's ends.
NONE = TENTHS
CLASSES = TENTHS + 1
#: Junk drawn for the no-drum class: units, letters and marks that stand beside counters.
#: (No bars: a plain ``1`` is one. Frame bars are told from drums by the row's spacing.)
JUNK = ["m³", "m3", "m", "F", "X", "S", "L", "-", "No", ".", ",", "[", "]", "(", ")",
        "◄", "▶", "×", "#", "kWh", "/", "x", "A", "B", "E", "K", "W", "h"]


def load(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """All crops as grey float arrays (N x 32 x 20) and their class (tenths, 0..99)."""
    images, labels = [], []
    for sub in sorted(folder.iterdir()):
        if not sub.is_dir():
            continue
        label = round(float(sub.name) * 10) % TENTHS
        for f in sorted(sub.iterdir()):
            im = Image.open(f).convert("L").resize((W, H), Image.BILINEAR)
            images.append(np.asarray(im, np.float32))
            labels.append(label)
    return np.stack(images), np.array(labels)


def synthetic(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Drum crops drawn by the photo generator (``xlwings_meter.demo.face.draw_drum``): dark,
    white and red drums at any roll, with a little of the window frame around some."""
    from xlwings_meter.demo.face import draw_drum

    rng = random.Random(seed)
    images, labels = [], []
    for _ in range(count):
        digit, tenth = rng.randrange(10), rng.randrange(10)
        size = rng.uniform(18, 60)
        style = rng.choice(["dark", "white", "white-red"])
        drum = draw_drum(
            rng, digit, tenth / 10, rng.random() < 0.3, size * 0.78, size * 1.3, size, style
        )
        pad_x, pad_y = round(rng.uniform(0, 0.15) * drum.width), round(rng.uniform(0, 0.08) * drum.height)
        framed = Image.new("RGB", (drum.width + 2 * pad_x, drum.height + 2 * pad_y), (70, 70, 74))
        framed.paste(drum, (pad_x, pad_y))
        im = framed.convert("L").resize((W, H), Image.BILINEAR)
        images.append(np.asarray(im, np.float32))
        labels.append(digit * 10 + tenth)
    return np.stack(images), np.array(labels)


def no_drums(count: int, seed: int, real: np.ndarray) -> np.ndarray:
    """Crops (N x 32 x 20) where no drum is centred, for the no-drum class.

    - halves of two real drums side by side, the cut between them (with or without the dark or
      light gap counters have there): what a cell half a pitch off the drums shows;
    - a real drum beside plain ground, the cut mostly on the ground: past a row's end;
    - letters, units, bars, brackets and arrows drawn on light or dark ground (Pillow's own
      font), and plain ground: the frame, the unit and the labels beside a counter.
    """
    from PIL import ImageDraw, ImageFont

    rng = random.Random(seed)
    out = []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.4:
            a, b = real[rng.randrange(len(real))], real[rng.randrange(len(real))]
            gap = np.full((H, rng.randrange(0, 5)), rng.choice([a.min(), a.max()]), np.float32)
            pair = np.hstack([a, gap, b])
            x0 = round(rng.uniform(0.35, 0.65) * (W + gap.shape[1]))
            out.append(pair[:, x0 : x0 + W])
        elif kind < 0.6:
            a = real[rng.randrange(len(real))]
            ground = np.full((H, W), float(np.median(np.r_[a[:, 0], a[:, -1]])), np.float32)
            ground += np.random.default_rng(rng.randrange(1 << 30)).normal(0, 4, (H, W)).astype(np.float32)
            x0 = round(rng.uniform(0.55, 0.9) * W)  # the cut mostly past the drum
            if rng.random() < 0.5:
                out.append(np.hstack([a, ground])[:, x0 : x0 + W])
            else:
                out.append(np.hstack([ground, a])[:, W - x0 : 2 * W - x0])
        else:
            light, dark = rng.uniform(150, 250), rng.uniform(0, 90)
            ground, ink = (light, dark) if rng.random() < 0.6 else (dark, light)
            scale = 3
            im = Image.new("L", (W * scale, H * scale), round(ground))
            draw = ImageDraw.Draw(im)
            if kind < 0.93:
                text = rng.choice(JUNK)
                font = ImageFont.load_default(rng.uniform(0.6, 1.2) * H * scale)
                draw.text((rng.uniform(-0.3, 0.3) * W * scale, rng.uniform(-0.3, 0.2) * H * scale),
                          text, fill=round(ink), font=font)
            small = im.resize((W, H), Image.BILINEAR)
            out.append(np.asarray(small, np.float32))
    return np.stack(out)


def normalise(x: torch.Tensor) -> torch.Tensor:
    """Per-crop zero mean, unit spread: as the engine does before the model."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    std = x.std(dim=(1, 2, 3), keepdim=True)
    return (x - mean) / (std + 1e-3)


class DrumNet(nn.Module):
    """A small CNN: three conv blocks, then one dense layer to 100 tenths."""

    def __init__(self) -> None:
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                nn.Conv2d(cout, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(),
                nn.MaxPool2d(2),
            )

        self.features = nn.Sequential(block(1, 24), block(24, 48), block(48, 64))
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 4 * 2, CLASSES))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


class Exported(nn.Module):
    """What ships: probabilities out, so the engine needs no softmax of its own."""

    def __init__(self, net: DrumNet) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.net(x), dim=1)


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Shift, scale, shear and crop slack like a cell cut from a photo; blur, noise, inversion."""
    n = x.shape[0]
    r = lambda lo, hi: lo + (hi - lo) * torch.rand(n, generator=gen)  # noqa: E731
    sx, sy = r(0.85, 1.25), r(0.85, 1.2)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = sx, sy
    theta[:, 0, 1] = r(-0.12, 0.12)
    theta[:, 0, 2], theta[:, 1, 2] = r(-0.15, 0.15), r(-0.08, 0.08)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    blur = torch.rand(n, generator=gen) < 0.3
    if blur.any():
        k = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]) / 16
        x[blur] = F.conv2d(F.pad(x[blur], (1, 1, 1, 1), mode="replicate"), k[None, None])
    x = x * r(0.6, 1.4)[:, None, None, None] + r(-40, 40)[:, None, None, None]
    x = x + torch.randn(x.shape, generator=gen) * r(0, 8)[:, None, None, None]
    invert = torch.rand(n, generator=gen) < 0.5
    x[invert] = 255 - x[invert]
    return normalise(x)


def soft_targets(labels: torch.Tensor) -> torch.Tensor:
    """Labels spread over neighbouring tenths (circularly): a drum read 5.3 is nearly 5.2. The
    no-drum class is a class of its own."""
    k = torch.arange(TENTHS)
    d = (k[None, :] - labels[:, None]).abs()
    d = torch.minimum(d, TENTHS - d).float()
    t = torch.exp(-0.5 * (d / 0.8) ** 2)
    t = torch.cat([t, torch.zeros(len(labels), 1)], 1)
    none = labels == NONE
    t[none] = 0.0
    t[none, NONE] = 1.0
    return t / t.sum(1, keepdim=True)


def figures(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """Digit accuracy on whole-digit crops (x.0, x.9, x.1), and within half a step on all."""
    net.eval()
    with torch.no_grad():
        pred = torch.cat([net(normalise(x[i : i + 512])).argmax(1) for i in range(0, len(x), 512)])
    none, drum = y == NONE, y != NONE
    out = {
        "no drum found": float((pred[none] == NONE).float().mean()) if none.any() else 0.0,
        "drums taken for none": float((pred[drum] == NONE).float().mean()),
    }
    pred, y = pred[drum], y[drum]
    d = (pred - y).abs()
    d = torch.minimum(d, TENTHS - d)
    whole = (y % 10 == 0)
    digit_right = (torch.div(pred + 5, 10, rounding_mode="floor") % 10) == (
        torch.div(y + 5, 10, rounding_mode="floor") % 10
    )
    return {
        "digit accuracy, whole digits": float(digit_right[whole].float().mean()),
        "within 0.5 step, all": float((d <= 5).float().mean()),
        "within 0.2 step, all": float((d <= 2).float().mean()),
        **out,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path, help="the meterdigits folder (one folder per tenth)")
    p.add_argument("out", type=Path, help="where to write the ONNX model")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--synthetic", type=int, default=8000, help="generated drum crops to add")
    p.add_argument("--no-drum", type=int, default=7000, help="no-drum crops to add")
    args = p.parse_args(argv)

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(SEED)

    images, labels = load(args.data)
    order = np.random.permutation(len(images))
    n_val = len(images) // 10
    val, train = order[:n_val], order[n_val:]
    xt = torch.from_numpy(images[train])[:, None]
    yt = torch.from_numpy(labels[train])
    xv = torch.from_numpy(images[val])[:, None]
    yv = torch.from_numpy(labels[val])
    print(f"{len(train)} real training crops, {len(val)} held out (seed {SEED})")
    if args.synthetic:
        sx, sy = synthetic(args.synthetic, SEED)
        xt = torch.cat([xt, torch.from_numpy(sx)[:, None]])
        yt = torch.cat([yt, torch.from_numpy(sy)])
        print(f"{len(sx)} generated drum crops added (xlwings_meter.demo.face.draw_drum)")

    if args.no_drum:
        # From the training crops only: the held-out ones stay unseen.
        nx = no_drums(args.no_drum + args.no_drum // 10, SEED, images[train])
        nv = torch.from_numpy(nx[: args.no_drum // 10])[:, None]
        xv = torch.cat([xv, nv])
        yv = torch.cat([yv, torch.full((len(nv),), NONE)])
        xt = torch.cat([xt, torch.from_numpy(nx[args.no_drum // 10 :])[:, None]])
        yt = torch.cat([yt, torch.full((args.no_drum,), NONE)])
        print(f"{args.no_drum} no-drum crops added ({len(nv)} more held out)")

    net = DrumNet()
    print(f"{sum(p.numel() for p in net.parameters())} parameters")
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    steps = args.epochs * ((len(xt) + 127) // 128)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    start = time.time()
    for epoch in range(args.epochs):
        net.train()
        perm = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for i in range(0, len(xt), 128):
            idx = perm[i : i + 128]
            x = augment(xt[idx].clone(), gen)
            loss = -(soft_targets(yt[idx]) * F.log_softmax(net(x), 1)).sum(1).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        figs = figures(net, xv, yv)
        shown = ", ".join(f"{k} {v:.3f}" for k, v in figs.items())
        print(f"epoch {epoch + 1}: loss {total / len(xt):.3f}; held out: {shown}; "
              f"{time.time() - start:.0f} s", flush=True)
        export(net, args.out)  # after every epoch: a long run can be stopped and still used
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")
    return 0


def export(net: DrumNet, out: Path) -> None:
    """Write the model as ONNX, probabilities out."""
    net.eval()
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        Exported(net), torch.zeros(1, 1, H, W), str(out), input_names=["crop"],
        output_names=["tenths"], dynamic_axes={"crop": {0: "n"}, "tenths": {0: "n"}},
        opset_version=17, dynamo=False,
    )


if __name__ == "__main__":
    sys.exit(main())
