"""The upright meter face the generator photographs: counter drums, dials, brand, serial
number and clutter (Pillow only). :mod:`xlwings_meter.demo.synth` turns it into a photo.

Drums come in two styles: ``dark`` (light digits on black drums, red decimal drums) and
``white`` (dark digits on white drums; the decimals are red digits on white, or white digits on
red drums), the style of most real water meters.
"""

from __future__ import annotations

import math
import random

from PIL import Image, ImageDraw, ImageFont

from xlwings_meter.reading import Quad

RGB = tuple[int, int, int]
DRUM_STYLES = ("dark", "white")
#: Radius of the meter body on the upright drawing; the canvas leaves room around it so that
#: a turned and shifted view never shows the canvas edge.
BODY_RADIUS = 300
CANVAS = 1500
#: Roll fractions in this band show two digits almost equally: even a person could not say
#: which one the drum shows, so the generator never draws them (see ``draw_drum``).
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



def _font(size: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(6, round(size)))


def draw_face(
    rng: random.Random, roll_chance: float, style: str = "dark"
) -> tuple[Image.Image, list[Quad], str, int, int, tuple[bool, ...]]:
    """The upright scene with drums of ``style``: returns it with the digit quads (canvas
    pixels), the value, the integer and decimal digit counts, and which drums were rolled."""
    bg = tuple(rng.randint(60, 200) for _ in range(3))
    img = Image.new("RGB", (CANVAS, CANVAS), bg)
    draw = ImageDraw.Draw(img)
    _draw_clutter(rng, draw)

    cx, cy, r = CANVAS / 2, CANVAS / 2, BODY_RADIUS
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

    drum_style = style
    if style == "white" and rng.random() < 0.5:
        drum_style = "white-red"  # white digits on red decimal drums
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
        drum = draw_drum(rng, d, roll, red, drum_w, drum_h, size, drum_style)
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


def draw_drum(
    rng: random.Random,
    digit: int,
    roll: float,
    red: bool,
    w: float,
    h: float,
    size: float,
    style: str = "dark",
) -> Image.Image:
    """One drum as seen through its window: ``digit`` moved up by ``roll`` of a digit pitch.

    At ``roll`` 0 the digit sits centred; at 0.7 mostly the next digit shows, so that is the
    true one. A drum between two digits shows the top of the next one below the tail of this one.
    """
    iw, ih = max(1, round(w)), max(1, round(h))
    if style == "dark":
        bg: RGB = (
            (rng.randint(175, 205), rng.randint(15, 40), rng.randint(20, 45))
            if red
            else (rng.randint(15, 40), rng.randint(15, 40), rng.randint(15, 40))
        )
        ink: RGB = (rng.randint(225, 255),) * 3
    else:  # "white": dark digits on white; decimals red on white, or white on red ("white-red")
        bg, ink = (rng.randint(215, 250),) * 3, (rng.randint(10, 45),) * 3
        if red:
            red_ink = (rng.randint(175, 215), rng.randint(15, 40), rng.randint(20, 45))
            bg, ink = (red_ink, bg) if style == "white-red" else (bg, red_ink)
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
        x, y = rng.uniform(0, CANVAS), rng.uniform(0, CANVAS)
        a = rng.uniform(0, math.pi)
        length = CANVAS * 1.5
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
