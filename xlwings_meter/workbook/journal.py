"""A file beside the workbook where each new reading is written the moment it is known.

A run on a workbook file saves the workbook once, at the end. If the process dies before that
(a crash, a kill, a power cut), the journal still holds every reading that was paid for; the
next run merges it into the cache and sends none of those photos again. After a successful save
the journal is deleted.

Beside it, a lock file lets one run at a time read a workbook (:meth:`Journal.lock`): two runs
at once would each pay for every photo the other is paying for.
"""

from __future__ import annotations

import errno
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from xlwings_meter.errors import JournalError, WorkbookBusyError
from xlwings_meter.workbook.cache import CACHE_SHEET, FIELDS, CacheEntry

#: The journal's format. Version 1: one JSON object per line, keyed by FIELDS, with "v": 1.
#: Lines without "v" were written before it and are keyed by HEADERS.
JOURNAL_VERSION = 1
#: Seconds a second run waits for the first to finish before it gives up with a message.
LOCK_WAIT = 5.0
_LOCK_POLL = 0.05


class Journal:
    """Append-only JSON-lines file of cache entries, flushed to disk line by line."""

    def __init__(self, path: Path, workbook: Path | None = None) -> None:
        self.path = path
        self.workbook = workbook
        self._lock = threading.Lock()

    @classmethod
    def beside(cls, workbook: Path) -> Journal:
        """The journal of a workbook file: a hidden file next to it. For a workbook reached
        through a symbolic link, next to the file the link leads to, as is its lock: every
        link to one file shares one journal and one lock."""
        workbook = Path(workbook).resolve()
        return cls(workbook.parent / f".{workbook.name}.meter-journal", workbook)

    def lock(self, wait: float = LOCK_WAIT, holder: str = "xlwings-meter read") -> RunLock:
        """The lock of this journal's workbook, shared by every process that reads it.

        Use it as ``with journal.lock(): ...``; it raises WorkbookBusyError after ``wait``
        seconds if another run holds it. ``holder`` names this run in the other's message.
        """
        return RunLock(self.path.with_name(self.path.name.replace(".meter-journal", ".meter-lock")),
                       self.workbook or self.path, wait=wait, holder=holder)

    def unsaved(self) -> list[CacheEntry]:
        """The entries the saved workbook file does not hold yet; the journal keeps only those.

        An entry is safe in the file when its cache sheet holds that very reading: the same
        photo, engine, time and outcome. Any other may have been paid for and never saved (a
        crash, a close without saving, a kill during ``--refresh``, whose new reading of a photo
        the sheet holds an older reading of), whatever the file's date says: it is kept, to be
        merged back.
        """
        if self.workbook is None or not self.path.exists():
            return self.entries()
        saved = {_identity(e) for e in entries_saved_in(self.workbook)}
        entries = self.entries()  # read after the slow part: a line appended meanwhile is kept
        keep = [e for e in entries if _identity(e) not in saved]
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
                tmp.unlink(missing_ok=True)  # a link left there is removed, not written through
                with _open_own(tmp, "a") as fh:
                    fh.write("".join(entry_to_json(e) + "\n" for e in entries))
                os.replace(tmp, self.path)
        except OSError as exc:
            raise JournalError(f"cannot write the journal {self.path} ({_why(exc)})") from exc

    def append(self, entry: CacheEntry) -> None:
        """Write one entry and force it to disk before returning.

        Raises JournalError when it cannot: the batch then stops paying for photos whose
        readings could be lost (the entry itself is still in the cache in memory).
        """
        line = entry_to_json(entry) + "\n"
        try:
            with self._lock, _open_own(self.path, "a") as fh:
                fh.write(line)
                fh.flush()
                os.fsync(fh.fileno())
        except OSError as exc:
            raise JournalError(f"cannot write the journal {self.path} ({_why(exc)})") from exc

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


class RunLock:
    """An exclusive, advisory lock on a workbook: a hidden file beside it, locked by the OS.

    The operating system releases the lock when its process dies, however it dies, so a crash
    never leaves a workbook locked. The file names its holder (what, process, since when) for
    the message of a run that has to wait; it is deleted when the lock is released.
    """

    def __init__(self, path: Path, workbook: Path, *, wait: float, holder: str) -> None:
        self.path = path
        self.workbook = workbook
        self.wait = wait
        self.holder = holder
        self._fh: IO[str] | None = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the lock, waiting up to ``wait`` seconds. Raises WorkbookBusyError, JournalError."""
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fh, writable = _open_lock(self.path)  # held until release()
            except OSError as exc:
                raise JournalError(f"cannot create the lock file {self.path} ({_why(exc)})") from exc
            if _try_lock(fh):
                if _same_file(fh, self.path):
                    if writable:
                        fh.seek(0)
                        fh.truncate()
                        fh.write(f"{self.holder}, process {os.getpid()}, since {datetime.now():%H:%M:%S}\n")
                        fh.flush()
                    self._fh = fh
                    return
                fh.close()  # the holder deleted it as we opened it: take the new one
                continue
            fh.close()
            if time.monotonic() >= deadline:
                raise WorkbookBusyError(
                    f"Another run is reading {self.workbook.name} ({self._who()}): wait for it to "
                    "finish, then run again", path=self.workbook, holder=self._who())
            time.sleep(_LOCK_POLL)

    def release(self) -> None:
        """Let go of the lock (and delete the file, where the system allows it)."""
        fh, self._fh = self._fh, None
        if fh is None:
            return
        try:
            if sys.platform != "win32":  # deleted while still locked: no one can take a stale file
                self.path.unlink(missing_ok=True)
        except OSError:
            pass
        finally:
            fh.close()  # closing releases the lock

    def _who(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8").strip() or "another process"
        except OSError:
            return "another process"


def _open_own(path: Path, mode: str) -> IO[str]:
    """Open (or create) one of this program's files beside a workbook, for appending (``a``)
    or for appending and reading (``a+``); never through a symbolic link, which someone
    sharing the folder could point at a file of the user's, to have it overwritten."""
    flags = os.O_CREAT | os.O_APPEND | (os.O_RDWR if "+" in mode else os.O_WRONLY)
    fd = os.open(path, flags | getattr(os, "O_NOFOLLOW", 0), 0o644)
    return os.fdopen(fd, mode, encoding="utf-8")


