"""Real photo files for tests, drawn with Pillow: each seed gives different content."""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageDraw


def make_photo(path: Path, size: tuple[int, int] = (640, 480), seed: int = 0, fmt: str = "JPEG") -> Path:
    """Write a meter-like picture (a dial with the seed as its counter) to ``path``; return it.

    Same seed, same bytes; different seeds, different images and so different SHA-256.

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> a, b = make_photo(folder / "a.jpg", seed=1), make_photo(folder / "b.jpg", seed=2)
    >>> a.read_bytes() != b.read_bytes(), Image.open(a).size
    (True, (640, 480))
    """
    rng = random.Random(seed)
    w, h = size
    img = Image.new("RGB", size, tuple(rng.randrange(96, 224) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(12):  # clutter, so the seed changes every region of the picture
        x, y = rng.randrange(w), rng.randrange(h)
        draw.rectangle((x, y, x + rng.randrange(8, w // 4), y + rng.randrange(8, h // 4)),
                       fill=tuple(rng.randrange(256) for _ in range(3)))
    draw.ellipse((w * 0.2, h * 0.15, w * 0.8, h * 0.85), fill="white", outline="black", width=4)
    draw.rectangle((w * 0.3, h * 0.42, w * 0.7, h * 0.58), fill="black")
    draw.text((w * 0.33, h * 0.46), f"{seed:05d}.{rng.randrange(1000):03d}", fill="white")
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format=fmt)
    return path
