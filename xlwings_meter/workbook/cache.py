"""The readings cache, kept on a hidden sheet of the workbook itself.

One row per photo content (SHA-256 of the file) and engine, so a recalculation, a second run or
a colleague opening the workbook never pays twice for the same photo, whatever it is called now,
and reading it with another engine keeps the reading paid for beside the new one. A row without
an engine (written before the cache recorded it) counts as any engine's. The sheet is the
source of truth: delete a row and that photo is read again. Only final outcomes (a reading, or
"no reading") are stored; a failure is tried again next time.

Beside the machine's reading, a row keeps the audit of a person's correction of it (the value
typed in the Corrected column, who typed it, when): reading the photo again never discards it.
Caches written before those three columns existed are read as entries without a correction.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from xlwings_meter.reading import NO_READING_MESSAGE, Reading, ReadingStatus
from xlwings_meter.workbook.sheet import Cell, SheetIO

CACHE_SHEET = "xlwings_meter_cache"
HEADERS = (
    "Photo SHA-256",
    "Path last seen",
    "Value as read",
    "Number",
    "Confidence",
    "Angle",
    "Digit boxes",
    "Status",
    "Read at (UTC)",
    "Engine",
)
#: A person's correction of a reading, in the entry's row but columns of their own, past the
#: record of Status texts (``written``, columns L:M): a cache without corrections keeps the ten
#: columns it always had, and one written before the audit existed reads as it is.
AUDIT_HEADERS = ("Corrected to", "Corrected by", "Corrected at (UTC)")
AUDIT_COLUMN = len(HEADERS) + 5  # O
#: Column R: the readings of this photo a refresh replaced, as the tool wrote them into sheets
#: (JSON [[value, confidence, angle], ...]): another sheet still showing one is the tool's, not
#: a person's edit, and gets the new reading.
EARLIER_HEADER = "Readings it replaced"
_TAIL = (*AUDIT_HEADERS, EARLIER_HEADER)
_WIDTH = len(HEADERS) + len(_TAIL)
#: The same columns by name, as the journal stores them: renaming a header never costs a reading.
FIELDS = ("digest", "path", "value", "number", "confidence", "angle", "boxes", "status", "read_at", "engine",
          "corrected", "corrected_by", "corrected_at", "earlier")
_TEXT = "@"
#: (photo SHA-256, engine): one entry each.
Key = tuple[str, str]


@dataclass(frozen=True)
class CacheEntry:
    """What the cache knows about one photo content."""

    digest: str
    path: str
    reading: Reading
    read_at: str  # ISO 8601, UTC
    engine: str
    corrected: str = ""  # a person's correction of the reading, as typed; "" when none
    corrected_by: str = ""  # the user name of who typed it
    corrected_at: str = ""  # when this tool first saw it, ISO 8601, UTC
    earlier: tuple[tuple[str, float | None, float | None], ...] = ()  # readings a refresh replaced

    def earlier_readings(self) -> list[Reading]:
        """The readings of this photo by this engine that a refresh replaced."""
        return [Reading(ReadingStatus.READ, value=v, confidence=c, angle=a) for v, c, a in self.earlier]

    def replacing(self, known: CacheEntry) -> CacheEntry:
        """This entry, remembering ``known`` (the entry it replaces) and what that replaced."""
        earlier = list(known.earlier)
        r = known.reading
        if r.status is ReadingStatus.READ and r != self.reading:
            earlier.append((r.value or "", r.confidence, r.angle))
        earlier += [e for e in self.earlier if e not in earlier]
        return replace(self, earlier=tuple(dict.fromkeys(earlier)))

    @property
    def key(self) -> Key:
        """What the cache keeps the entry under: the photo's content and the engine."""
        return self.digest, self.engine

    def to_row(self) -> list[Cell]:
        """The entry as one row of the cache sheet."""
        r = self.reading
        boxes = json.dumps([[[round(x, 6), round(y, 6)] for x, y in q] for q in r.boxes])
        earlier = json.dumps([list(e) for e in self.earlier]) if self.earlier else ""
        return [self.digest, self.path, r.value, r.number, r.confidence, r.angle, boxes,
                r.status.value, self.read_at, self.engine, self.corrected, self.corrected_by, self.corrected_at,
                earlier]

    @classmethod
    def from_row(cls, row: list[Cell]) -> CacheEntry | None:
        """Parse one row of the cache sheet; None for a row that is not a usable entry."""
        row = _padded(row)
        digest, path, value, _number, confidence, angle, boxes, status, read_at, engine, *audit = row
        if not isinstance(digest, str) or len(digest) != 64:
            return None
        try:
            st = ReadingStatus(str(status))
            if not st.is_final:
                return None
            if st is ReadingStatus.NO_READING:
                reading = Reading.failure(st, NO_READING_MESSAGE)
            else:
                reading = Reading(
                    st,
                    value=_as_text(value),
                    confidence=_optional_float(confidence),  # the service may leave it out
                    angle=_optional_float(angle),
                    boxes=_parse_boxes(boxes),
                )
                if reading.number is None:
                    return None
        except (ValueError, TypeError):
            return None
        corrected, by, at = (_as_text(v) for v in audit[:3])
        if not corrected:  # who and when mean nothing without the correction itself
            by = at = ""
        return cls(digest.lower(), str(path or ""), reading, str(read_at or ""), str(engine or ""),
                   corrected, by, at, _parse_earlier(audit[3]))


