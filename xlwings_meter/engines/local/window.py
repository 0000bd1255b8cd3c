"""Finding the counter window: a small network maps where the row of drums is.

The model (``models/counter_window.onnx``, made by ``training/train_window.py``) takes the photo
in grey, letterboxed to ``SIDE`` x ``SIDE`` and normalised to zero mean and unit spread, and
gives a map ``SIDE / STRIDE`` square of logits, high on the counter window. It was trained on
real gas-meter photos and generated water-meter photos of white and dark drums at any rotation.
The pipeline uses the map twice: its largest blobs become candidate rows of their own, and
every candidate row is weighed by how much of it lies on the window (:meth:`WindowMap.cover`),
so that a serial number or a dial's figures lose to the counter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from xlwings_meter.engines.local.denormals import flushed
from xlwings_meter.engines.local.geometry import Row, row_from_points, run_around

MODEL = Path(__file__).parent / "models" / "counter_window.onnx"
SIDE = 192
STRIDE = 4
#: A blob of the map is taken as a window where the network is at least this sure.
_BLOB = 0.5
_MAX_BLOBS = 2


@dataclass(frozen=True)
class WindowMap:
    """The window probabilities over an image; ``scale`` maps image pixels to map cells."""

    probs: np.ndarray  # (SIDE / STRIDE) square, 0..1
    scale: float

    def at(self, points: np.ndarray) -> np.ndarray:
        """The probability at each image point (N x 2), 0 outside the map."""
        cells = np.floor(points * self.scale).astype(int)
        n = self.probs.shape[0]
        inside = (cells >= 0).all(1) & (cells < n).all(1)
        out = np.zeros(len(points), np.float32)
        out[inside] = self.probs[cells[inside, 1], cells[inside, 0]]
        return out

    def cover(self, row: Row) -> float:
        """How much of ``row`` lies on the window: the mean probability along its middle."""
        t = np.linspace(-0.45, 0.45, 11) * row.length
        a = np.radians(row.angle)
        points = np.stack([row.cx + t * np.cos(a), row.cy + t * np.sin(a)], 1)
        return float(self.at(points).mean())

    def extent(self, cx: float, cy: float, angle: float) -> float:
        """How long the window is, in image pixels, along the line through (cx, cy) at
        ``angle`` degrees: the stretch of sure cells around that point (0 if it is off)."""
        step = 0.5 / self.scale
        t = np.arange(-SIDE, SIDE + 1) * step
        a = np.radians(angle)
        on = self.at(np.stack([cx + t * np.cos(a), cy + t * np.sin(a)], 1)) >= _BLOB
        mid = SIDE
        if not on[mid]:
            return 0.0
        lo, hi = run_around(on, mid)
        return float((hi - lo + 1) * step)

    def rows(self) -> list[Row]:
        """The largest sure blobs as rotated rectangles in image pixels, largest first."""
        mask = (self.probs >= _BLOB).astype(np.uint8)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        found = sorted(range(1, count), key=lambda i: stats[i, cv2.CC_STAT_AREA], reverse=True)
        out = []
        for i in found[:_MAX_BLOBS]:
            if stats[i, cv2.CC_STAT_AREA] < 3:
                continue
            ys, xs = np.nonzero(labels == i)
            # Cell corners, not centres: a blob one cell high is still a rectangle.
            cells = np.stack([xs, ys], 1).astype(np.float32)
            corners = np.concatenate([cells + d for d in ((0, 0), (1, 0), (0, 1), (1, 1))])
            row = row_from_points((corners / self.scale).astype(np.float32), "net")
            if row.length >= 2 * row.height:
                out.append(row)
        return out


class WindowFinder:
    """The window network on ONNX Runtime. Safe to share between threads."""

    def __init__(self, ort: Any, threads: int | None = None) -> None:
        from xlwings_meter.engines.local.drums import cpu_session

        self._session = cpu_session(ort, MODEL, threads)
        self._input = self._session.get_inputs()[0].name

    def find(self, bgr: np.ndarray) -> WindowMap:
        """The window map of a BGR image."""
        grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        h, w = grey.shape
        k = SIDE / max(h, w)
        small = cv2.resize(grey, (max(1, round(w * k)), max(1, round(h * k))),
                           interpolation=cv2.INTER_AREA).astype(np.float32)
        canvas = np.full((SIDE, SIDE), float(small.mean()), np.float32)
        canvas[: small.shape[0], : small.shape[1]] = small
        canvas = (canvas - canvas.mean()) / (canvas.std() + 1e-3)
        with flushed():
            logits = self._session.run(None, {self._input: canvas[None, None]})[0][0, 0]
        return WindowMap(1.0 / (1.0 + np.exp(-np.asarray(logits, np.float32))), k / STRIDE)
