"""A file beside the workbook where each new reading is written the moment it is known.

A run on a workbook file saves the workbook once, at the end. If the process dies before that
(a crash, a kill, a power cut), the journal still holds every reading that was paid for; the
next run merges it into the cache and sends none of those photos again. After a successful save
the journal is deleted.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import openpyxl

from xlwings_meter.errors import JournalError
from xlwings_meter.workbook.cache import (
    CACHE_SHEET,
    CacheEntry,
    entry_from_json,
    entry_to_json,
)


class Journal:
    """Append-only JSON-lines file of cache entries, flushed to disk line by line."""

    def __init__(self, path: Path, workbook: Path | None = None) -> None:
        self.path = path
        self.workbook = workbook
        self._lock = threading.Lock()

    @classmethod
    def beside(cls, workbook: Path) -> Journal:
        """The journal of a workbook file: a hidden file next to it."""
        return cls(workbook.parent / f".{workbook.name}.meter-journal", workbook)

    def unsaved(self) -> list[CacheEntry]:
        """The entries the saved workbook file does not hold yet; the journal keeps only those.

        An entry whose photo is on the cache sheet of the file as saved is safe there and is
        cut from the journal. Any other may have been paid for and never saved (a crash, a
        close without saving), whatever the file's date says: it is kept, to be merged back.
        """
        if self.workbook is None or not self.path.exists():
            return self.entries()
        saved = digests_saved_in(self.workbook)
        entries = self.entries()  # read after the slow part: a line appended meanwhile is kept
        keep = [e for e in entries if e.digest not in saved]
        if len(keep) < len(entries):
            self._rewrite(keep)
        return keep

    def _rewrite(self, entries: list[CacheEntry]) -> None:
        if not entries:
            self.remove()
            return
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            with self._lock:
                tmp.write_text("".join(entry_to_json(e) + "\n" for e in entries), encoding="utf-8")
                os.replace(tmp, self.path)
        except OSError as exc:
            raise JournalError(f"cannot write the journal {self.path} ({exc.strerror or exc})") from exc

    def append(self, entry: CacheEntry) -> None:
        """Write one entry and force it to disk before returning.

        Raises JournalError when it cannot: the batch then stops paying for photos whose
        readings could be lost (the entry itself is still in the cache in memory).
        """
        line = entry_to_json(entry) + "\n"
        try:
            with self._lock, open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise JournalError(f"cannot write the journal {self.path} ({exc.strerror or exc})") from exc

    def entries(self) -> list[CacheEntry]:
        """Every readable entry; a line cut short by a crash is skipped.

        Raises JournalError when the journal exists but cannot be read.
        """
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise JournalError(f"cannot read the journal {self.path} ({exc.strerror or exc})") from exc
        return [e for line in text.splitlines() if (e := entry_from_json(line)) is not None]

    def remove(self) -> None:
        """Delete the journal (its entries are safely in the saved workbook)."""
        self.path.unlink(missing_ok=True)



def digests_saved_in(workbook: Path) -> set[str]:
    """The photo hashes on the cache sheet of a workbook file as saved; empty if unreadable."""
    try:
        wb = openpyxl.load_workbook(workbook, read_only=True)
    except Exception:  # missing, being written, not a workbook: nothing is known to be saved
        return set()
    try:
        if CACHE_SHEET not in wb.sheetnames:
            return set()
        rows = wb[CACHE_SHEET].iter_rows(min_row=2, max_col=1, values_only=True)
        return {str(row[0]).lower() for row in rows if row and row[0]}
    except Exception:  # a damaged sheet part: read lazily, so it fails here
        return set()
    finally:
        wb.close()
