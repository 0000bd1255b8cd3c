"""Meter-specific reading: find counter windows, straighten them, turn digit scores into a value.

Pure array logic (numpy and OpenCV, from the ``[local]`` extra), no model and no file: the local
engine feeds it images and the recogniser's per-column probabilities. Coordinates are pixels of
the image handed in, x to the right, y down. A *row* is a counter candidate: a rotated rectangle
whose long side runs along the digits; it is read in both directions, since a photo may be upside
down, and the direction that reads better (and puts the red drums on the right) wins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

#: Height of the recogniser's input: PP-OCR recognisers take 48-pixel-high text lines, and
#: emit one column of character probabilities per 8 pixels of width.
REC_HEIGHT = 48
REC_STRIDE = 8
#: Digits read less surely than this are read again at vertical shifts (see ``reread``).
DOUBTFUL = 0.9
#: Those shifts, in strip heights: enough to centre the larger part of a drum caught between
#: two digits, not enough to centre the smaller one.
REREAD_SHIFTS = (-0.3, -0.15, 0.15, 0.3)
#: A drum-like slot past the row's end is taken as a digit when a shift reads one this surely.
UNREAD_TAKEN = 0.5


@dataclass(frozen=True)
class Row:
    """A candidate counter: a rotated rectangle, ``angle`` along its long side (degrees)."""

    cx: float
    cy: float
    length: float
    height: float
    angle: float
    source: str  # "window": a block of dark and red drums; "text": detected text boxes in line


@dataclass(frozen=True)
class Strip:
    """A row cut out and straightened to ``REC_HEIGHT``, read left to right along ``angle``.

    ``to_image`` maps strip pixels back to image pixels (a 2x3 affine matrix).
    """

    pixels: np.ndarray  # BGR, REC_HEIGHT high
    angle: float
    to_image: np.ndarray
    row: Row
    margin: float  # strip pixels on each end that lie outside the row


@dataclass(frozen=True)
class Digit:
    """One digit read off a strip, with its probability and its centre column in the strip."""

    char: str
    prob: float
    x: float
    guessed: bool = False  # filled in where the recogniser saw no digit: a drum between two


@dataclass(frozen=True)
class CounterRead:
    """What one strip says: digits in order, which are red, and how believable it is."""

    strip: Strip
    digits: tuple[Digit, ...]
    red: tuple[bool, ...]
    foreign: int  # characters inside the row that are not digits (letters, symbols)
    pitch: float  # median distance between digit centres, strip pixels
    gaps: int  # drums past the ends of the strip, which could not be read
    drums: float  # share of the row's background that is dark or red, as drums are
    backwards: bool  # red drums sit on the left: the row is being read upside down
    unread: tuple[float, ...] = ()  # strip columns of those drums past the ends

    @property
    def decimals(self) -> int:
        """Trailing red drums: the decimals."""
        n = 0
        for is_red in reversed(self.red):
            if not is_red:
                break
            n += 1
        return n

    @property
    def red_elsewhere(self) -> bool:
        """Red drums that are not at the right end: the sign of a row read backwards."""
        return any(self.red[: len(self.red) - self.decimals])

    @property
    def value(self) -> str:
        """The digits as a meter value string, decimal point placed before the red drums."""
        chars = "".join(d.char for d in self.digits)
        n_dec = self.decimals
        if n_dec == 0 or n_dec >= len(chars):
            return chars
        return chars[:-n_dec] + "." + chars[-n_dec:]


# --- finding rows ----------------------------------------------------------------------------


def find_windows(bgr: np.ndarray) -> list[Row]:
    """Blocks of dark and red drums: the counter windows of most meters, at any angle.

    A window is a long, filled, dark-or-red rectangle; the white digits inside it are holes that
    an outer contour ignores.
    """
    h, w = bgr.shape[:2]
    b, g, r = (bgr[:, :, i].astype(np.int16) for i in range(3))
    value = np.maximum(np.maximum(r, g), b)
    dark = value < 95
    red = (r > 100) & (r - np.maximum(g, b) > 55)
    mask: np.ndarray = (dark | red).astype(np.uint8) * 255
    k = max(3, round(max(h, w) / 160))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((k, k), np.uint8))
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((k, k), np.uint8))
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    rows = []
    min_area = 0.002 * h * w
    for contour in contours:
        area = cv2.contourArea(contour)
        if area < min_area:
            continue
        row = _row_from_points(contour.reshape(-1, 2).astype(np.float32), "window")
        ratio = row.length / max(row.height, 1.0)
        if 1.8 <= ratio <= 14 and area / (row.length * row.height) > 0.6:
            rows.append(row)
    return rows


def rows_from_text_boxes(boxes: np.ndarray) -> list[Row]:
    """Join a text detector's boxes (N x 4 x 2) that sit on one line into rows.

    Text detectors often split a counter at the gaps between drums or where the colour turns
    red; boxes of similar height whose centres lie on each other's axis belong together.
    """
    parts = [_row_from_points(np.asarray(b, np.float32), "text") for b in boxes]
    parent = list(range(len(parts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, a in enumerate(parts):
        for j in range(i + 1, len(parts)):
            if _same_line(a, parts[j]):
                parent[root(i)] = root(j)
    groups: dict[int, list[np.ndarray]] = {}
    for i, box in enumerate(boxes):
        groups.setdefault(root(i), []).append(np.asarray(box, np.float32))
    rows = []
    for members in groups.values():
        row = _row_from_points(np.concatenate(members), "text")
        if row.length >= 2.0 * row.height:
            rows.append(row)
    return rows


def merge_rows(windows: list[Row], texts: list[Row]) -> list[Row]:
    """Windows stretched over the text rows that overlap them, then the other text rows.

    A text detector often returns a counter in pieces, and a window found by colour can lose
    an end to glare: a piece read alone gives a confident but short value, so pieces along a
    window are dropped and the window is stretched (along its own axis) to cover them.
    """
    merged, used = [], set()
    for window in windows:
        a = math.radians(window.angle)
        u = np.array([math.cos(a), math.sin(a)])
        lo, hi = -window.length / 2, window.length / 2
        for i, text in enumerate(texts):
            if _along(window, text):
                used.add(i)
                ends = (np.array([text.cx, text.cy]) - [window.cx, window.cy]) @ u
                lo, hi = min(lo, ends - text.length / 2), max(hi, ends + text.length / 2)
        centre = np.array([window.cx, window.cy]) + u * (lo + hi) / 2
        merged.append(
            Row(
                float(centre[0]),
                float(centre[1]),
                float(hi - lo),
                window.height,
                window.angle,
                "window",
            )
        )
    return merged + [t for i, t in enumerate(texts) if i not in used]


def _along(window: Row, text: Row) -> bool:
    """Whether ``text`` is a piece of the window's row: same line, digit-high, overlapping."""
    turn = abs((text.angle - window.angle + 90) % 180 - 90)
    if turn > 12 or not 0.5 * window.height <= text.height <= 1.3 * window.height:
        return False
    a = math.radians(window.angle)
    dx, dy = text.cx - window.cx, text.cy - window.cy
    along = abs(dx * math.cos(a) + dy * math.sin(a))
    across = abs(-dx * math.sin(a) + dy * math.cos(a))
    return across < 0.3 * window.height and along < (window.length + text.length) / 2


