"""Synthetic water-meter photos that come with their true reading (Pillow only, no numpy).

Each photo shows a meter face drawn upright: a counter window of black integer drums and red
decimal drums (some caught half-way between two digits), the brand, a serial number, the unit,
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

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from xlwings_meter.photos import Photo
from xlwings_meter.reading import Quad

Point = tuple[float, float]
Matrix = tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]
RGB = tuple[int, int, int]

#: Radius of the meter body on the upright drawing; the canvas leaves room around it so that
#: a turned and shifted view never shows the canvas edge.
_BODY_RADIUS = 300
_CANVAS = 1500
_OUTPUT_SIZES = ((960, 720), (720, 960), (800, 800), (1024, 768), (768, 1024))
#: Roll fractions in this band show two digits almost equally: even a person could not say
#: which one the drum shows, so the generator never draws them (see ``_draw_drum``).
_AMBIGUOUS_ROLL = (0.38, 0.62)
_BRANDS = (
    "AQUAMET",
    "HYDROFLOW",
    "Aquarius",
    "VODOMER",
    "SENSAQUA",
    "ITRONIX",
    "Zenner-X",
    "MADDA",
)


@dataclass(frozen=True)
class PhotoConditions:
    """How hard a photo is. ``rotation=None`` draws any angle in [-180, 180).

    ``rotation`` is the angle of the digit row before perspective, in the API's convention
    (degrees, clockwise on screen from the image's x axis). ``blur`` is a Gaussian radius in
    pixels of the output photo, ``glare`` the strength (0..1) of a specular highlight,
    ``noise`` the sensor noise in grey levels, ``perspective`` a keystone strength (0..1),
    ``roll`` the chance that any one drum is caught between two digits.
    """

    rotation: float | None = None
    blur: float = 0.0
    glare: float = 0.0
    noise: float = 4.0
    perspective: float = 0.3
    jpeg_quality: int = 85
    roll: float = 0.25


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
    face, digit_quads, value, n_int, n_dec, rolled = _draw_face(rng, conditions.roll)

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


def write_meter_photos(
    folder: Path, count: int, seed: int = 0, conditions: PhotoConditions | None = None
) -> list[tuple[Path, MeterTruth]]:
    """Write ``count`` photos ``meter-0000.jpg``... and ``truth.csv`` into ``folder``.

    Photo ``i`` is ``generate_meter_photo(seed + i, conditions)``. Returns each path with its
    truth, in order. ``truth.csv`` lists file, value and angle, for a person checking a demo.
    """
    folder.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, MeterTruth]] = []
    for i in range(count):
        photo = generate_meter_photo(seed + i, conditions)
        path = folder / f"meter-{i:04d}.jpg"
        path.write_bytes(photo.data)
        written.append((path, photo.truth))
    with open(folder / "truth.csv", "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["file", "value", "angle"])
        for path, truth in written:
            out.writerow([path.name, truth.value, f"{truth.angle:.2f}"])
    return written


# --- the upright meter face ------------------------------------------------------------------


def _font(size: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(6, round(size)))


def _draw_face(
    rng: random.Random, roll_chance: float
) -> tuple[Image.Image, list[Quad], str, int, int, tuple[bool, ...]]:
    """The upright scene: returns it with the digit quads (canvas pixels) and the truth."""
    bg = tuple(rng.randint(60, 200) for _ in range(3))
    img = Image.new("RGB", (_CANVAS, _CANVAS), bg)
    draw = ImageDraw.Draw(img)
    _draw_clutter(rng, draw)

    cx, cy, r = _CANVAS / 2, _CANVAS / 2, _BODY_RADIUS
    rim = rng.choice([(176, 140, 62), (40, 80, 160), (30, 30, 34), (200, 200, 205), (20, 110, 70)])
    draw.ellipse((cx - r * 1.1, cy - r * 1.1, cx + r * 1.1, cy + r * 1.1), fill=rim)
    face = tuple(rng.randint(225, 250) for _ in range(3))
    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=face, outline=(60, 60, 60), width=3)

    n_int = rng.choice([4, 5, 5, 5, 6])
    n_dec = rng.choices([0, 1, 2, 3, 4], weights=[1, 1, 2, 4, 2])[0]
    n = n_int + n_dec
    leading_zeros = rng.randint(0, n_int - 1)
    digits = [0] * leading_zeros + [
        rng.randint(1 if i == 0 else 0, 9) for i in range(n - leading_zeros)
    ]

    size = min(0.2 * r, 1.45 * r / (n * 0.9))
    drum_w, drum_h, gap = size * 0.78, size * 1.3, size * 0.12
    win_w = n * drum_w + (n - 1) * gap
    x0, y0 = cx - win_w / 2 - rng.uniform(-0.05, 0.05) * r, cy - r * rng.uniform(0.42, 0.28)
    pad = size * 0.18
    draw.rounded_rectangle(
        (x0 - pad, y0 - pad, x0 + win_w + pad, y0 + drum_h + pad), radius=pad, fill=(70, 70, 74)
    )

    quads: list[Quad] = []
    shown: list[str] = []
    rolled: list[bool] = []
    for i, d in enumerate(digits):
        red = i >= n_int
        roll = 0.0
        if rng.random() < roll_chance:
            roll = rng.choice(
                [rng.uniform(0.08, _AMBIGUOUS_ROLL[0]), rng.uniform(_AMBIGUOUS_ROLL[1], 0.92)]
            )
        drum = _draw_drum(rng, d, roll, red, drum_w, drum_h, size)
        left = x0 + i * (drum_w + gap)
        img.paste(drum, (round(left), round(y0)))
        quads.append(
            ((left, y0), (left + drum_w, y0), (left + drum_w, y0 + drum_h), (left, y0 + drum_h))
        )
        shown.append(str((d + 1) % 10 if roll > 0.5 else d))
        rolled.append(roll > 0)

    _draw_furniture(rng, draw, cx, cy, r, x0, y0, win_w, drum_h, size, n_dec > 0)
    value = "".join(shown[:n_int]) + ("." + "".join(shown[n_int:]) if n_dec else "")
    return img, quads, value, n_int, n_dec, tuple(rolled)


def _draw_drum(
    rng: random.Random, digit: int, roll: float, red: bool, w: float, h: float, size: float
) -> Image.Image:
    """One drum as seen through its window: ``digit`` moved up by ``roll`` of a digit pitch.

    At ``roll`` 0 the digit sits centred; at 0.7 mostly the next digit shows, so that is the
    true one. A drum between two digits shows the top of the next one below the tail of this one.
    """
    iw, ih = max(1, round(w)), max(1, round(h))
    bg: RGB = (
        (rng.randint(175, 205), rng.randint(15, 40), rng.randint(20, 45))
        if red
        else (
            rng.randint(15, 40),
            rng.randint(15, 40),
            rng.randint(15, 40),
        )
    )
    ink = (rng.randint(225, 255),) * 3
    strip = Image.new("RGB", (iw, ih * 3), bg)
    draw = ImageDraw.Draw(strip)
    font = _font(size)
    for k, shown in enumerate((digit - 1, digit, digit + 1)):
        draw.text(
            (iw / 2, ih * (k + 0.5)),
            str(shown % 10),
            fill=ink,
            font=font,
            anchor="mm",
            stroke_width=1 if rng.random() < 0.3 else 0,
            stroke_fill=ink,
        )
    top = round(ih * (1 + roll))
    drum = strip.crop((0, top, iw, top + ih))
    # The curved drum falls into shadow towards the window's top and bottom edges.
    shade = ImageDraw.Draw(drum, "RGBA")
    band = max(1, ih // 7)
    for j in range(band):
        alpha = round(110 * (1 - j / band))
        shade.line((0, j, iw, j), fill=(0, 0, 0, alpha))
        shade.line((0, ih - 1 - j, iw, ih - 1 - j), fill=(0, 0, 0, alpha))
    return drum


def _draw_furniture(
    rng: random.Random,
    draw: ImageDraw.ImageDraw,
    cx: float,
    cy: float,
    r: float,
    x0: float,
    y0: float,
    win_w: float,
    drum_h: float,
    size: float,
    with_dials: bool,
) -> None:
    """Everything on a meter face that a reader must not mistake for the counter."""
    dark = (30, 30, 30)
    draw.text(
        (cx, y0 - size * 0.95), rng.choice(_BRANDS), fill=dark, font=_font(size * 0.7), anchor="mm"
    )
    unit_x = x0 + win_w + size * 0.35
    draw.text((unit_x, y0 + drum_h / 2), "m", fill=dark, font=_font(size * 0.6), anchor="lm")
    draw.text(
        (unit_x + size * 0.42, y0 + drum_h / 2 - size * 0.2),
        "3",
        fill=dark,
        font=_font(size * 0.32),
        anchor="lm",
    )

    serial = rng.choice(["SN ", "No ", "", "Nr. "]) + "".join(
        str(rng.randint(0, 9)) for _ in range(rng.randint(6, 10))
    )
    line_y = y0 + drum_h + size * 0.8
    draw.text((cx, line_y), serial, fill=dark, font=_font(size * 0.5), anchor="mm")
    specs = rng.sample(
        ["Qn 1.5 m3/h", "Q3 2.5", "DN 20", "Class B", "R160", "PN16", "2019", "T30", "H-R100"], 3
    )
    draw.text(
        (cx, line_y + size * 0.7), "  ".join(specs), fill=dark, font=_font(size * 0.38), anchor="mm"
    )

    if with_dials:
        for k in range(rng.randint(1, 3)):
            dx = cx + (k - 1) * r * 0.42 + rng.uniform(-5, 5)
            dy = cy + r * 0.55
            rad = r * 0.15
            draw.ellipse((dx - rad, dy - rad, dx + rad, dy + rad), outline=dark, width=2)
            for t in range(10):
                a = math.radians(t * 36 - 90)
                draw.text(
                    (dx + math.cos(a) * rad * 0.72, dy + math.sin(a) * rad * 0.72),
                    str(t),
                    fill=dark,
                    font=_font(rad * 0.32),
                    anchor="mm",
                )
            a = rng.uniform(0, 2 * math.pi)
            draw.line(
                (dx, dy, dx + math.cos(a) * rad * 0.55, dy + math.sin(a) * rad * 0.55),
                fill=(200, 20, 20),
                width=4,
            )
            draw.text(
                (dx, dy + rad * 1.3),
                f"x0.{'0' * (k + 3)}1",
                fill=dark,
                font=_font(rad * 0.33),
                anchor="mm",
            )


def _draw_clutter(rng: random.Random, draw: ImageDraw.ImageDraw) -> None:
    """Pipes and a wall: edges and texture around the meter."""
    for _ in range(rng.randint(2, 6)):
        colour = tuple(rng.randint(40, 220) for _ in range(3))
        x, y = rng.uniform(0, _CANVAS), rng.uniform(0, _CANVAS)
        a = rng.uniform(0, math.pi)
        length = _CANVAS * 1.5
        draw.line(
            (
                x - math.cos(a) * length,
                y - math.sin(a) * length,
                x + math.cos(a) * length,
                y + math.sin(a) * length,
            ),
            fill=colour,
            width=rng.randint(20, 120),
        )
    if rng.random() < 0.5:
        label = "".join(str(rng.randint(0, 9)) for _ in range(rng.randint(3, 6)))
        draw.text(
            (rng.uniform(100, 400), rng.uniform(100, 400)), label, fill=(20, 20, 20), font=_font(40)
        )


# --- the camera ------------------------------------------------------------------------------


def _view_matrix(
    rng: random.Random, rotation: float, perspective: float, out_w: int, out_h: int
) -> Matrix:
    """Canvas pixels to photo pixels: centre, turn, tilt, scale, place."""
    a = math.radians(rotation)
    c, s = math.cos(a), math.sin(a)
    centre = ((1.0, 0.0, -_CANVAS / 2), (0.0, 1.0, -_CANVAS / 2), (0.0, 0.0, 1.0))
    turn = ((c, -s, 0.0), (s, c, 0.0), (0.0, 0.0, 1.0))
    k = perspective * 0.0006
    tilt = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (rng.uniform(-k, k), rng.uniform(-k, k), 1.0))
    scale = min(out_w, out_h) * rng.uniform(0.36, 0.5) / _BODY_RADIUS
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
