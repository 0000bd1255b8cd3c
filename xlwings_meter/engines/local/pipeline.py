"""The offline pipeline, stage by stage: find candidate rows, read them with the text
recogniser, read their drums with the digit classifier, pick the counter.

1. candidate counters (:mod:`.rows`): blocks of dark and red drums, plus lines of text found by
   RapidOCR's text detector, joined along their line where a counter was split;
2. each candidate is straightened (:mod:`.geometry`) and read in both directions by the
   PP-OCRv6 recogniser, whose per-column scores are decoded over digits only (:mod:`.ctc`); this
   places the drums;
3. doubtful drums are read again with the strip shifted up and down (``ctc.reread``);
4. the drums of the likeliest candidates are read by the drum classifier in tenths of a step
   (:mod:`.drums`), cut where the ink is, and turned into digits by the rolling-drum rule
   (:mod:`.rolling`); red drums at the right end are the decimals (:mod:`.colours`);
5. the most counter-like reading wins, and its confidence says how far ahead it is
   (:mod:`.scoring`).

Needs the ``[local]`` extra; :class:`~xlwings_meter.engines.local.engine.LocalEngine` imports
this module only when it is built.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from xlwings_meter.engines.local import ctc, drums, geometry, rows, scoring, window
from xlwings_meter.engines.local.colours import red_cells
from xlwings_meter.engines.local.denormals import flushed
from xlwings_meter.engines.local.rolling import debias, roll_digits
from xlwings_meter.engines.local.scoring import Candidate
from xlwings_meter.photos import Photo
from xlwings_meter.reading import NO_READING_MESSAGE, Quad, Reading, ReadingStatus

#: Long side of the image the engine works on. Counter digits stay 25+ pixels high at this size
#: on the photos it was measured on, and the text detector's time grows with the area.
WORK_SIDE = 800
_MAX_ROWS = 10
_MAX_JOINED = 3
#: Candidates whose doubtful digits are read again: the winner is nearly always among them.
_MAX_REREAD = 3
#: Candidates whose drums the classifier reads.
_MAX_CLASSIFIED = 8
#: End cells read less surely than this are dropped: a window's frame, a neighbour's edge.
_END_SURE = 0.35
#: A digit the recogniser reads this surely overrules a classifier this unsure.
_OCR_SURE = 0.95
#: Fewer drums than this, read by the classifier, are rarely a counter (but still a rival).
_MIN_CLASSIFIED_DRUMS = 5
#: How much a reading by the recogniser alone (its score) counts against a different one
#: by the classifier, on the same strip.
_OCR_WEIGHT = 0.5
#: A drum the recogniser missed at a row's end is taken when the classifier reads it this surely.
_EXTRA_SURE = 0.9
_CLASSIFIER_UNSURE = 0.8
#: Cells looked at left of the first drum the recogniser read.
_MAX_LEFT = 6
#: A first cell the classifier finds no drum in this surely is dropped.
_NO_DRUM = 0.5
#: The score of a recogniser's reading that holds a digit where the classifier finds no drum
#: is scaled by this.
_NOT_DRUMS = 0.4
#: A candidate row's score is scaled by ``_OFF_WINDOW + (1 - _OFF_WINDOW) * cover``, cover
#: being how much of it the window network puts on the counter window.
_OFF_WINDOW = 0.35
#: A row lies on the counter window where the window network's mean probability along it is
#: at least this.
_ON_WINDOW = 0.5
#: A reading without a point, in a photo without colour, is at most this sure: under the
#: level at which a row is flagged for a look.
_NO_COLOUR = 0.5
#: A photo is without colour where its pixels' channels differ by at most this (but a few).
_GREY_SPREAD = 12
#: A reading without a point of at least this many drums is at most ``_NO_COLOUR`` sure: the
#: counters read here show at most 6 whole digits, so a longer one has decimals whose colour
#: went unseen (a darkened, washed-out or 32-colour copy of a photo), or is no counter.
_LONG_WITHOUT_POINT = 7
#: A reading's confidence is scaled by this where its digits do not fill the counter window.
_DOUBTFUL_COUNT = 0.75
#: Candidates whose rows are cut down to their digits and read again (see ``_read_tightened``).
_MAX_TIGHTENED = 3
#: The rows that are: drum blocks found by colour and the window network's, which take in
#: frame and plate around the drums; a text detector's boxes fit their text already.
_TIGHTENED = {"window", "net"}
#: The source of a row cut down to its digits (a network's row so cut is no longer coarse,
#: ``scoring.coarse``; a text row is cut in ``_read_crowded``).
_TIGHT = {"net": "tight", "text": "tight"}
#: Where no candidate scores MIN_SCORE, rows of which the recogniser read fewer digits than
#: this are read in cells by the classifier alone (``_read_cells``), the largest few of them
#: (a row read both ways is two).
_READ_ENOUGH = 4
_MAX_CELL_ROWS = 4
#: The source of such a row (``geometry.Row.source``).
CELLS = "cells"
#: A text row read as more digits than this holds no counter as it is cut (see ``_read_crowded``).
_CROWDED = 10
#: A cell holds a drum where the no-drum class is below this and the digit at least this sure.
_CELL_NONE = 0.3
_CELL_SURE = 0.5
#: What the recogniser's word counts for in such a row: it had none (see ``scoring.prescore``).
_CELL_PROB = 0.5
#: A reading only the classifier made is no reading unless it is at least this sure, and at
#: most this sure: flagged for a look.
_ALONE_SURE = 0.5
_ONE_READER = 0.6
#: A row stands on end (the photo was taken on its side) more than this many degrees from level.
_ON_END = 45.0
#: A reading without a point takes the point of a reading of the same digits scoring at least
#: this share of it.
_SIBLING = 0.5


class Pipeline:
    """The models and the stages. Safe to share between threads."""

    def __init__(self, ort: Any, rapidocr: Any, rec_model: Path, threads: int | None,
                 use_text_detector: bool) -> None:
        self._rec = drums.cpu_session(ort, rec_model, threads)
        chars = self._rec.get_modelmeta().custom_metadata_map["character"].splitlines()
        # Class 0 is CTC's blank, so character i of the list is class i + 1.
        self._digit_index = np.array([chars.index(str(d)) + 1 for d in range(10)])
        self._drums = drums.DrumClassifier(ort, threads)
        self._window = window.WindowFinder(ort, threads)

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

    def _recognise(self, strips: list[geometry.Strip]) -> list[np.ndarray]:
        """Each strip's per-column scores (T x C). Strips of one width go in one batch: padded
        to a wider one, a strip cost a third more time and read differently with the company
        it was in."""
        by_width: dict[int, list[int]] = {}
        for i, s in enumerate(strips):
            by_width.setdefault(s.pixels.shape[1], []).append(i)
        out: list[np.ndarray] = [np.empty(0)] * len(strips)
        name = self._rec.get_inputs()[0].name
        for same in by_width.values():
            batch = geometry.batch_for_recogniser([strips[i] for i in same])
            with flushed():
                scores = self._rec.run(None, {name: batch})[0]
            for i, probs in zip(same, scores, strict=True):
                out[i] = probs
        return out

    def _read_rows(self, work: np.ndarray, found: list[geometry.Row], squeeze: float
                   ) -> list[Candidate]:
        """Read every row both ways in one batch through the recogniser."""
        strips = [s for row in found for s in geometry.cut_strips(work, row, squeeze)]
        probs = self._recognise(strips)
        reads = [
            ctc.read_strip(s, p, self._digit_index) for s, p in zip(strips, probs, strict=True)
        ]
        return [Candidate(read, scoring.score_read(read)) for read in reads]

    def _reread_doubtful(self, work: np.ndarray, candidates: list[Candidate]) -> list[Candidate]:
        """Read the strips of the leading candidates with doubtful digits again, shifted up
        and down (see ``ctc.reread``), and rescore them."""
        leading = sorted(candidates, key=lambda c: c.score, reverse=True)[:_MAX_REREAD]
        doubtful = [
            c for c in leading if c.score >= scoring.MIN_SCORE and ctc.is_doubtful(c.read)
        ]
        if not doubtful:
            return candidates
        shifts = ctc.REREAD_SHIFTS
        probs = self._recognise(
            [geometry.shifted_strip(work, c.read.strip, s) for c in doubtful for s in shifts]
        )
        revised = {}
        for i, c in enumerate(doubtful):
            mine = list(probs[i * len(shifts) : (i + 1) * len(shifts)])
            read = ctc.reread(c.read, mine, self._digit_index)
            revised[id(c)] = Candidate(read, scoring.score_read(read))
        return [revised.get(id(c), c) for c in candidates]

    def _read_tightened(self, work: np.ndarray, candidates: list[Candidate]) -> list[Candidate]:
        """The leading candidates' rows, and the window network's, cut down to their digits'
        band and read again: a window twice as tall as its drums shows the recogniser small
        digits among frame edges and labels, and it reads some twice and frame edges as more
        (002946.205 for 02946.202)."""
        leading = sorted(candidates, key=lambda c: c.score, reverse=True)[:_MAX_TIGHTENED]
        rows_, seen = [], set()
        for c in leading:
            row = c.read.strip.row
            if c.score < scoring.MIN_SCORE / 2 or id(row) in seen or row.source not in _TIGHTENED:
                continue
            seen.add(id(row))
            tight = geometry.tightened(c.read.strip, [d.x for d in c.read.digits], c.read.pitch)
            if tight is not None:
                rows_.append(replace(tight, source=_TIGHT.get(tight.source, tight.source)))
        # The window network's rows are cut down whatever they read: the network finds the
        # window, and a window twice as tall as its drums is where the recogniser reads least
        # (a gas meter under a blue light read `0` and `3710` for 03918.774).
        rows_ += _cut_to_digits(candidates, lambda c: c.read.strip.row.source == "net", seen)
        return self._read_rows(work, rows_, squeeze=1.0) if rows_ else []

    def _read_crowded(self, work: np.ndarray, candidates: list[Candidate]) -> list[Candidate]:
        """Text rows read as more digits than a counter has (``_CROWDED``), cut down to their
        digits' band and read again: toloka 27's counter, boxed with its frame, read
        ``0110011444101733177`` for 00140.738."""
        def crowded(c: Candidate) -> bool:
            return c.read.strip.row.source == "text" and len(c.read.digits) > _CROWDED

        rows_ = _cut_to_digits(candidates, crowded, set())
        return self._read_rows(work, rows_, squeeze=1.0) if rows_ else []

    def _read_cells(self, candidates: list[Candidate]) -> list[Candidate]:
        """The largest rows of which the recogniser read few digits, as cells at the spacing
        their ink repeats at, each holding a drum by the classifier's word: candidates for
        a counter whose drums the recogniser could not read (nohn_7's 01189, faint and two
        drums mid-roll, read as ``3``). Each still to be classified."""
        out: list[Candidate] = []
        unread = [c for c in candidates if len(c.read.digits) < _READ_ENOUGH]
        rows = sorted(unread, key=lambda c: c.read.strip.row.length * c.read.strip.row.height,
                      reverse=True)
        for c in rows[:_MAX_CELL_ROWS]:  # each costs a batch of the classifier
            read = c.read
            found = drums.periodic_cells(read.strip.pixels, read.strip.margin)
            if found is None:
                continue
            xs, pitch = found
            run = _longest_run(self._drums.read_row(read.strip.pixels, xs, pitch))
            if len(run) < _MIN_CLASSIFIED_DRUMS - 1:
                continue
            digits = tuple(ctc.Digit(str(round(d.tenths) % 10), _CELL_PROB, d.x, guessed=True) for d in run)
            strip = replace(read.strip, row=replace(read.strip.row, source=CELLS))
            out.append(Candidate(replace(read, strip=strip, digits=digits, pitch=pitch,
                                         red=(False,) * len(digits), foreign=0, gaps=0, unread=(),
                                         letters=(), backwards=False), 0.0))
        return out

    def _classify(self, candidates: list[Candidate], wmap: window.WindowMap
                  ) -> list[Candidate]:
        """The candidates, and the likeliest of them read again, their drums by the drum
        classifier, and scored by it."""
        looks = {id(c): scoring.prescore(c.read) * _on_window(wmap.cover(c.read.strip.row))
                 for c in candidates}
        ranked = sorted(candidates, key=lambda c: looks[id(c)], reverse=True)
        ranked = [c for c in ranked[:_MAX_CLASSIFIED] if looks[id(c)] > 0]
        if not ranked:
            return candidates
        tallest = max(c.read.strip.row.height for c in ranked)
        out, misread = [], set()
        for c in ranked:
            read, found, junk = self._classify_one(c.read)
            score = scoring.score_drums(c.read, read, found, tallest)
            if len(found) < _MIN_CLASSIFIED_DRUMS:  # a year, a page number: rarely a counter
                score *= 0.4
            if junk:
                # The recogniser read a digit where no drum is (a unit, the frame, a label).
                misread.add(id(c))
            elif read.value != c.read.value:
                # The recogniser's reading of a strip that looks like a counter (dark drums,
                # crisp digits) is the one to beat: the classifier must be clearly surer.
                score *= 1 - _OCR_WEIGHT * c.score
            # A row read in cells has the classifier's word twice, and no second opinion.
            alone = c.read.strip.row.source == CELLS
            out.append(Candidate(read, score, agrees=read.value == c.read.value and not alone))
        kept = [replace(c, score=c.score * _NOT_DRUMS) if id(c) in misread else c for c in candidates]
        return kept + out

    def _classify_one(self, read: ctc.CounterRead
                      ) -> tuple[ctc.CounterRead, list[drums.Drum], int]:
        """The candidate's drums read by the classifier: cells centred on the ink, a drum the
        recogniser missed at either end of the row looked for, stray cells dropped. Also how
        many of the recogniser's digits before the first drum are not drums (at least 1 where
        its unsure first digit is off the drums' spacing)."""
        pixels, pitch = read.strip.pixels, read.pitch
        xs = drums.centre_on_ink(pixels, [d.x for d in read.digits], pitch)
        firsts: list[ctc.Digit | None] = list(read.digits)
        # One drum further at the right end, if that still lies inside the row: the
        # recogniser often skips the last drum when it is caught mid-roll.
        hi = pixels.shape[1] - read.strip.margin
        # Not where the recogniser saw a letter: a unit beside the counter is no drum.
        def free(x):
            return all(abs(x - c) > 0.7 * pitch for c in read.letters)
        ends = [xs[0] - pitch, xs[-1] + pitch] if xs else []
        if ends and ends[1] <= hi and free(ends[1]):
            xs, firsts = [*xs, ends[1]], [*firsts, None]
        # Drums the recogniser did not read at the left end, as many as the row has room for:
        # digits boxed apart (each drum in a frame of its own) score below its blank.
        # Not past a letter either: the cells must run on from the first digit without a gap.
        left: list[float] = []
        for k in range(1, _MAX_LEFT + 1 if xs else 0):
            x = xs[0] - k * pitch
            if x < read.strip.margin + 0.4 * pitch or not free(x):
                break
            left.insert(0, x)
        xs, firsts = [*left, *xs], [*([None] * len(left)), *firsts]
        found = self._drums.read_row(pixels, xs, pitch)
        # Only those next to the first read drum, and each sure, count: a label or the frame
        # further left is no drum.
        taken = 0
        for drum in reversed(found[: len(left)]):
            if drum.sure < _EXTRA_SURE or drum.none >= _NO_DRUM:
                break
            taken += 1
        found, firsts = found[len(left) - taken :], firsts[len(left) - taken :]
        keep = drums.drop_crowded([d.x for d in found], [d.sure for d in found], pitch)
        keep = [i for i in keep if firsts[i] is not None or found[i].sure >= _EXTRA_SURE]
        read_at = [None if (first := firsts[i]) is None else first.x for i in keep]
        grid = drums.on_grid([found[i].x for i in keep], keep, pitch, read_at)
        kept = [(firsts[i], found[i]) for i in grid]
        # A unit, a label or the frame before the first drum, which the recogniser took for a
        # digit, unsurely (the no-drum class also fires on some clear digits, which the
        # recogniser then reads surely). Not at the right end: a last drum caught mid-roll,
        # or half under the frame, is where the class misfires most.
        junk = 0
        while len(kept) > 1 and kept[0][1].none > _NO_DRUM and _unsure(kept[0][0]):
            junk += kept[0][0] is not None
            kept = kept[1:]
        # So is an unsure first digit that no cell on the drums' spacing kept (a frame bar
        # beside the first drum read as a 1).
        if read.digits and _unsure(read.digits[0]) and all(f is not read.digits[0] for f, _ in kept):
            junk = max(junk, 1)
        # Without the recogniser's word for it, a last cell the no-drum class fires on is none.
        while read.strip.row.source == CELLS and len(kept) > 1 and kept[-1][1].none > _NO_DRUM:
            kept = kept[:-1]
        while len(kept) > 4 and min(kept[0][1].sure, kept[-1][1].sure) < _END_SURE:
            kept = kept[1:] if kept[0][1].sure <= kept[-1][1].sure else kept[:-1]
        values = roll_digits(debias([dr.tenths for _, dr in kept]))
        digits = tuple(_agree(d, v, dr) for (d, dr), v in zip(kept, values, strict=True))
        red = red_cells(pixels, [d.x for d in digits], pitch)
        return replace(read, digits=digits, red=red), [dr for _, dr in kept], junk

    def read(self, photo: Photo, cancel: threading.Event | None = None) -> Reading:
        """Read the counter of the meter in ``photo``: READ with a value, or NO_READING.

        A photo whose counter window stands on end (taken on its side) is read turned a
        quarter each way, and the surer reading given: the stages below were found on
        upright photos, and read a counter across the photo far better than down it. A photo
        in which no counter is found is read again turned round. Once ``cancel`` is set (the
        batch stops), no further way round is tried: the reading so far is given.
        """
        rgb = np.asarray(photo.image.convert("RGB"))
        h, w = rgb.shape[:2]
        scale = min(1.0, WORK_SIDE / max(h, w))
        work = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        if scale < 1.0:
            work = cv2.resize(
                work, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
            )
        wmap = self._window.find(work)
        boxes = self._text_boxes(work)
        tries: list[Reading] = []
        if _on_end(wmap) or _text_on_end(boxes):
            turns: tuple[int, ...] = (1, 3)
        else:
            tries.append(self._read_work(work, wmap, boxes, 0))
            if tries[0].status is ReadingStatus.READ:
                return tries[0]
            # No counter found: the window network and the text detector see a photo turned
            # round differently (neither is the same upside down), so look again that way.
            turns = (2,)
        for n in turns:
            if tries and cancel is not None and cancel.is_set():
                break
            turned = np.ascontiguousarray(np.rot90(work, n))
            tries.append(self._read_work(turned, self._window.find(turned), self._text_boxes(turned), n))
        return max(tries, key=lambda r: -1.0 if r.confidence is None else r.confidence)

    def _text_boxes(self, work: np.ndarray) -> np.ndarray | None:
        """The text detector's boxes in ``work`` (N x 4 x 2); None without the detector or
        where it found none."""
        if self._det is None:
            return None
        with self._det_lock, flushed():  # RapidOCR keeps per-call state on the instance
            detected = self._det(work, use_det=True, use_cls=False, use_rec=False)
        boxes = detected.boxes
        return boxes if boxes is not None and len(boxes) else None

    def _read_work(self, work: np.ndarray, wmap: window.WindowMap, boxes: np.ndarray | None,
                   turns: int) -> Reading:
        """Read the counter in ``work``, the photo at working size turned ``turns`` quarter
        turns anticlockwise (``np.rot90``), its text boxes ``boxes``; digit boxes and angle
        are given in the photo."""
        found = rows.find_windows(work)
        joined: list[geometry.Row] = []
        if boxes is not None:
            texts = rows.rows_from_text_boxes(boxes)
            joined = rows.joined_pairs(texts)
            found = rows.merge_rows(found, texts)
        found = sorted(found, key=lambda r: r.length * r.height, reverse=True)[:_MAX_ROWS]
        # Joined rows are large by construction: they come on top, and never crowd out the rest.
        found += sorted(joined, key=lambda r: r.length * r.height, reverse=True)[:_MAX_JOINED]
        found += wmap.rows()
        if not found:
            return Reading.failure(ReadingStatus.NO_READING, NO_READING_MESSAGE)

        candidates = self._read_rows(work, found, squeeze=1.0)
        # A window seen at a slant comes out too short for its width and each broad digit is
        # read twice (a pitch no drum has): read those windows again, narrowed.
        doubled = {
            id(c.read.strip.row): c.read.strip.row for c in candidates if scoring.doubled(c.read)
        }
        if doubled:
            candidates += self._read_rows(work, list(doubled.values()), squeeze=0.55)
        candidates = self._reread_doubtful(work, candidates)
        candidates += self._read_tightened(work, candidates)
        # The recogniser's own readings stay candidates: on clear dark drums they are the surer.
        read_rows = candidates
        candidates = _weighed(self._classify(candidates, wmap), wmap)
        best = max(candidates, key=lambda c: c.score)
        if best.score < scoring.MIN_SCORE:
            # A text box twice its drums' height (frame and all) reads each digit twice: cut
            # to its digits. Only here: among all candidates such rows won elsewhere.
            crowded = self._read_crowded(work, read_rows)
            if crowded:
                more = _weighed(self._classify(read_rows + crowded, wmap), wmap)
                top = max(more, key=lambda c: c.score)
                if top.score >= scoring.MIN_SCORE:
                    candidates, best = more, top
        alone = best.score < scoring.MIN_SCORE
        if alone:
            # No counter the two readers agree on: one whose drums only the classifier can
            # read (faint, caught mid-roll, in a box twice their height)?
            candidates = _weighed(self._classify(self._read_cells(read_rows), wmap), wmap)
            best = max(candidates, key=lambda c: c.score, default=best)
        if best.score < scoring.MIN_SCORE:
            return Reading.failure(ReadingStatus.NO_READING, NO_READING_MESSAGE)

        # Another cut of the same counter may have seen more of its drums, or its red ones.
        best, candidates = _whole_counter(best, candidates)
        read, sure = settle(best, candidates)
        if alone and sure < _ALONE_SURE:  # one reader's word, and not even sure itself
            return Reading.failure(ReadingStatus.NO_READING, NO_READING_MESSAGE)
        quads = geometry.digit_quads(read.strip, [d.x for d in read.digits], read.pitch)
        sure *= _count_fits(wmap, quads) * _edge_fits(quads, work.shape[1], work.shape[0])
        quads, (height, width) = _unturned(quads, turns, work.shape[:2])
        wh = np.array([width, height], float)
        if alone:
            sure = min(sure, _ONE_READER)
        if "." not in read.value and (colourless(work) or len(read.digits) >= _LONG_WITHOUT_POINT):
            # Red drums give the point: where no colour is seen (a grey photo, a row longer
            # than a counter's whole units) a counter's decimals look like the rest of its
            # drums, so a reading without a point may lack one.
            sure = min(sure, _NO_COLOUR)
        return Reading(
            ReadingStatus.READ,
            value=read.value,
            confidence=round(sure, 4),
            angle=round(geometry.row_angle(quads), 2),
            boxes=tuple(_axis_aligned(q / wh) for q in quads),
        )