def _same_line(a: Row, b: Row) -> bool:
    hi, lo = max(a.height, b.height), min(a.height, b.height)
    if hi > 1.6 * lo:
        return False
    dx, dy = b.cx - a.cx, b.cy - a.cy
    dist = math.hypot(dx, dy)
    # Use the axis of the longer box; a square box (one digit) has no axis of its own.
    axis = a if a.length / a.height >= b.length / b.height else b
    if axis.length < 1.3 * axis.height:
        axis_deg = math.degrees(math.atan2(dy, dx))
    else:
        axis_deg = axis.angle
    u = (math.cos(math.radians(axis_deg)), math.sin(math.radians(axis_deg)))
    along, across = abs(dx * u[0] + dy * u[1]), abs(-dx * u[1] + dy * u[0])
    gap = along - (a.length + b.length) / 2 if dist else 0.0
    return across < 0.35 * hi and gap < 1.2 * hi


def _row_from_points(points: np.ndarray, source: str) -> Row:
    (cx, cy), (w, h), angle = cv2.minAreaRect(points)
    if w < h:
        w, h, angle = h, w, angle + 90.0
    angle = (angle + 90.0) % 180.0 - 90.0  # the axis, as a line: (-90, 90]
    return Row(float(cx), float(cy), float(w), float(h), float(angle), source)