def _open_lock(path: Path) -> tuple[IO[str], bool]:
    """The lock file, opened (or created) for writing where this user may, else, where it
    exists, for reading: another user's lock file (a colleague's run on a shared workbook)
    locks for reading all the same, and must be waited for, not passed by."""
    try:
        return _open_own(path, "a+"), True
    except PermissionError as denied:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            raise denied from None  # none there, and none can be made: the folder is read-only
        return os.fdopen(fd, "r", encoding="utf-8"), False


def _why(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "it is a symbolic link; delete it, then run again"
    return str(exc.strerror or exc)


@contextmanager
def locked(source: Path, output: Path, wait: float = LOCK_WAIT) -> Iterator[None]:
    """The command line's lock: hold the run lock of a workbook and of the one its readings
    are saved to, in a fixed order. A source saved elsewhere, in a folder this user may not write (a colleague's share,
    read-only media), is not locked: its lock cannot be made there, and no run of this user
    can save into that folder either."""
    output = output.resolve()
    with ExitStack() as stack:
        for path in sorted({source.resolve(), output}):
            if not path.parent.is_dir():  # no workbook to protect: opening it will say so
                continue
            try:
                stack.enter_context(Journal.beside(path).lock(wait))
            except JournalError as exc:
                cause = exc.__cause__
                denied = isinstance(cause, OSError) and cause.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
                if denied and path == output:
                    hint = ("; save them to a file elsewhere (read --output FILE)"
                            if output == source.resolve() else "")
                    raise JournalError(f"{exc}: the readings cannot be saved in that folder{hint}") from exc
                if not denied:
                    raise
        yield


if sys.platform == "win32":
    import msvcrt

    def _try_lock(fh: IO[str]) -> bool:
        try:
            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _same_file(fh: IO[str], path: Path) -> bool:
        return True  # an open file cannot be deleted there
else:
    import fcntl

    def _try_lock(fh: IO[str]) -> bool:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _same_file(fh: IO[str], path: Path) -> bool:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return False
        here = os.fstat(fh.fileno())
        return (st.st_dev, st.st_ino) == (here.st_dev, here.st_ino)


def entries_saved_in(workbook: Path) -> list[CacheEntry]:
    """The readings on the cache sheet of a workbook file as saved (by a command-line run, say,
    while the same workbook is open in Excel); empty if unreadable."""
    import openpyxl  # here only: loading it (and numpy with it) costs a run a fifth of a second

    try:
        wb = openpyxl.load_workbook(workbook, read_only=True)
    except Exception:  # missing, being written, not a workbook: nothing saved
        return []
    try:
        if CACHE_SHEET not in wb.sheetnames:
            return []
        rows = wb[CACHE_SHEET].iter_rows(min_row=2, values_only=True)
        return [e for row in rows if (e := CacheEntry.from_row(list(row))) is not None]
    except Exception:  # a damaged sheet part: read lazily, so it fails here
        return []
    finally:
        wb.close()


def _identity(entry: CacheEntry) -> tuple[object, ...]:
    """What makes two entries the same reading (the path a photo was last seen at does not)."""
    r = entry.reading
    return (entry.digest, entry.engine, entry.read_at, r.status, r.value, r.confidence, r.angle)


def entry_to_json(entry: CacheEntry) -> str:
    """One journal line for an entry (format JOURNAL_VERSION)."""
    return json.dumps({"v": JOURNAL_VERSION, **dict(zip(FIELDS, entry.to_row()))}, ensure_ascii=False)


def entry_from_json(line: str) -> CacheEntry | None:
    """Parse a journal line; None for a line that is not a usable entry (e.g. cut by a crash)."""
    try:
        data: dict[str, Any] = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    version = data.get("v")
    if version is None:  # written before the format had a version: keyed by the headers of then
        return CacheEntry.from_row([data.get(h) for h in _HEADERS_V0])
    if version != JOURNAL_VERSION:  # from a newer xlwings-meter: not guessed at
        return None
    return CacheEntry.from_row([data.get(f) for f in FIELDS])


_HEADERS_V0 = ("Photo SHA-256", "Path last seen", "Value as read", "Number", "Confidence", "Angle",
               "Digit boxes", "Status", "Read at (UTC)", "Engine")
