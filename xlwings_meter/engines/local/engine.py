"""Reading meters on this machine: RapidOCR's models on ONNX Runtime, no network, no GPU.

Needs the optional extra (``pip install "xlwings-meter[local]"``); this module imports it only
when a LocalEngine is built, so the add-in loads without it. The models are the PP-OCRv6 ones
that ship inside the ``rapidocr`` wheel: nothing is downloaded at run time.

How a photo is read (the meter-specific part lives in :mod:`xlwings_meter.engines.local.counter`):

1. candidate counters: blocks of dark and red drums, plus lines of text found by RapidOCR's
   text detector (which often splits a counter, so its boxes are joined along their line);
2. each candidate is straightened and read in both directions by the PP-OCRv6 recogniser,
   whose per-column scores are decoded over digits only;
3. doubtful drums (caught between two digits, or hidden by glare past the window's end) are
   read again with the strip shifted up and down, and the best-scored digit is kept;
4. the most counter-like reading wins: all digits, nothing else inside the row, drums behind
   them, red drums at its right end; the red drums are the decimals;
5. confidence is the least sure digit, lowered when the runner-up reading or direction comes
   close, so that a confident reading is a right one.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlwings_meter.errors import ConfigError
from xlwings_meter.photos import Photo
from xlwings_meter.reading import NO_READING_MESSAGE, Quad, Reading, ReadingStatus

REC_HEIGHT = 48  # as counter.REC_HEIGHT, which needs numpy to import

INSTALL_HINT = 'The local engine needs its optional extra: pip install "xlwings-meter[local]"'
_REC_MODEL = "PP-OCRv6_rec_small.onnx"
#: Long side of the image the engine works on. Counter digits stay 25+ pixels high at this size
#: on the photos it was measured on, and the text detector's time grows with the area.
WORK_SIDE = 800
#: Readings scored below this are not readings: the engine says it found no counter.
MIN_SCORE = 0.25
_MAX_ROWS = 10
#: Candidates whose doubtful digits are read again: the winner is nearly always among them.
_MAX_REREAD = 3


@dataclass(frozen=True)
class _Candidate:
    read: Any  # counter.CounterRead
    score: float


class LocalEngine:
    """An Engine that reads meter photos offline.

    Usage (it needs the [local] extra, so it is shown, not run)::

        engine = LocalEngine(threads=1)
        engine.read(photo).value        # '00935.781'

    ``threads`` caps ONNX Runtime's threads per call (None: its default, all cores).
    ``use_text_detector=False`` skips RapidOCR's text detector and looks for drum blocks only:
    faster, but blind to counters that are not dark or red drums.
    Raises ConfigError when the ``[local]`` extra is not installed. Safe to share between
    threads; models load once, in the constructor.
    """

    name = "local"
    #: Nothing leaves the machine: the summary says "read on this machine", never "sent".
    sends_photos = False

    def __init__(self, threads: int | None = None, use_text_detector: bool = True) -> None:
        try:
            import cv2
            import numpy as np
            import onnxruntime as ort
            import rapidocr

            from xlwings_meter.engines.local import counter
        except ImportError as exc:
            raise ConfigError(f"{INSTALL_HINT} ({exc.name} is missing)") from exc
        self._np, self._cv2, self._counter = np, cv2, counter

        model = Path(rapidocr.__file__).parent / "models" / _REC_MODEL
        if not model.is_file():
            raise ConfigError(f"{INSTALL_HINT} (the rapidocr wheel has no {_REC_MODEL})")
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if threads:
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
        self._rec = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        chars = self._rec.get_modelmeta().custom_metadata_map["character"].splitlines()
        # Class 0 is CTC's blank, so character i of the list is class i + 1.
        self._digit_index = np.array([chars.index(str(d)) + 1 for d in range(10)])

        self._det: Any = None
        self._det_lock = threading.Lock()
        if use_text_detector:
            ort_cfg = "EngineConfig.onnxruntime."
            params: dict[str, Any] = {
                "Global.log_level": "error",
                "Det.limit_type": "max",
                "Det.limit_side_len": 640,
                "Det.box_thresh": 0.4,
                "Det.unclip_ratio": 2.0,
            }
            if threads:
                params[ort_cfg + "intra_op_num_threads"] = threads
                params[ort_cfg + "inter_op_num_threads"] = 1
            self._det = rapidocr.RapidOCR(params=params)

    def _read_rows(self, work: Any, rows: list[Any], squeeze: float) -> list[_Candidate]:
        """Read every row both ways in one batch through the recogniser."""
        counter = self._counter
        strips = [s for row in rows for s in counter.cut_strips(work, row, squeeze)]
        batch = counter.batch_for_recogniser(strips)
        probs = self._rec.run(None, {self._rec.get_inputs()[0].name: batch})[0]
        reads = [
            counter.read_strip(s, p, self._digit_index) for s, p in zip(strips, probs, strict=True)
        ]
        return [_Candidate(read, score_read(read)) for read in reads]

    def _reread_doubtful(self, work: Any, candidates: list[_Candidate]) -> list[_Candidate]:
        """Read the strips of the leading candidates with doubtful digits again, shifted up
        and down (see ``counter.reread``), and rescore them."""
        counter = self._counter
        leading = sorted(candidates, key=lambda c: c.score, reverse=True)[:_MAX_REREAD]
        doubtful = [c for c in leading if c.score >= MIN_SCORE and counter.is_doubtful(c.read)]
        if not doubtful:
            return candidates
        shifts = counter.REREAD_SHIFTS
        strips = [counter.shifted_strip(work, c.read.strip, s) for c in doubtful for s in shifts]
        batch = counter.batch_for_recogniser(strips)
        probs = self._rec.run(None, {self._rec.get_inputs()[0].name: batch})[0]
        revised = {}
        for i, c in enumerate(doubtful):
            mine = list(probs[i * len(shifts) : (i + 1) * len(shifts)])
            read = counter.reread(c.read, mine, self._digit_index)
            revised[id(c)] = _Candidate(read, score_read(read))
        return [revised.get(id(c), c) for c in candidates]

    def read(self, photo: Photo, cancel: threading.Event | None = None,
             on_upload: Callable[[int], object] | None = None) -> Reading:
        """Read the counter of the meter in ``photo``: READ with a value, or NO_READING.

        Nothing is uploaded, so ``on_upload`` is never called.
        """
        np, cv2, counter = self._np, self._cv2, self._counter
        rgb = np.asarray(photo.image.convert("RGB"))
        h, w = rgb.shape[:2]
        scale = min(1.0, WORK_SIDE / max(h, w))
        work = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        if scale < 1.0:
            work = cv2.resize(
                work, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
            )

        rows = counter.find_windows(work)
        if self._det is not None:
            with self._det_lock:  # RapidOCR keeps per-call state on the instance
                found = self._det(work, use_det=True, use_cls=False, use_rec=False)
            if found.boxes is not None and len(found.boxes):
                rows = counter.merge_rows(rows, counter.rows_from_text_boxes(found.boxes))
        rows = sorted(rows, key=lambda r: r.length * r.height, reverse=True)[:_MAX_ROWS]
        if not rows:
            return Reading.failure(ReadingStatus.NO_READING, NO_READING_MESSAGE)

        candidates = self._read_rows(work, rows, squeeze=1.0)
        # A window seen at a slant comes out too short for its width and each broad digit is
        # read twice (a pitch no drum has): read those windows again, narrowed.
        doubled = {id(c.read.strip.row): c.read.strip.row for c in candidates if _doubled(c.read)}
        if doubled:
            candidates += self._read_rows(work, list(doubled.values()), squeeze=0.55)
        candidates = self._reread_doubtful(work, candidates)
        best = max(candidates, key=lambda c: c.score)
        if best.score < MIN_SCORE:
            return Reading.failure(ReadingStatus.NO_READING, NO_READING_MESSAGE)

        quads = counter.digit_quads(best.read)
        wh = np.array([work.shape[1], work.shape[0]], float)
        boxes = tuple(_axis_aligned(q / wh) for q in quads)
        return Reading(
            ReadingStatus.READ,
            value=best.read.value,
            confidence=round(confidence(best, candidates), 4),
            angle=round(counter.row_angle(quads), 2),
            boxes=boxes,
        )


def _doubled(read: Any) -> bool:
    return (
        read.strip.row.source == "window" and len(read.digits) > 3 and read.pitch < 0.3 * REC_HEIGHT
    )


def score_read(read: Any) -> float:
    """How much a strip's reading looks like a meter counter, 0..1 (see the module doc).

    Drums matter more than crisp digits: a serial number printed on the dial reads perfectly,
    while a counter with a drum caught between two digits does not.
    """
    n = len(read.digits)
    if n < 3 or n > 10 or read.pitch < 0.3 * REC_HEIGHT:  # a drum is not that narrow
        return 0.0
    # A guessed digit is evidence of a drum, whatever its score: confidence deals with it.
    probs = [max(d.prob, 0.5) if d.guessed else d.prob for d in read.digits]
    score = math.exp(sum(math.log(max(p, 1e-6)) for p in probs) / n)
    on_drums = read.strip.row.source == "window"
    score *= (0.6 if on_drums else 0.3) ** read.foreign * 0.6**read.gaps
    if read.backwards:
        score *= 0.15
    if read.red_elsewhere:
        score *= 0.3
    if not on_drums:
        score *= 0.75
    return score * (0.15 + 0.85 * min(1.0, read.drums / 0.45))


def confidence(best: _Candidate, candidates: list[_Candidate]) -> float:
    """How sure the engine is of ``best``: its least sure digit, lowered when another reading
    (another row, or the same row read another way) scores close to it.

    A digit guessed on a drum caught between two digits counts as at most 0.5 sure, and so does
    a drum left unread past the end of the row (a digit may be missing).
    """
    read = best.read
    weakest = min(min(d.prob, 0.5) if d.guessed else d.prob for d in read.digits)
    if read.gaps:
        weakest = min(weakest, 0.5)
    rival = max((c.score for c in candidates if c.read.value != read.value), default=0.0)
    lead = min(1.0, (best.score - rival) / 0.3)
    quality = min(1.0, best.score / 0.6)
    return max(0.0, weakest * lead * quality)


def _axis_aligned(quad: Any) -> Quad:
    """The digit's upright bounding box, corners from top-left clockwise, as the API's
    ``bboxes_norm`` are (its boxes are not turned with the row)."""
    x0, y0 = float(quad[:, 0].min()), float(quad[:, 1].min())
    x1, y1 = float(quad[:, 0].max()), float(quad[:, 1].max())
    clip = lambda v: min(1.0, max(0.0, v))  # noqa: E731
    x0, y0, x1, y1 = clip(x0), clip(y0), clip(x1), clip(y1)
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