def _cut_to_digits(candidates: list[Candidate], wanted: Callable[[Candidate], bool],
                   seen: set[int]) -> list[geometry.Row]:
    """The rows of the ``wanted`` candidates not in ``seen`` (ids; each row once, added to it),
    cut down to the band their digits fill along the whole row (``geometry.tightened``)."""
    out = []
    for c in candidates:
        strip = c.read.strip
        if not wanted(c) or id(strip.row) in seen:
            continue
        seen.add(id(strip.row))
        tight = geometry.tightened(strip, [strip.margin, strip.pixels.shape[1] - strip.margin], 0.0)
        if tight is not None:
            out.append(replace(tight, source=_TIGHT[strip.row.source]))
    return out


def _on_end(wmap: window.WindowMap) -> bool:
    """Whether the counter window the network is surest of stands on end (more than 45 degrees
    from level): the photo was taken on its side."""
    found = wmap.rows()
    return bool(found) and abs(found[0].angle) > _ON_END


def _text_on_end(boxes: np.ndarray | None) -> bool:
    """Whether most of the text in the photo (by area, of the boxes long enough to have an
    axis) stands on end: the photo was taken on its side. Upright or upside down, no real photo
    has more than two fifths of its text so; on its side, 58 of 64 have more than half, also
    where the window network sees no window standing on end (laurynas 1 turned 270 read
    `69601711`)."""
    if boxes is None:
        return False
    level = standing = 0.0
    for box in boxes:
        row = geometry.row_from_points(np.asarray(box, np.float32), "text")
        if not rows.has_axis(row):  # neither stands nor lies
            continue
        if abs(row.angle) > _ON_END:
            standing += row.length * row.height
        else:
            level += row.length * row.height
    return standing > level


