"""Drum colours: the one place that says which pixels are red (decimal drums, red digits) and
which are dark (dark drums), and what that makes of a strip's drums.

Images are BGR uint8 arrays, as OpenCV holds them.
"""

from __future__ import annotations

import cv2
import numpy as np

#: A pixel is dark (a dark drum) under this brightness (the largest of its channels).
DARK_BELOW = 95
#: A red cell's redness (see ``red_cells``) stands this far above the row's ordinary cells.
RED_ABOVE_ROW = 25
#: A dark-ground cell is a red drum where its ground's redness stands this far above the
#: row's ordinary cells'.
RED_GROUND_ABOVE_ROW = 30
#: The share of those margins that makes a last drum red after red ones.
LAST_RED_SHARE = 1 / 3
#: A drum whose ground (median brightness) is above this is a light drum.
LIGHT_GROUND = 120


def red_mask(bgr: np.ndarray) -> np.ndarray:
    """Which pixels are clearly red: red drums and red digits (``bgr`` is uint8)."""
    if bgr.size == 0:
        return np.zeros(bgr.shape[:2], bool)
    b, g, r = bgr[..., 0], bgr[..., 1], bgr[..., 2]
    # uint8 arithmetic in OpenCV saturates at 0 where green or blue outshine red, which the
    # test reads as not red, as it should: a fifth of the time of widening to int16.
    return (r > 90) & (cv2.subtract(r, cv2.max(g, b)) > 45)


def dark_mask(bgr: np.ndarray) -> np.ndarray:
    """Which pixels are dark, as a dark drum's ground is."""
    if bgr.size == 0:
        return np.zeros(bgr.shape[:2], bool)
    return cv2.max(cv2.max(bgr[..., 0], bgr[..., 1]), bgr[..., 2]) < DARK_BELOW


def looks_like_drum(pixels: np.ndarray, x: float, pitch: float) -> bool:
    """Whether the band around column ``x`` has a drum's dark or red background (a digit's
    light strokes do not count: the darker 40% of the band is what is looked at)."""
    lo, hi = max(0, round(x - 0.35 * pitch)), min(pixels.shape[1], round(x + 0.35 * pitch))
    band = pixels[6:-6, lo:hi]
    if band.size == 0 or hi - lo < 0.5 * pitch:
        return False
    red = red_mask(band).mean()
    value = band.max(axis=-1)
    ground, strokes = np.percentile(value, [40, 95])
    # Glare lifts a drum to mid-grey; its light digit still stands out on it, unlike on a face.
    washed = ground < 180 and strokes - ground > 60
    return bool(red > 0.3 or ground < 100 or washed)


def red_on_left(pixels: np.ndarray, xs: np.ndarray, pitch: float) -> bool:
    """Whether the red drums are on the left of the row, as they are in a row read upside down.

    Looks at the drum colours themselves, so it holds even when the upside-down digits were
    not read as digits at all.
    """
    if len(xs) == 0:
        return False
    lo, hi = max(0, int(xs.min() - 0.5 * pitch)), min(pixels.shape[1], int(xs.max() + 0.5 * pitch))
    red_cols = red_mask(pixels[4:-4, lo:hi]).mean(0) > 0.2
    if red_cols.sum() < 0.3 * pitch:
        return False
    centre = np.flatnonzero(red_cols).mean() / max(1, len(red_cols) - 1)
    return bool(centre < 0.5)


def drum_share(pixels: np.ndarray, xs: np.ndarray) -> float:
    """Share of dark or red pixels between the first and the last digit."""
    if len(xs) == 0:
        return 0.0
    lo, hi = max(0, int(xs.min()) - 4), min(pixels.shape[1], int(xs.max()) + 4)
    patch = pixels[:, lo:hi]
    return float((dark_mask(patch) | red_mask(patch)).mean()) if patch.size else 0.0


def _columns(x: float, half: float, width: int) -> slice:
    """The columns within ``half`` (at least 2) of column ``x``, clipped to the strip."""
    n = max(2, round(half))
    return slice(max(0, round(x) - n), min(width, round(x) + n))


def red_cells(pixels: np.ndarray, xs: list[float], pitch: float) -> tuple[bool, ...]:
    """Which drums centred at columns ``xs`` are red: red drums with light digits, or red
    digits on light drums.

    A cell's redness is how far red outshines green and blue in its reddest tenth of pixels
    (the digit's strokes, or the drum itself). A cell is red when that stands well above the
    row's ordinary cells (the median of its less red half): a colour cast over the whole photo
    lifts every cell alike and makes none red, and a dim red drum in a blue-tinted photo still
    stands out from its black neighbours.
    """
    h = pixels.shape[0]
    # Per pixel once for the strip, then cut per cell: the same sums, a third of the time.
    band = pixels[h // 6 : h - h // 6].astype(np.int16)
    excess_px = band[..., 2] - np.maximum(band[..., 0], band[..., 1])
    red_px = red_mask(pixels[h // 6 : h - h // 6])
    bright_px = band.max(axis=-1)
    redness, filled, ground = [], [], []
    for x in xs:
        # The drum's core for its strokes' colour (a red neighbour's edge, or the red plate a
        # light drum is set in, must not count), a narrow window for its brightness, the usual
        # one for a red drum's ground.
        core, narrow, wide = (_columns(x, share * pitch, pixels.shape[1]) for share in (0.2, 0.3, 0.4))
        if core.stop <= core.start or band.shape[0] == 0:
            redness.append(0.0)
            filled.append(False)
            ground.append(float("nan"))
            continue
        # Red strokes on a light drum; a dark drum's light strokes pick up red from a red
        # neighbour in a JPEG's coarse colour, so there only a red ground counts.
        light = float(np.median(bright_px[:, narrow])) > LIGHT_GROUND
        redness.append(float(np.percentile(excess_px[:, core], 90)) if light else -255.0)
        filled.append(bool(red_px[:, wide].mean() > 0.2 and red_px[:, core].mean() > 0.1))
        # A dim red drum (shade, a blue cast) among dark ones: its ground, the median of the
        # cell, is redder than theirs, whatever red its light digit picked up.
        ground.append(float("nan") if light else float(np.median(excess_px[:, wide])))
    if not redness:
        return ()

    def ordinary(values: list[float]) -> float:
        return float(np.median(sorted(values)[: max(1, len(values) // 2)]))

    usual = ordinary(redness)
    lights = [r for r in redness if r > -255.0]
    usual_light = ordinary(lights) if len(lights) >= 3 else float("inf")
    dark = [g for g in ground if g == g]  # not NaN: the cells of dark drums
    usual_ground = ordinary(dark) if dark else float("nan")

    def red(r: float, f: bool, g: float, share: float = 1.0) -> bool:
        # Red strokes outshine green and blue; under a strong blue cast none do, but among
        # light drums a lift twice the margin above their ordinary redness is red all the same.
        cast = r > -255.0 and r - usual_light > 2 * share * RED_ABOVE_ROW
        return f or (r - usual > share * RED_ABOVE_ROW and (r > 5 or cast)) or bool(
            g - usual_ground > share * RED_GROUND_ABOVE_ROW)

    flags = [red(*cell) for cell in zip(redness, filled, ground, strict=True)]
    # The last drum after red ones needs a third of the evidence: the window's edge or the
    # frame covers part of it, and its digit is often rolling (a gas meter's 02677.03|8).
    if len(flags) >= 3 and flags[-3] and flags[-2] and not flags[-1]:
        flags[-1] = red(redness[-1], filled[-1], ground[-1], LAST_RED_SHARE)
    return tuple(flags)
