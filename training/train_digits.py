"""Train the drum-digit classifier the local engine ships (xlwings_meter/engines/local/models/).

Data: generated drum crops (the demo's photo generator, dark, white and red drums at any roll)
and the ``datasets/meterdigits`` folder of github.com/haverland/Tenth-of-step-of-a-meter-digit
(Apache-2.0): about 18,000 real drum crops, 20x32 pixels, in folders named by their reading in
tenths of a step (``0.0`` .. ``9.9``). Get it with::

    git clone https://github.com/haverland/Tenth-of-step-of-a-meter-digit /tmp/haverland

and run (CPU, about 10 minutes on 2 cores; needs ``pip install -r training/requirements.txt``)::

    python training/train_digits.py /tmp/haverland/datasets/meterdigits \
        xlwings_meter/engines/local/models/drum_digits.onnx

The model reads a grey crop of one drum, 32 high x 20 wide, normalised to zero mean and unit
spread (``xlwings_meter.engines.local.drums.prepare``), and gives 100 probabilities: class k
is the drum at k/10 of a step (class 53 = 5.3: a 5 rolling towards 6). Crops are inverted at
random in training, so light-on-dark and dark-on-light drums read alike.
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
CLASSES = 100


def load(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """All crops as grey float arrays (N x 32 x 20) and their class (tenths, 0..99)."""
    images, labels = [], []
    for sub in sorted(folder.iterdir()):
        if not sub.is_dir():
            continue
        label = round(float(sub.name) * 10) % CLASSES
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
    """Labels spread over neighbouring tenths (circularly): a drum read 5.3 is nearly 5.2."""
    k = torch.arange(CLASSES)
    d = (k[None, :] - labels[:, None]).abs()
    d = torch.minimum(d, CLASSES - d).float()
    t = torch.exp(-0.5 * (d / 0.8) ** 2)
    return t / t.sum(1, keepdim=True)


def figures(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """Digit accuracy on whole-digit crops (x.0, x.9, x.1), and within half a step on all."""
    net.eval()
    with torch.no_grad():
        pred = torch.cat([net(normalise(x[i : i + 512])).argmax(1) for i in range(0, len(x), 512)])
    d = (pred - y).abs()
    d = torch.minimum(d, CLASSES - d)
    whole = (y % 10 == 0)
    digit_right = (torch.div(pred + 5, 10, rounding_mode="floor") % 10) == (
        torch.div(y + 5, 10, rounding_mode="floor") % 10
    )
    return {
        "digit accuracy, whole digits": float(digit_right[whole].float().mean()),
        "within 0.5 step, all": float((d <= 5).float().mean()),
        "within 0.2 step, all": float((d <= 2).float().mean()),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data", type=Path, help="the meterdigits folder (one folder per tenth)")
    p.add_argument("out", type=Path, help="where to write the ONNX model")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--synthetic", type=int, default=8000, help="generated drum crops to add")
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