def _unturned(quads: list[np.ndarray], turns: int, shape: tuple[int, int]
              ) -> tuple[list[np.ndarray], tuple[int, int]]:
    """Quads found in an image turned ``turns`` quarter turns anticlockwise by ``np.rot90``
    (of ``shape``, rows x columns, as turned), in the image before the turn, and its shape."""
    rows_, cols = shape
    if turns == 0:
        return quads, (rows_, cols)
    if turns == 2:
        return [np.stack([cols - q[:, 0], rows_ - q[:, 1]], 1) for q in quads], (rows_, cols)
    out = []
    for q in quads:
        x, y = q[:, 0], q[:, 1]
        # np.rot90 once: the turned image's (x, y) was (width - y, x) before the turn.
        back = np.stack([rows_ - y, x], 1) if turns == 1 else np.stack([y, cols - x], 1)
        out.append(back)
    return out, (cols, rows_)


def colourless(bgr: np.ndarray) -> bool:
    """Whether a photo has no colour to speak of (greyscale, or near it): no drum can show red."""
    spread = cv2.subtract(cv2.max(cv2.max(bgr[..., 0], bgr[..., 1]), bgr[..., 2]),
                          cv2.min(cv2.min(bgr[..., 0], bgr[..., 1]), bgr[..., 2]))
    return bool(np.percentile(spread[::4, ::4], 99) <= _GREY_SPREAD)


