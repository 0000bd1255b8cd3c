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


def jpeg_markers(data: bytes) -> list[int]:
    """The markers of a JPEG file, in order, up to and including EOI (0xD9); raises
    AssertionError for bytes after EOI, so a test sees appended data as a failure.

    >>> import io
    >>> buf = io.BytesIO(); Image.new("L", (8, 8)).save(buf, "JPEG")
    >>> [hex(m) for m in jpeg_markers(buf.getvalue())][:2], jpeg_markers(buf.getvalue())[-1] == 0xD9
    (['0xd8', '0xe0'], True)
    """
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    markers, i = [0xD8], 2
    while i < len(data):
        assert data[i] == 0xFF, f"no marker at {i}"
        marker = data[i + 1]
        markers.append(marker)
        if marker == 0xD9:
            assert i + 2 == len(data), f"{len(data) - i - 2} bytes after the end of the image"
            return markers
        length = int.from_bytes(data[i + 2:i + 4], "big")
        i += 2 + length
        if marker == 0xDA:  # entropy-coded data: skip to the next marker that is not a stuffed 0xFF00 or RST
            while not (data[i] == 0xFF and data[i + 1] not in (0x00, *range(0xD0, 0xD8))):
                i += 1
    raise AssertionError("no end-of-image marker")
