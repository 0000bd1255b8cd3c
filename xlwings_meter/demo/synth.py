"""Synthetic water-meter photos that come with their true reading (Pillow only, no numpy).

Each photo shows a meter face drawn upright (:mod:`xlwings_meter.demo.face`): a counter window
of dark drums with light digits or white drums with dark digits, red decimals (some drums
caught half-way between two digits), the brand, a serial number, the unit,
small dials with their own digits, all on a cluttered background. The face is then turned to any
angle, put in perspective, blurred, lit by a glare, given sensor noise and saved as JPEG.

Everything is drawn from ``random.Random(seed)``: the same seed and conditions give the same bytes.

>>> photo = generate_meter_photo(7, PhotoConditions(rotation=0.0))
>>> photo.truth.value.replace(".", "").isdigit(), abs(photo.truth.angle) < 3
(True, True)
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from xlwings_meter.demo.face import BODY_RADIUS, CANVAS, DRUM_STYLES, draw_face
from xlwings_meter.photos import Photo
from xlwings_meter.reading import Quad

Point = tuple[float, float]
Matrix = tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]

_OUTPUT_SIZES = ((960, 720), (720, 960), (800, 800), (1024, 768), (768, 1024))


@dataclass(frozen=True)
class PhotoConditions:
    """How hard a photo is. ``rotation=None`` draws any angle in [-180, 180).

    ``rotation`` is the angle of the digit row before perspective, in the API's convention
    (degrees, clockwise on screen from the image's x axis). ``blur`` is a Gaussian radius in
    pixels of the output photo, ``glare`` the strength (0..1) of a specular highlight,
    ``noise`` the sensor noise in grey levels, ``perspective`` a keystone strength (0..1),
    ``roll`` the chance that any one drum is caught between two digits. ``drums`` is the
    drum style, ``"dark"`` or ``"white"`` (see :mod:`xlwings_meter.demo.face`); None draws it.
    ``cast`` multiplies the red, green and blue of the photo (a phone's white balance, a
    coloured lamp): None draws one for a third of the photos, ``(1, 1, 1)`` is none.
    """

    rotation: float | None = None
    blur: float = 0.0
    glare: float = 0.0
    noise: float = 4.0
    perspective: float = 0.3
    jpeg_quality: int = 85
    roll: float = 0.25
    drums: str | None = None
    cast: tuple[float, float, float] | None = None


@dataclass(frozen=True)
class MeterTruth:
    """What a perfect reader would return for a generated photo.

    ``boxes`` are the visible drum windows, one quad per digit, normalised to 0..1 of the photo,
    left digit first, corners in the digit's own top-left, top-right, bottom-right, bottom-left
    order. ``rolled`` tells, digit by digit, which drums were drawn between two digits.
    """

    value: str
    angle: float
    integer_digits: int
    decimal_digits: int
    boxes: tuple[Quad, ...]
    rolled: tuple[bool, ...]


@dataclass(frozen=True)
class SynthPhoto:
    """One generated photo: its JPEG bytes, the decoded image and the truth."""

    data: bytes
    truth: MeterTruth
    seed: int
    conditions: PhotoConditions = field(default_factory=PhotoConditions)

    @property
    def image(self) -> Image.Image:
        """The photo, decoded."""
        img = Image.open(io.BytesIO(self.data))
        img.load()
        return img

    def as_photo(self, name: str | None = None) -> Photo:
        """The photo as an engine receives it, without touching the disk."""
        img = self.image
        path = Path(name or f"synth-{self.seed}.jpg")
        digest = hashlib.sha256(self.data).hexdigest()
        return Photo(path, digest, self.data, img.width, img.height, len(self.data))


def random_conditions(rng: random.Random) -> PhotoConditions:
    """Conditions drawn from a mix of easy and hard photos, as a demo or a benchmark wants."""
    return PhotoConditions(
        rotation=rng.choice([0.0, rng.uniform(-15, 15), None, None]),
        blur=rng.choice([0.0, 0.0, 1.0, 2.0]),
        glare=rng.choice([0.0, 0.0, 0.4, 0.8]),
        noise=rng.choice([2.0, 5.0, 10.0]),
        perspective=rng.uniform(0.0, 0.6),
        jpeg_quality=rng.choice([60, 75, 90]),
        roll=0.25,
    )


def generate_meter_photo(seed: int, conditions: PhotoConditions | None = None) -> SynthPhoto:
    """Draw one meter photo from ``seed``; ``conditions=None`` draws them from the seed too."""
    rng = random.Random(seed)
    if conditions is None:
        conditions = random_conditions(rng)
    # The style comes from a generator of its own, so that a dark-drum photo is the same
    # photo it was before white drums were drawn.
    # Style and colour cast come from generators of their own, so that a photo without them
    # is the photo it was before they were drawn.
    style = conditions.drums or random.Random(seed * 7919 + 1).choice(DRUM_STYLES)
    cast = conditions.cast or _random_cast(random.Random(seed * 7919 + 2))
    face, digit_quads, value, n_int, n_dec, rolled = draw_face(rng, conditions.roll, style)

    out_w, out_h = rng.choice(_OUTPUT_SIZES)
    rotation = conditions.rotation if conditions.rotation is not None else rng.uniform(-180, 180)
    forward = _view_matrix(rng, rotation, conditions.perspective, out_w, out_h)
    photo = face.transform(
        (out_w, out_h),
        Image.Transform.PERSPECTIVE,
        _perspective_coefficients(_invert(forward)),
        resample=Image.Resampling.BICUBIC,
        fillcolor=(90, 90, 90),
    )
    photo = _apply_glare(rng, photo, conditions.glare, [_apply(forward, p) for p in digit_quads[0]])
    if cast != (1.0, 1.0, 1.0):
        bands = zip(photo.split(), cast, strict=True)
        photo = Image.merge("RGB", [b.point(lambda v, k=k: min(255, round(v * k))) for b, k in bands])
    if conditions.blur > 0:
        photo = photo.filter(ImageFilter.GaussianBlur(conditions.blur))
    if conditions.noise > 0:
        photo = _add_noise(rng, photo, conditions.noise)
    buf = io.BytesIO()
    photo.save(buf, format="JPEG", quality=conditions.jpeg_quality)

    quads = [tuple(_apply(forward, p) for p in quad) for quad in digit_quads]
    boxes = tuple(
        tuple((x / out_w, y / out_h) for x, y in quad)
        for quad in quads
    )
    first, last = _centre(quads[0]), _centre(quads[-1])
    angle = math.degrees(math.atan2(last[1] - first[1], last[0] - first[0]))
    truth = MeterTruth(value, angle, n_int, n_dec, boxes, rolled)  # type: ignore[arg-type]
    return SynthPhoto(buf.getvalue(), truth, seed, conditions)


def meter_photo_files(folder: Path, count: int) -> list[Path]:
    """The files ``write_meter_photos(folder, count)`` writes: the photos, then ``truth.csv``."""
    return [folder / f"meter-{i:04d}.jpg" for i in range(count)] + [folder / "truth.csv"]


def write_meter_photos(
    folder: Path, count: int, seed: int = 0, conditions: PhotoConditions | None = None
) -> list[tuple[Path, MeterTruth]]:
    """Write ``count`` photos ``meter-0000.jpg``... and ``truth.csv`` into ``folder``.

    Photo ``i`` is ``generate_meter_photo(seed + i, conditions)``. Returns each path with its
    truth, in order. ``truth.csv`` lists file, value and angle, for a person checking a demo.
    """
    folder.mkdir(parents=True, exist_ok=True)
    files = meter_photo_files(folder, count)
    written: list[tuple[Path, MeterTruth]] = []
    for i in range(count):
        photo = generate_meter_photo(seed + i, conditions)
        path = files[i]
        path.write_bytes(photo.data)
        written.append((path, photo.truth))
    with open(files[-1], "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["file", "value", "angle"])
        for path, truth in written:
            out.writerow([path.name, truth.value, f"{truth.angle:.2f}"])
    return written


# --- the camera ------------------------------------------------------------------------------


def _view_matrix(
    rng: random.Random, rotation: float, perspective: float, out_w: int, out_h: int
) -> Matrix:
    """Canvas pixels to photo pixels: centre, turn, tilt, scale, place."""
    a = math.radians(rotation)
    c, s = math.cos(a), math.sin(a)
    centre = ((1.0, 0.0, -CANVAS / 2), (0.0, 1.0, -CANVAS / 2), (0.0, 0.0, 1.0))
    turn = ((c, -s, 0.0), (s, c, 0.0), (0.0, 0.0, 1.0))
    k = perspective * 0.0006
    tilt = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (rng.uniform(-k, k), rng.uniform(-k, k), 1.0))
    scale = min(out_w, out_h) * rng.uniform(0.36, 0.5) / BODY_RADIUS
    shift_x = out_w / 2 + rng.uniform(-0.08, 0.08) * out_w
    shift_y = out_h / 2 + rng.uniform(-0.08, 0.08) * out_h
    place = ((scale, 0.0, shift_x), (0.0, scale, shift_y), (0.0, 0.0, 1.0))
    return _matmul(place, _matmul(tilt, _matmul(turn, centre)))


def _matmul(a: Matrix, b: Matrix) -> Matrix:
    return tuple(  # type: ignore[return-value]
        tuple(sum(a[i][k] * b[k][j] for k in range(3)) for j in range(3)) for i in range(3)
    )


def _invert(m: Matrix) -> Matrix:
    (a, b, c), (d, e, f), (g, h, i) = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    adj = (
        (e * i - f * h, c * h - b * i, b * f - c * e),
        (f * g - d * i, a * i - c * g, c * d - a * f),
        (d * h - e * g, b * g - a * h, a * e - b * d),
    )
    return tuple(tuple(v / det for v in row) for row in adj)  # type: ignore[return-value]


def _perspective_coefficients(m: Matrix) -> tuple[float, ...]:
    n = m[2][2]
    return tuple(v / n for row in m for v in row)[:8]


def _apply(m: Matrix, p: Point) -> Point:
    x, y = p
    w = m[2][0] * x + m[2][1] * y + m[2][2]
    return ((m[0][0] * x + m[0][1] * y + m[0][2]) / w, (m[1][0] * x + m[1][1] * y + m[1][2]) / w)


def _centre(quad: tuple[Point, ...]) -> Point:
    return (sum(p[0] for p in quad) / len(quad), sum(p[1] for p in quad) / len(quad))


def _apply_glare(
    rng: random.Random, img: Image.Image, strength: float, near: list[Point]
) -> Image.Image:
    """A soft white highlight, over the counter half of the time: the cover glass reflecting."""
    if strength <= 0:
        return img
    w, h = img.size
    if rng.random() < 0.5:
        gx, gy = _centre(tuple(near))
    else:
        gx, gy = rng.uniform(0, w), rng.uniform(0, h)
    rx, ry = rng.uniform(0.05, 0.15) * w, rng.uniform(0.03, 0.1) * h
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).ellipse(
        (gx - rx, gy - ry, gx + rx, gy + ry), fill=round(255 * min(strength, 1.0) * 0.85)
    )
    mask = mask.filter(ImageFilter.GaussianBlur(max(rx, ry) * 0.5))
    return Image.composite(Image.new("RGB", (w, h), (255, 255, 250)), img, mask)


def _random_cast(rng: random.Random) -> tuple[float, float, float]:
    """No cast for two photos in three; otherwise a tint of up to 30% towards one colour."""
    if rng.random() < 2 / 3:
        return (1.0, 1.0, 1.0)
    return (rng.uniform(0.7, 1.0), rng.uniform(0.7, 1.0), rng.uniform(0.7, 1.0))


def _add_noise(rng: random.Random, img: Image.Image, sigma: float) -> Image.Image:
    """Add grain from ``rng`` (Pillow's own noise generator cannot be seeded)."""
    w, h = img.size
    uniform = Image.frombytes("L", (w, h), rng.randbytes(w * h))
    gain = sigma / 73.6  # a uniform byte has a standard deviation of 73.6 grey levels
    noise = uniform.point(lambda v: max(0, min(255, round(128 + (v - 128) * gain))))
    return ImageChops.add(img, Image.merge("RGB", (noise, noise, noise)), 1.0, -128)


__all__ = [
    "MeterTruth",
    "PhotoConditions",
    "SynthPhoto",
    "generate_meter_photo",
    "random_conditions",
    "write_meter_photos",
]