def _whole_counter(best: Candidate, candidates: list[Candidate]
                   ) -> tuple[Candidate, list[Candidate]]:
    """The best reading, or another that holds all its digits, read alike in the same places of
    the photo, and more drums at its ends, each read surely, and on which the two readers
    agree: a cut of the counter that stopped at a drum caught mid-roll (its colour breaks the
    row of drums) saw only part of it. (The classifier alone reads a unit plate's edge as a
    sure drum: ``008641``.) Also the candidates that still rival the reading: one that is a
    part of it is not."""
    wholes = [
        c for c in candidates
        if c.agrees and c.score >= _SIBLING * best.score and _holds(c.read, best.read)
    ]
    if not wholes:
        return best, candidates
    whole = max(wholes, key=lambda c: (len(c.read.digits), c.score))
    whole = replace(whole, score=max(whole.score, best.score))
    return whole, [c for c in candidates if not _holds(whole.read, c.read, sure=False)]


def _centres(read: ctc.CounterRead) -> np.ndarray:
    """The centres of ``read``'s digits in the work image."""
    quads = geometry.digit_quads(read.strip, [d.x for d in read.digits], read.pitch)
    return np.array([q.mean(0) for q in quads])


def _holds(whole: ctc.CounterRead, part: ctc.CounterRead, sure: bool = True) -> bool:
    """Whether ``whole`` holds ``part``'s digits, read alike in the same places of the photo,
    and more at its ends (each read surely, with ``sure``)."""
    n, m = len(part.digits), len(whole.digits)
    if n == 0 or m <= n:
        return False
    a, b = _centres(part), _centres(whole)
    step = float(np.median(np.linalg.norm(np.diff(b, axis=0), axis=1)))
    for k in range(m - n + 1):
        if all(
            part.digits[i].char == whole.digits[k + i].char
            and float(np.linalg.norm(a[i] - b[k + i])) < 0.4 * step
            for i in range(n)
        ):
            extra = [*whole.digits[:k], *whole.digits[k + n :]]
            return not sure or all(d.prob >= _EXTRA_SURE and not d.guessed for d in extra)
    return False


