"""Reading drums with the shipped digit classifier, in tenths of a step.

The classifier (``models/drum_digits.onnx``, made by ``training/train_digits.py``) reads one grey
drum crop, 32 high x 20 wide, and gives 100 probabilities: class k is the drum at k/10 of a step,
so a drum caught between two digits reads as, say, 5.6 rather than as a wrong digit. This module
cuts the crops out of a straightened strip, picks the cut that the classifier finds clearest,
and turns the tenths of a row into digits with the rolling-drum rule (:func:`roll_digits`).
A 101st class says that no drum is centred in the crop: a cell half-way between two drums, or
on the frame, a unit or a label beside the counter.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from xlwings_meter.engines.local.denormals import flushed, kept

MODEL = Path(__file__).parent / "models" / "drum_digits.onnx"
CROP_H, CROP_W = 32, 20
TENTHS = 100
#: The class that says no drum is centred in the crop.
NONE = TENTHS
#: Crop heights tried, as shares of the strip height: a text box is padded by an unknown
#: amount, and the classifier was trained on crops the digit nearly fills.
HEIGHTS = (0.6, 0.75, 0.9)
#: Vertical offsets tried, in strip heights, and horizontal ones, in drum pitches.
OFFSETS_Y = (-0.06, 0.0, 0.06)
OFFSETS_X = (-0.12, 0.0, 0.12)
#: Drum spacings looked for in a strip's repeating ink (``periodic_cells``), in strip heights.
PERIOD_MIN, PERIOD_MAX = 0.3, 1.2
#: How alike the ink must be one spacing on (its autocorrelation there) for a row of drums.
PERIODIC = 0.2


@dataclass(frozen=True)
class Drum:
    """One drum as the classifier reads it: ``tenths`` in [0, 10), ``sure`` in 0..1 (the
    probability within a third of a step of the reading)."""

    tenths: float
    sure: float
    x: float  # centre column in the strip
    none: float  # the probability that no drum is centred there


def prepare(greys: list[np.ndarray]) -> np.ndarray:
    """Grey crops resized to the model's input and normalised as in training, each to its
    own mean and spread (N x 32 x 20)."""
    crops = np.stack(
        [cv2.resize(g, (CROP_W, CROP_H), interpolation=cv2.INTER_AREA) for g in greys]
    ).astype(np.float32)
    mean = crops.mean(axis=(1, 2), keepdims=True)
    return (crops - mean) / (crops.std(axis=(1, 2), ddof=1, keepdims=True) + 1e-3)


def tenths_of(probs: np.ndarray) -> tuple[float, float]:
    """The reading (0..10) and its sureness from one row of probabilities: the circular
    mean around the most likely tenth, and the mass within three tenths of it, given that a
    drum is there (the no-drum class is left out: a plain ``1`` off-centre in its cell can
    look like a frame bar, and between two drums it is a drum all the same)."""
    probs = probs[:TENTHS] / max(float(probs[:TENTHS].sum()), 1e-9)
    best = int(probs.argmax())
    offsets = np.arange(-3, 4)
    near = probs[(best + offsets) % TENTHS]
    mass = float(near.sum())
    shift = float((near * offsets).sum() / max(mass, 1e-9))
    return ((best + shift) / 10.0) % 10.0, mass


def cpu_session(ort: Any, model: Path, threads: int | None) -> Any:
    """An ONNX Runtime session for ``model`` on the CPU, quiet, capped at ``threads`` if given."""
    options = ort.SessionOptions()
    options.log_severity_level = 3
    # Its pool threads, if it has any, flush denormals too (see ``denormals``).
    options.add_session_config_entry("session.set_denormal_as_zero", "1")
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    with kept():  # the option would leave this thread flushing for good
        return ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


class DrumClassifier:
    """The ONNX digit classifier on ONNX Runtime. Safe to share between threads."""

    def __init__(self, ort: Any, threads: int | None = None) -> None:
        self._session = cpu_session(ort, MODEL, threads)
        self._input = self._session.get_inputs()[0].name

    def probabilities(self, crops: np.ndarray) -> np.ndarray:
        """N x 101 probabilities for N prepared crops (N x 32 x 20): 100 tenths, no drum."""
        if len(crops) == 0:
            return np.zeros((0, TENTHS + 1), np.float32)
        with flushed():
            out = self._session.run(None, {self._input: crops[:, None].astype(np.float32)})[0]
        return np.asarray(out)

    def read_row(self, pixels: np.ndarray, xs: list[float], pitch: float) -> list[Drum]:
        """Read the drums centred at columns ``xs`` of a straightened strip (BGR).

        One crop height and vertical offset serves the whole row (its drums are alike): the
        one under which the classifier is surest on average. Each drum then keeps the
        horizontal offset it reads most surely at.
        """
        if not xs:
            return []
        grey = cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY)
        h = grey.shape[0]
        padded = cv2.copyMakeBorder(grey, h, h, h, h, cv2.BORDER_REPLICATE)

        def cut(x: float, share: float, dy: float) -> np.ndarray:
            ch = share * h
            cw = min(0.95 * pitch, 0.7 * ch)
            y0, x0 = h + (h - ch) / 2 + dy * h, h + x - cw / 2
            return padded[round(y0) : round(y0 + ch), round(x0) : round(x0 + cw)]

        cuts = [(share, dy) for share in HEIGHTS for dy in OFFSETS_Y]
        probs = self.probabilities(prepare([cut(x, s, dy) for s, dy in cuts for x in xs]))
        sure = np.log(np.maximum(probs[:, :TENTHS].max(1), 1e-6)).reshape(len(cuts), len(xs)).mean(1)
        share, dy = cuts[int(sure.argmax())]
        shifted = [x + dx * pitch for x in xs for dx in OFFSETS_X]
        probs = self.probabilities(prepare([cut(x, share, dy) for x in shifted]))
        probs = probs.reshape(len(xs), len(OFFSETS_X), TENTHS + 1)
        drums = []
        for i in range(len(xs)):
            best = int(probs[i, :, :TENTHS].max(1).argmax())
            tenths, mass = tenths_of(probs[i, best])
            none = float(probs[i, best, NONE])
            drums.append(Drum(tenths, mass, shifted[i * len(OFFSETS_X) + best], none))
        return drums


def ink_profile(pixels: np.ndarray) -> np.ndarray:
    """How much digit ink each column of a strip holds (its middle band): dark ink on light
    drums, light ink on dark ones, whichever the band's own brightness says it is."""
    grey = cv2.cvtColor(pixels, cv2.COLOR_BGR2GRAY).astype(np.float32)
    h = grey.shape[0]
    band = grey[h // 5 : h - h // 5]
    ground = float(np.median(band))
    dark_ink = ground > (float(band.min()) + float(band.max())) / 2
    ink = ground - band if dark_ink else band - ground
    return np.maximum(ink, 0).mean(0)


def periodic_cells(pixels: np.ndarray, margin: float) -> tuple[list[float], float] | None:
    """Cells at the spacing at which a strip's ink repeats, where it clearly does, as a row
    of drums does: their centres (strip columns inside the row, ``margin`` from its ends)
    and that spacing. None where the ink does not repeat at a drum's width."""
    ink = ink_profile(pixels)
    h, n = pixels.shape[0], len(ink)
    lo, hi = round(PERIOD_MIN * h), min(round(PERIOD_MAX * h), n // 3)
    if hi <= lo + 2:
        return None
    centred = ink - ink.mean()
    ac = np.correlate(centred, centred, mode="full")[n - 1 :]
    if ac[0] <= 0:
        return None
    ac = ac / ac[0]
    k = lo + 1 + int(ac[lo + 1 : hi - 1].argmax())
    if ac[k] < PERIODIC:
        return None
    # The peak between whole pixels (a parabola through it and its neighbours): a spacing
    # off by half a pixel is off by four at the eighth drum.
    bend = ac[k - 1] - 2 * ac[k] + ac[k + 1]
    pitch = k + (float(np.clip(0.5 * (ac[k - 1] - ac[k + 1]) / bend, -0.5, 0.5)) if bend < 0 else 0.0)
    # The cells' centres: where the ink most outweighs that half a spacing on, between drums
    # (a dark frame between light drums is ink too).
    width = max(3, round(0.4 * pitch))
    smooth = np.convolve(ink, np.ones(width) / width, mode="same")

    def at(start: float) -> float:
        return float(smooth[np.arange(start, n, pitch).round().astype(int).clip(0, n - 1)].sum())

    phases = np.arange(0.0, pitch, 1.0)
    start = float(phases[int(np.argmax([at(p) - at(p + pitch / 2) for p in phases]))])
    xs = [float(x) for x in np.arange(start, n, pitch) if margin <= x <= n - margin]
    return xs, float(pitch)


def centre_on_ink(pixels: np.ndarray, xs: list[float], pitch: float) -> list[float]:
    """Move each digit centre to the middle of the ink nearest to it: a recogniser places
    its characters only to within a few pixels, the classifier wants them centred."""
    profile = ink_profile(pixels)
    width = max(3, round(0.6 * pitch)) | 1
    smooth = np.convolve(profile, np.ones(width) / width, mode="same")
    out = []
    for x in xs:
        lo, hi = max(0, round(x - 0.3 * pitch)), min(len(smooth), round(x + 0.3 * pitch) + 1)
        out.append(float(lo + int(smooth[lo:hi].argmax())) if hi > lo else x)
    return out


def drop_crowded(xs: list[float], sure: list[float], pitch: float) -> list[int]:
    """Indices of the cells to keep: of two cells closer than 0.6 pitch (a frame edge read
    as a digit beside a real one), the less surely read goes."""
    keep = list(range(len(xs)))
    changed = True
    while changed and len(keep) > 1:
        changed = False
        for a, b in itertools.pairwise(keep):
            if xs[b] - xs[a] < 0.6 * pitch:
                keep.remove(a if sure[a] < sure[b] else b)
                changed = True
                break
    return keep


def on_grid(xs: list[float], ids: list[int], pitch: float,
            read_at: list[float | None] | None = None) -> list[int]:
    """``ids`` without end cells off the row's drum spacing: drums are evenly spaced, so a
    first cell much nearer or farther than the usual spacing (a frame edge, a stray mark) and
    a last cell much nearer (a separated decimal drum may lie farther) are not drums.

    ``pitch`` is the recogniser's spacing: cells centred on their ink lie unevenly where a
    narrow ``1`` sits to one side of its drum, so a first gap near either spacing is a drum's.
    ``read_at`` holds, for each cell, where the recogniser read its digit (None where it read
    none): a last drum caught mid-roll has its ink off-centre, and its cell then lies near its
    neighbour; the recogniser's own spacing says it is a drum all the same.
    """
    at = read_at if read_at is not None else [None] * len(xs)
    keep = list(zip(xs, ids, at, strict=True))
    while len(keep) > 4:
        gaps = np.diff([x for x, _, _ in keep])
        usual = float(np.median(gaps[1:-1]))
        (_, _, before), (_, _, last) = keep[-2], keep[-1]
        read_gap = last - before if last is not None and before is not None else 0.0
        if not 0.75 * min(usual, pitch) <= gaps[0] <= 1.35 * usual:
            keep = keep[1:]
        elif max(gaps[-1], read_gap) < 0.75 * usual:
            keep = keep[:-1]
        else:
            break
    return [i for _, i, _ in keep]
