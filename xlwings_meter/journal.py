"""A file beside the workbook where each new reading is written the moment it is known.

A run on a workbook file saves the workbook once, at the end. If the process dies before that
(a crash, a kill, a power cut), the journal still holds every reading that was paid for; the
next run merges it into the cache and sends none of those photos again. After a successful save
the journal is deleted.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime, timezone
from pathlib import Path

from .cache import CacheEntry, entry_from_json, entry_to_json
from .errors import JournalError


#: Seconds before a save within which a reading still counts as possibly unsaved: readings
#: are timed to the second, and reach the cache sheet a moment after they are read.
SAVE_MARGIN = 5.0


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
        """The entries read after the workbook file was last saved, which it may lack.

        An older entry is in the saved file, or a person deleted its row from the cache sheet
        so that the photo is read again: either way it is forgotten, and the journal is cut
        down to the entries returned.
        """
        entries = self.entries()
        try:
            saved_at = self.workbook.stat().st_mtime if self.workbook else None
        except OSError:
            saved_at = None
        if saved_at is None:
            return entries
        keep = [e for e in entries if _read_at(e) >= saved_at - SAVE_MARGIN]
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


def _read_at(entry: CacheEntry) -> float:
    """When an entry was read, as a timestamp; +inf (keep it) when the time is unreadable."""
    try:
        return datetime.strptime(entry.read_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    except ValueError:
        return float("inf")