def settle(best: Candidate, candidates: list[Candidate]) -> tuple[ctc.CounterRead, float]:
    """The reading given for the best candidate, and how sure the engine is of it.

    The confidence is that of the reading given, point included: the decimals it borrowed
    count (one or two are doubtful), and the reading that lent them is no rival.
    """
    given = replace(best, read=_with_point(best, candidates))
    return given.read, scoring.confidence(given, candidates)


def _with_point(best: Candidate, candidates: list[Candidate]) -> ctc.CounterRead:
    """The best reading, with the decimals of another reading of the same digits where it has
    none: a cut that takes in the plate around light drums can hide their red digits (a red
    plate around white drums)."""
    read = best.read
    if "." in read.value:
        return read
    # Two red drums at least: one alone at the end is as often a red unit or a pointer beside
    # the counter (a red `m3` plate gave `0056.1` for 00561).
    same = [
        c for c in candidates
        if 2 <= c.read.decimals < len(c.read.digits) and c.read.value.replace(".", "") == read.value
        and c.score >= _SIBLING * best.score
    ]
    if not same:
        return read
    return replace(read, red=max(same, key=lambda c: c.score).read.red)


def _on_window(cover: float) -> float:
    """The weight of a candidate whose row lies ``cover`` on the counter window."""
    return _OFF_WINDOW + (1 - _OFF_WINDOW) * cover