def now_utc() -> str:
    """The current time as the cache writes it."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ReadingCache:
    """The cache sheet, loaded once and held in memory; new entries are written by flush().

    ``record`` is thread-safe (engines run in several threads). ``on_record`` is called with
    every new entry as soon as it is known, before flush: the command line uses it to journal
    readings to disk so a crash loses nothing.
    """

    def __init__(self, sheet: SheetIO, on_record: Callable[[CacheEntry], None] | None = None) -> None:
        self._sheet = sheet
        self._on_record = on_record
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()  # Excel flushes from two threads: never interleave
        self._entries: dict[Key, CacheEntry] = {}
        self._dirty: dict[Key, CacheEntry] = {}
        self._seen: str | None = None  # fingerprint of the sheet's content when memory last matched it
        self._flushing = False
        self._flushes = 0  # how many flushes have ended: sync() notices one that ran meanwhile
        self.sync()

    def sync(self) -> bool:
        """Make memory match the sheet again if its content changed since it was read.

        Another process appended readings (the button without a shared UDF server), or a person
        deleted rows so those photos are read again, or both at once: any change of content
        counts, not only of the row count. Costs one read of the sheet; parsing only when it
        changed. Entries not yet flushed are kept. Returns True if it reloaded.
        """
        # Not under the flush lock: in Excel a flush can wait on a busy Excel, and a worksheet
        # function waiting on it would hold up the very calculation Excel is busy with.
        with self._lock:
            flushes = self._flushes
        block = self._read_all()
        seen = _fingerprint(block)
        if seen == self._seen:
            return False
        entries = [e for row in block[1:] if (e := CacheEntry.from_row(row)) is not None]
        with self._lock:
            if self._flushing or self._flushes != flushes:
                # A flush wrote meanwhile, so what was read may miss its rows: forget nothing,
                # only add what the sheet has and memory lacks; the full swap waits for next time.
                for e in entries:
                    self._entries.setdefault(e.key, e)
                return False
            self._entries = {e.key: e for e in entries}
            self._entries.update(self._dirty)
            self._seen = seen
        return True

    @property
    def sheet(self) -> SheetIO:
        """The sheet the cache is kept on (the record of Status texts written shares it)."""
        return self._sheet

    def entries(self) -> list[CacheEntry]:
        """Every entry known, the sheet's and those not flushed yet."""
        with self._lock:
            return list(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, digest: str, engine: str | None = None) -> CacheEntry | None:
        """The cached entry for a photo content, or None.

        With ``engine``, only an outcome that engine produced: one engine's "no reading" (or
        reading) is never served as another's. An entry without an engine (written before the
        cache recorded it) counts as any engine's. Without ``engine``, the latest outcome of any.
        """
        with self._lock:
            if engine is not None:
                return self._entries.get((digest, engine)) or self._entries.get((digest, ""))
            mine = [e for e in self._entries.values() if e.digest == digest]
        return max(mine, key=lambda e: e.read_at, default=None)

    def _of(self, digest: str) -> list[CacheEntry]:
        """Every engine's entry for a photo content (call holding the lock)."""
        return [e for e in self._entries.values() if e.digest == digest]

    def record(self, entry: CacheEntry) -> None:
        """Remember an entry (only final outcomes are kept); it reaches the sheet at flush()."""
        if not entry.reading.status.is_final:
            return
        with self._lock:
            # A correction is of the photo: a re-reading, by any engine, keeps it.
            known = next((e for e in self._of(entry.digest) if e.corrected), None)
            if known is not None and not entry.corrected:
                entry = replace(entry, corrected=known.corrected, corrected_by=known.corrected_by,
                                corrected_at=known.corrected_at)
            if (replaced := self._entries.get(entry.key)) is not None:  # a refresh
                entry = entry.replacing(replaced)
            self._entries[entry.key] = entry
            self._dirty[entry.key] = entry
        if self._on_record is not None:
            self._on_record(entry)

    def seen_at(self, digest: str, path: str) -> None:
        """Note that a cached photo now lives at ``path`` (a renamed or copied photo)."""
        with self._lock:
            for entry in self._of(digest):
                if entry.path != path:
                    entry = replace(entry, path=path)
                    self._entries[entry.key] = entry
                    self._dirty[entry.key] = entry

    def correct(self, digest: str, corrected: str, user: str, when: str) -> bool:
        """Record a person's correction of a photo's reading ("" when it was taken back);
        True if that changed the entry. A photo the cache does not know is not recorded; the
        correction is of the photo, so every engine's entry for it carries it."""
        with self._lock:
            changed = []
            for entry in self._of(digest):
                if entry.corrected != corrected:
                    entry = replace(entry, corrected=corrected, corrected_by=user if corrected else "",
                                    corrected_at=when if corrected else "")
                    self._entries[entry.key] = entry
                    self._dirty[entry.key] = entry
                    changed.append(entry)
        if self._on_record is not None:
            for entry in changed:
                self._on_record(entry)
        return bool(changed)

    def merge(self, entries: Iterable[CacheEntry]) -> int:
        """Add entries recovered from elsewhere (a journal, the file a command-line run saved)
        that the sheet lacks, or that read its photo again since; returns how many."""
        added = 0
        for entry in entries:
            if not entry.reading.status.is_final:
                continue
            with self._lock:
                known = self._entries.get(entry.key)
                # Times are to the second: at a tie, a reading this process made itself is the
                # newer one, and a recovered one is newer than the sheet's.
                newer = known is None or entry.read_at > known.read_at or (
                    entry.read_at == known.read_at and entry.key not in self._dirty)
                if newer and entry != known:
                    entry = entry.replacing(known) if known is not None else entry
                    self._entries[entry.key] = entry
                    self._dirty[entry.key] = entry
                    added += 1
        return added

    def flush(self) -> None:
        """Write every new or changed entry to the cache sheet, in at most two block writes.

        Rows are located afresh, so rows someone else appended, moved or deleted since the load
        are respected: changed entries are rewritten where their row is now, new ones appended
        below the last used row. If the write fails, the entries stay pending for the next flush.
        """
        with self._flush_lock:
            with self._lock:
                dirty, self._dirty = self._dirty, {}
                if not dirty:
                    return
                self._flushing = True
            try:
                self._write(dirty)
            except BaseException:
                with self._lock:
                    for key, entry in dirty.items():
                        self._dirty.setdefault(key, entry)
                raise
            finally:
                with self._lock:
                    self._flushing = False
                    self._flushes += 1

    @property
    def pending(self) -> int:
        """How many entries wait for the next flush."""
        with self._lock:
            return len(self._dirty)

    def _read_all(self) -> list[list[Cell]]:
        """Each row's reading and audit cells (what lies between them is another record's)."""
        last_row, _ = self._sheet.extent()
        block = self._sheet.read_block(1, 1, last_row, AUDIT_COLUMN + len(_TAIL) - 1) if last_row else []
        block = [row[: len(HEADERS)] + row[AUDIT_COLUMN - 1:] for row in block]
        while block and all(v in (None, "") for v in block[-1]):  # other columns reach further down
            block.pop()
        return block

    def _write(self, dirty: dict[Key, CacheEntry]) -> None:
        block = self._read_all()
        last_row = len(block)
        matched = _fingerprint(block) == self._seen  # nobody else changed the sheet since our load
        where = {(row[0].lower(), _as_text(_padded(row)[9])): i for i, row in enumerate(block[1:], start=2)
                 if row and isinstance(row[0], str)}
        if last_row == 0:
            self._sheet.write_block(1, 1, [list(HEADERS)])
            last_row = 1
        audit = any(e.corrected or e.corrected_by or e.earlier for e in dirty.values()) or (
            bool(block) and _padded(block[0])[len(HEADERS)] == AUDIT_HEADERS[0])
        if audit and (not block or _padded(block[0])[len(HEADERS):] != list(_TAIL)):
            self._sheet.write_block(1, AUDIT_COLUMN, [list(_TAIL)])
        changed = {where[k]: e for k, e in dirty.items() if k in where}
        if changed:
            top, bottom = min(changed), max(changed)
            rows = [changed[r].to_row() if r in changed else _padded(block[r - 1])
                    for r in range(top, bottom + 1)]
            self._write_rows(top, rows, audit)
        appended = [e for k, e in dirty.items() if k not in where]
        if appended:
            top = last_row + 1
            self._write_rows(top, [e.to_row() for e in appended], audit)
        if matched:  # our own rows are no reason to reload
            self._seen = _fingerprint(self._read_all())

    def _write_rows(self, top: int, rows: list[list[Cell]], audit: bool) -> None:
        """Rows of entries from ``top``: the reading's columns, and the audit's when ``audit``."""
        n = len(HEADERS)
        formats = _formats()
        self._sheet.write_block(top, 1, [r[:n] for r in rows], [formats[:n]] * len(rows))
        if audit:
            self._sheet.write_block(top, AUDIT_COLUMN, [r[n:] for r in rows], [formats[n:]] * len(rows))


def _fingerprint(block: list[list[Cell]]) -> str:
    return hashlib.sha256(repr(block).encode("utf-8")).hexdigest()


def _formats() -> list[str | None]:
    # The hash, path, value and boxes must stay text: "00935.781" would otherwise become a number.
    return [_TEXT, _TEXT, _TEXT, None, None, None, _TEXT, _TEXT, _TEXT, _TEXT, _TEXT, _TEXT, _TEXT, _TEXT]


def _padded(row: list[Cell]) -> list[Cell]:
    return (list(row) + [None] * _WIDTH)[:_WIDTH]


def _optional_float(value: Cell) -> float | None:
    return None if value is None or value == "" else float(value)


def _as_text(value: Cell) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _parse_earlier(text: Cell) -> tuple[tuple[str, float | None, float | None], ...]:
    try:
        data = json.loads(str(text)) if text else []
        return tuple((str(v), _optional_float(c), _optional_float(a)) for v, c, a in data)
    except (ValueError, TypeError):  # a mangled cell costs only the memory of old readings
        return ()


def _parse_boxes(text: Cell) -> tuple:
    if not text:
        return ()
    data = json.loads(str(text))
    return tuple(tuple((float(x), float(y)) for x, y in quad) for quad in data)