# --- straightening ---------------------------------------------------------------------------


def cut_strips(
    bgr: np.ndarray, row: Row, squeeze: float = 1.0, max_width: int = 1200
) -> list[Strip]:
    """The row straightened to ``REC_HEIGHT`` pixels, once in each reading direction.

    ``squeeze`` < 1 narrows the strip: a window seen at a slant comes out too short for its
    width, and the recogniser then reads each of its broad digits twice.
    """
    margin_y = 0.08 * row.height
    # Reach about one drum past each end: a text detector's box often stops short of a drum
    # caught between two digits, and a window found by colour may have lost an end to glare.
    margin_x = 0.8 * row.height
    src_w, src_h = row.length + 2 * margin_x, row.height + 2 * margin_y
    scale = REC_HEIGHT / src_h
    out_w = int(min(max_width, max(REC_HEIGHT, round(src_w * scale * squeeze))))
    strips = []
    for angle in (row.angle, row.angle + 180.0 if row.angle <= 0 else row.angle - 180.0):
        a = math.radians(angle)
        u = np.array([math.cos(a), math.sin(a)])  # along the row, reading direction
        v = np.array([-u[1], u[0]])  # down the digits
        origin = np.array([row.cx, row.cy]) - u * src_w / 2 - v * src_h / 2
        to_image = np.column_stack([u * src_w / out_w, v * src_h / REC_HEIGHT, origin])
        pixels = cv2.warpAffine(
            bgr,
            to_image,
            (out_w, REC_HEIGHT),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
        strips.append(Strip(pixels, angle, to_image, row, margin_x * out_w / src_w))
    return strips


def batch_for_recogniser(strips: list[Strip]) -> np.ndarray:
    """Normalised NCHW float32 batch, right-padded to the widest strip."""
    width = max(s.pixels.shape[1] for s in strips)
    batch = np.zeros((len(strips), 3, REC_HEIGHT, width), np.float32)
    for i, s in enumerate(strips):
        img = s.pixels.astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0
        batch[i, :, :, : img.shape[2]] = img
    return batch


def shifted_strip(bgr: np.ndarray, strip: Strip, shift: float) -> Strip:
    """``strip`` cut again ``shift`` strip heights further down the digits (up if negative)."""
    to_image = strip.to_image.copy()
    to_image[:, 2] += to_image[:, 1] * shift * REC_HEIGHT
    pixels = cv2.warpAffine(
        bgr,
        to_image,
        (strip.pixels.shape[1], REC_HEIGHT),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return replace(strip, pixels=pixels, to_image=to_image)


# --- decoding --------------------------------------------------------------------------------


def read_strip(strip: Strip, probs: np.ndarray, digit_index: np.ndarray) -> CounterRead:
    """Decode one strip's CTC probabilities (T x C), digits only, and look at drum colours.

    ``digit_index[d]`` is the recogniser's class for digit ``d``; class 0 is the CTC blank.
    A column whose best class is another character with some certainty is *foreign*; foreign
    characters between the first and the last digit count against the row (a counter has none;
    a unit after it or a label before it is fine).
    """
    width = strip.pixels.shape[1]
    probs = probs[: max(1, math.ceil(width / REC_STRIDE))]
    digit_p = probs[:, digit_index]
    best_digit, best_digit_p = digit_p.argmax(1), digit_p.max(1)
    top = probs.argmax(1)
    other = ~np.isin(top, np.concatenate([[0], digit_index])) & (probs.max(1) > 0.5)
    labels = np.where(other, _OTHER, np.where(best_digit_p > probs[:, 0], best_digit, _BLANK))

    runs: list[list[float]] = []  # [label, first column, last column, best probability]
    for t, label in enumerate(labels):
        if runs and runs[-1][0] == label:
            runs[-1][2] = t
            runs[-1][3] = max(runs[-1][3], float(best_digit_p[t]))
        else:
            runs.append([int(label), t, t, float(best_digit_p[t])])
    digit_runs = [i for i, run in enumerate(runs) if run[0] >= 0]
    digits = tuple(
        Digit(str(int(runs[i][0])), runs[i][3], (runs[i][1] + runs[i][2] + 1) / 2 * REC_STRIDE)
        for i in digit_runs
    )
    inside = runs[digit_runs[0] : digit_runs[-1]] if digit_runs else []
    foreign = sum(1 for run in inside if run[0] == _OTHER)

    pitch = _pitch(digits)
    digits = _fill_gaps(digits, pitch, digit_p)
    if strip.row.source == "window":  # the window's own ends bound its drums
        bounds = (strip.margin + 0.35 * pitch, strip.pixels.shape[1] - strip.margin - 0.35 * pitch)
    else:
        bounds = (0.5 * pitch, strip.pixels.shape[1] - 0.5 * pitch)
    digits, unread = _fill_ends(strip.pixels, digits, pitch, digit_p, bounds)
    xs = np.array([d.x for d in digits])
    red = tuple(_is_red(strip.pixels, d.x, pitch) for d in digits)
    return CounterRead(
        strip,
        digits,
        red,
        foreign,
        pitch,
        len(unread),
        _drum_share(strip.pixels, xs),
        _red_on_left(strip.pixels, xs, pitch),
        unread,
    )


def is_doubtful(read: CounterRead) -> bool:
    """Whether some digit of ``read`` is guessed or unsure, or a drum was left unread."""
    return bool(read.unread) or any(d.guessed or d.prob < DOUBTFUL for d in read.digits)


def reread(
    read: CounterRead, shifted_probs: list[np.ndarray], digit_index: np.ndarray
) -> CounterRead:
    """Revise the doubtful digits of ``read`` with the recogniser's scores for its strip cut
    at ``REREAD_SHIFTS`` (``shifted_probs``, one T x C array per shift).

    A drum caught between two digits shows part of each, both off-centre; the recogniser reads
    a digit best when it is centred, and the digit with more of itself in the window then
    scores highest at one of the shifts. A doubtful digit becomes the best-scored digit at any
    shift when that beats what was read, and then counts as guessed (split evidence). A drum
    left unread past the row's end becomes a guessed digit when a shift shows one there.
    """
    columns = max(1, math.ceil(read.strip.pixels.shape[1] / REC_STRIDE))
    scores = np.stack([p[:columns, digit_index] for p in shifted_probs]).max(0)  # T x 10

    def best_at(x: float) -> tuple[str, float]:
        lo = max(0, int((x - 0.4 * read.pitch) / REC_STRIDE))
        hi = min(len(scores), int((x + 0.4 * read.pitch) / REC_STRIDE) + 1)
        if hi <= lo:
            return "", 0.0
        slot = scores[lo:hi].max(0)
        return str(int(slot.argmax())), float(slot.max())

    digits = []
    for d in read.digits:
        if d.guessed or d.prob < DOUBTFUL:
            char, prob = best_at(d.x)
            if char != d.char and prob > d.prob:
                # Split evidence: the new digit counts as guessed, whatever its score.
                d = replace(d, char=char, prob=prob, guessed=True)
        digits.append(d)
    # A drum past the window's end (which glare can hide) is taken if a shift shows a digit
    # of its own there: one emitted nearer to it than to any digit already read.
    emitted = [e for p in shifted_probs for e in _emissions(p, digit_index, columns)]
    unread = []
    for x in read.unread:
        own = [
            e
            for e in emitted
            if abs(e.x - x) < 0.5 * read.pitch
            and all(abs(e.x - x) < abs(e.x - d.x) for d in read.digits)
        ]
        best = max(own, key=lambda e: e.prob, default=None)
        if best is not None and best.prob > UNREAD_TAKEN:
            digits.append(Digit(best.char, best.prob, x, guessed=True))
        else:
            unread.append(x)
    if len(unread) == len(read.unread):
        return replace(read, digits=tuple(digits))
    digits.sort(key=lambda d: d.x)
    pixels, pitch = read.strip.pixels, read.pitch
    return replace(
        read,
        digits=tuple(digits),
        red=tuple(_is_red(pixels, d.x, pitch) for d in digits),
        gaps=len(unread),
        unread=tuple(unread),
    )


def _emissions(probs: np.ndarray, digit_index: np.ndarray, columns: int) -> list[Digit]:
    """The digits a strip's CTC probabilities emit (runs of columns where a digit beats the
    blank), each at the centre of its run."""
    digit_p = probs[:columns, digit_index]
    best, best_p = digit_p.argmax(1), digit_p.max(1)
    labels = np.where(best_p > probs[:columns, 0], best, -1)
    out, t = [], 0
    while t < len(labels):
        end = t
        while end + 1 < len(labels) and labels[end + 1] == labels[t]:
            end += 1
        if labels[t] >= 0:
            x = (t + end + 1) / 2 * REC_STRIDE
            out.append(Digit(str(int(labels[t])), float(best_p[t : end + 1].max()), x))
        t = end + 1
    return out


def _pitch(digits: tuple[Digit, ...]) -> float:
    """Distance between neighbouring drums: the smaller half of the spacings is the truest
    (a skipped digit doubles one spacing, never halves one)."""
    if len(digits) < 2:
        return REC_HEIGHT * 0.8
    steps = np.sort(np.diff([d.x for d in digits]))
    return float(np.median(steps[: max(1, (len(steps) + 1) // 2 + 1)]))


def _fill_gaps(digits: tuple[Digit, ...], pitch: float, digit_p: np.ndarray) -> tuple[Digit, ...]:
    """Put back the digits the decoder skipped between two others: a drum half-way between two
    digits often scores below the blank, yet its best digit is usually the right one. The
    guessed digit keeps its low probability, which the confidence then shows."""
    out: list[Digit] = []
    for d in digits:
        if out:
            start, step = out[-1].x, d.x - out[-1].x
            missing = round(step / pitch) - 1
            for k in range(1, missing + 1):
                x = start + step * k / (missing + 1)
                lo = max(0, int((x - 0.5 * pitch) / REC_STRIDE))
                hi = min(len(digit_p), int((x + 0.5 * pitch) / REC_STRIDE) + 1)
                if hi > lo:
                    scores = digit_p[lo:hi].max(0)
                    best = int(scores.argmax())
                    out.append(Digit(str(best), float(scores[best]), x, guessed=True))
        out.append(d)
    return tuple(out)


def _fill_ends(
    pixels: np.ndarray,
    digits: tuple[Digit, ...],
    pitch: float,
    digit_p: np.ndarray,
    bounds: tuple[float, float],
) -> tuple[tuple[Digit, ...], tuple[float, ...]]:
    """Guess the digits of drums beyond either end of what was read, as ``_fill_gaps`` does
    inside. A drum is where the background one pitch further on is dark or red like a drum's;
    slots are looked for between ``bounds`` (strip columns). Returns the digits and the columns
    of the drum-like slots that lay past the bounds, unread.
    """
    if not digits:
        return digits, ()
    out, unread = list(digits), []
    for side in (-1, 1):
        for _ in range(2):
            x = (out[0] if side < 0 else out[-1]).x + side * pitch
            if not _looks_like_drum(pixels, x, pitch):
                break
            if not bounds[0] <= x <= bounds[1]:
                unread.append(x)
                break
            lo = max(0, int((x - 0.4 * pitch) / REC_STRIDE))
            hi = min(len(digit_p), int((x + 0.4 * pitch) / REC_STRIDE) + 1)
            scores = digit_p[lo:hi].max(0)
            best = int(scores.argmax())
            guess = Digit(str(best), float(scores[best]), x, guessed=True)
            out.insert(0, guess) if side < 0 else out.append(guess)
    return tuple(out), tuple(unread)


def _looks_like_drum(pixels: np.ndarray, x: float, pitch: float) -> bool:
    """Whether the band around column ``x`` has a drum's dark or red background (a digit's
    light strokes do not count: the darker 40% of the band is what is looked at)."""
    lo, hi = max(0, round(x - 0.35 * pitch)), min(pixels.shape[1], round(x + 0.35 * pitch))
    band = pixels[6:-6, lo:hi].astype(np.int16)
    if band.size == 0 or hi - lo < 0.5 * pitch:
        return False
    b, g, r = band[:, :, 0], band[:, :, 1], band[:, :, 2]
    red = ((r > 90) & (r - np.maximum(g, b) > 45)).mean()
    value = np.maximum(np.maximum(r, g), b)
    ground, strokes = np.percentile(value, [40, 95])
    # Glare lifts a drum to mid-grey; its light digit still stands out on it, unlike on a face.
    washed = ground < 180 and strokes - ground > 60
    return bool(red > 0.3 or ground < 100 or washed)


def _red_on_left(pixels: np.ndarray, xs: np.ndarray, pitch: float) -> bool:
    """Whether the red drums are on the left of the row, as they are in a row read upside down.

    Looks at the drum colours themselves, so it holds even when the upside-down digits were
    not read as digits at all.
    """
    if len(xs) == 0:
        return False
    lo, hi = max(0, int(xs.min() - 0.5 * pitch)), min(pixels.shape[1], int(xs.max() + 0.5 * pitch))
    patch = pixels[4:-4, lo:hi].astype(np.int16)
    b, g, r = patch[:, :, 0], patch[:, :, 1], patch[:, :, 2]
    red_cols = ((r > 90) & (r - np.maximum(g, b) > 45)).mean(0) > 0.2
    if red_cols.sum() < 0.3 * pitch:
        return False
    centre = np.flatnonzero(red_cols).mean() / max(1, len(red_cols) - 1)
    return bool(centre < 0.5)


_BLANK, _OTHER = -2, -1


def _drum_share(pixels: np.ndarray, xs: np.ndarray) -> float:
    """Share of dark or red pixels between the first and the last digit."""
    if len(xs) == 0:
        return 0.0
    lo, hi = max(0, int(xs.min()) - 4), min(pixels.shape[1], int(xs.max()) + 4)
    patch = pixels[:, lo:hi].astype(np.int16)
    b, g, r = patch[:, :, 0], patch[:, :, 1], patch[:, :, 2]
    dark = np.maximum(np.maximum(r, g), b) < 95
    red = (r > 90) & (r - np.maximum(g, b) > 45)
    return float((dark | red).mean()) if patch.size else 0.0


def _is_red(pixels: np.ndarray, x: float, pitch: float) -> bool:
    """Whether the drum around column ``x`` is red (a decimal drum)."""
    half = max(2, round(0.4 * pitch))
    lo, hi = max(0, round(x) - half), min(pixels.shape[1], round(x) + half)
    patch = pixels[4:-4, lo:hi].astype(np.int16)
    if patch.size == 0:
        return False
    b, g, r = patch[:, :, 0], patch[:, :, 1], patch[:, :, 2]
    reddish = (r > 90) & (r - np.maximum(g, b) > 45)
    return bool(reddish.mean() > 0.2)


# --- the reading -----------------------------------------------------------------------------


def digit_quads(read: CounterRead) -> list[np.ndarray]:
    """Each digit's quadrilateral in image pixels: top-left, top-right, bottom-right, bottom-left
    in the digit's own frame (as the API's ``bboxes_rotated``)."""
    half = 0.45 * read.pitch
    y0, y1 = 0.08 * REC_HEIGHT / 1.16, REC_HEIGHT - 0.08 * REC_HEIGHT / 1.16
    quads = []
    for d in read.digits:
        pts = np.array(
            [[d.x - half, y0, 1], [d.x + half, y0, 1], [d.x + half, y1, 1], [d.x - half, y1, 1]]
        )
        quads.append(pts @ read.strip.to_image.T)
    return quads


def row_angle(quads: list[np.ndarray]) -> float:
    """Direction from the first to the last digit: degrees from the image's x axis towards its
    y axis (clockwise on screen), in (-180, 180]; the API's ``angle`` convention."""
    (x0, y0), (x1, y1) = quads[0].mean(0), quads[-1].mean(0)
    if len(quads) == 1:
        (x0, y0), (x1, y1) = quads[0][0], quads[0][1]
    angle = math.degrees(math.atan2(y1 - y0, x1 - x0))
    return 180.0 if angle == -180.0 else angle