def _count_fits(wmap: window.WindowMap, quads: list[np.ndarray]) -> float:
    """1, or less where the digits read span much less (or more) of the counter window than
    it has: a drum may be missing, or a stray mark read as one. The digit count is doubtful."""
    centres = np.array([q.mean(0) for q in quads])
    if len(centres) < 2:
        return _DOUBTFUL_COUNT
    along = centres[-1] - centres[0]
    step = float(np.hypot(*along)) / (len(centres) - 1)
    mid = centres.mean(0)
    window = wmap.extent(float(mid[0]), float(mid[1]), float(np.degrees(np.arctan2(*along[::-1]))))
    span = step * len(centres)
    if window and not 0.9 * window <= span <= 1.3 * window:
        return _DOUBTFUL_COUNT
    return 1.0


def _edge_fits(quads: list[np.ndarray], width: int, height: int) -> float:
    """1, or less where the photo ends within a drum of the reading's first or last digit: a
    drum cut off by the photo's edge (a tight crop) may be missing. The digit count is
    doubtful."""
    centres = np.array([q.mean(0) for q in quads])
    if len(centres) < 2:
        return 1.0
    step = (centres[-1] - centres[0]) / (len(centres) - 1)
    for beyond in (centres[0] - step, centres[-1] + step):
        if not (0 <= beyond[0] < width and 0 <= beyond[1] < height):
            return _DOUBTFUL_COUNT
    return 1.0


def _weighed(candidates: list[Candidate], wmap: window.WindowMap) -> list[Candidate]:
    """The candidates' scores weighed by where their rows lie, the best of them at its own."""
    # Rows off the counter window (serial numbers, dials, brand names) count for less.
    covers = [wmap.cover(c.read.strip.row) for c in candidates]
    weights = [_on_window(cover) for cover in covers]
    # A row read the other way round from the one showing its unit after it is upside down.
    weights = [w * u for w, u in zip(weights, scoring.unit_weights(candidates), strict=True)]
    # The network's own rows are cut from a coarse map, a little too long: where a row found
    # in finer detail lies on the window too, it is the better cut of the same counter.
    finer = any(
        not scoring.coarse(c.read) and cover >= _ON_WINDOW and len(c.read.digits) >= 4
        for c, cover in zip(candidates, covers, strict=True)
    )
    if finer:
        weights = [
            w * (scoring.COARSE if scoring.coarse(c.read) else 1.0)
            for w, c in zip(weights, candidates, strict=True)
        ]
    top = max(weights, default=1.0)
    return [replace(c, score=c.score * w / top) for c, w in zip(candidates, weights, strict=True)]


def _longest_run(cells: list[drums.Drum]) -> list[drums.Drum]:
    """The longest run of neighbouring cells that each surely hold a drum."""
    best: list[drums.Drum] = []
    run: list[drums.Drum] = []
    for d in cells:
        run = [*run, d] if d.none < _CELL_NONE and d.sure >= _CELL_SURE else []
        if len(run) > len(best):
            best = run
    return best


def _unsure(first: ctc.Digit | None) -> bool:
    """Whether the recogniser read no digit, or not surely, where a cell is."""
    return first is None or first.prob < _OCR_SURE


def _agree(first: ctc.Digit | None, digit: int, drum: drums.Drum) -> ctc.Digit:
    """One drum's digit from both readers: the classifier's, unless it is unsure and the
    recogniser read a whole digit there surely (its font knowledge is broader)."""
    if first is None:  # a drum only the classifier read
        return ctc.Digit(str(digit), drum.sure, drum.x)
    if (
        str(digit) != first.char
        and not first.guessed
        and first.prob >= _OCR_SURE
        and drum.sure < _CLASSIFIER_UNSURE
    ):
        return replace(first, prob=min(first.prob, 1 - drum.sure), x=drum.x)
    return replace(first, char=str(digit), prob=drum.sure, x=drum.x, guessed=False)


def _axis_aligned(quad: np.ndarray) -> Quad:
    """The digit's upright bounding box, corners from top-left clockwise, as the API's
    ``bboxes_norm`` are (its boxes are not turned with the row)."""
    x0, y0 = float(quad[:, 0].min()), float(quad[:, 1].min())
    x1, y1 = float(quad[:, 0].max()), float(quad[:, 1].max())
    def clip(v):
        return min(1.0, max(0.0, v))
    x0, y0, x1, y1 = clip(x0), clip(y0), clip(x1), clip(y1)
    return ((x0, y0), (x1, y0), (x1, y1), (x0, y1))
