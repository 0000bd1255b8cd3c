"""One run per workbook at a time, across real processes: a second run waits or refuses, and
nothing is paid twice."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from tests.fake_aigen import FakeAigen, Reply
from tests.photos import make_photo
from xlwings_meter.excel import ribbon
from xlwings_meter.workbook.journal import Journal

from .backends import ExcelBackend
from .workbooks import photo_book

pytestmark = pytest.mark.slow  # real processes, holding and waiting for locks

ROOT = Path(__file__).resolve().parents[1]


def _start(book: Path, *args: str) -> subprocess.Popen[str]:
    """`xlwings-meter read BOOK ARGS...` in its own process, as a user starts it."""
    return subprocess.Popen([sys.executable, "-m", "xlwings_meter.cli", "read", str(book), "--quiet", *args],
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _book(tmp_path: Path, n: int) -> Path:
    names = [make_photo(tmp_path / f"m{i}.jpg", seed=i).name for i in range(n)]
    return photo_book(tmp_path / "readings.xlsx", [[name] for name in names])


def _read_as_user(*args: str) -> subprocess.CompletedProcess[str]:
    """`xlwings-meter read ARGS... --quiet` to its end, as a user without root's power to write
    where folder permissions forbid (as root: CAP_DAC_OVERRIDE dropped)."""
    as_user = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    return subprocess.run([*as_user, sys.executable, "-m", "xlwings_meter.cli", "read", *args, "--quiet"],
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True, capture_output=True,
                          timeout=60)


def _running(book: Path, aigen: FakeAigen, *args: str) -> subprocess.Popen[str]:
    """A first run, once it holds the workbook and its first photo is on the wire."""
    first = _start(book, *args)
    _wait_for(lambda: len(aigen.calls) >= 1)
    return first


def test_a_second_run_waits_for_the_first_and_pays_for_nothing(tmp_path: Path, aigen_env: FakeAigen) -> None:
    book = _book(tmp_path, 4)
    aigen_env.default = Reply.success().delayed(0.3)
    first = _running(book, aigen_env, "--concurrency", "1")

    second = _start(book, "--wait", "60")
    out, err = second.communicate(timeout=60)
    assert first.wait(timeout=60) == 0

    assert (second.returncode, err) == (0, "")
    assert "0 photos sent, 4 from the cache" in out  # it waited, then found every reading
    assert len(aigen_env.calls) == 4  # each photo paid once
    assert not (tmp_path / ".readings.xlsx.meter-lock").exists()


def test_a_second_run_that_cannot_wait_refuses_with_a_clear_message(
    tmp_path: Path, aigen_env: FakeAigen
) -> None:
    book = _book(tmp_path, 4)
    aigen_env.default = Reply.success().delayed(1.0)
    first = _running(book, aigen_env, "--concurrency", "1")

    second = _start(book, "--wait", "0.5")
    out, err = second.communicate(timeout=30)

    assert second.returncode == 1 and out == ""
    assert err.startswith(f"xlwings-meter: error: Another run is reading readings.xlsx (xlwings-meter read, "
                          f"process {first.pid}, since ")
    assert err.endswith("): wait for it to finish, then run again\n")
    assert first.wait(timeout=60) == 0
    assert len(aigen_env.calls) == 4
    assert [r[1] for r in openpyxl.load_workbook(book)["Photos"].iter_rows(min_row=2, values_only=True)] == [3245.01] * 4


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need rights there")
@pytest.mark.parametrize("which", ["lock", "journal"])
def test_a_lock_or_journal_that_is_a_link_overwrites_nothing(tmp_path: Path, which: str) -> None:
    """In a shared folder, a link where the lock or the journal goes, pointing at a file of
    the user's, had that file overwritten by the run (a hostile review)."""
    from xlwings_meter.errors import JournalError

    book = tmp_path / "bill.xlsx"
    book.write_bytes(b"")
    victim = tmp_path / "thesis.docx"
    victim.write_text("three years of work")
    journal = Journal.beside(book)
    link = journal.path if which == "journal" else journal.path.with_name(f".{book.name}.meter-lock")
    link.symlink_to(victim)

    with pytest.raises(JournalError, match="symbolic link; delete it"):
        if which == "lock":
            journal.lock(wait=0).acquire()
        else:
            from xlwings_meter.reading import Reading, ReadingStatus
            from xlwings_meter.workbook.cache import CacheEntry

            journal.append(CacheEntry("0" * 64, "m.jpg", Reading(ReadingStatus.READ, "1.5"), "2026-11-29T00:00:00Z", "aigen-v2"))
    assert victim.read_text() == "three years of work"


@pytest.mark.skipif(sys.platform == "win32", reason="folder permissions work otherwise there")
def test_a_workbook_in_a_folder_one_may_only_read_is_read_into_an_output_elsewhere(
    tmp_path: Path, aigen_env: FakeAigen
) -> None:
    """Its lock cannot be made beside it, and that stopped the run (a hostile review): the
    --output that rescues such a workbook is what the user is told to use."""
    share, mine = tmp_path / "share", tmp_path / "mine"
    share.mkdir()
    mine.mkdir()
    book = _book(share, 2)
    before = book.read_bytes()
    share.chmod(0o555)
    try:
        run = _read_as_user(str(book), "--output", str(mine / "readings.xlsx"))
        in_place = _read_as_user(str(book))
        new_there = _read_as_user(str(share), "--into", str(share / "new.xlsx"), "--output", str(mine / "new.xlsx"))
    finally:
        share.chmod(0o755)

    assert (run.returncode, run.stderr) == (0, ""), run.stderr
    assert "2 photos sent" in run.stdout
    rows = openpyxl.load_workbook(mine / "readings.xlsx")["Photos"].iter_rows(min_row=2, values_only=True)
    assert [r[1] for r in rows] == [3245.01] * 2
    assert book.read_bytes() == before and sorted(p.name for p in mine.iterdir()) == ["readings.xlsx"]
    # Saved in place, it cannot be: it says so before paying for anything.
    assert in_place.returncode == 1 and in_place.stderr.endswith(
        "(Permission denied): the readings cannot be saved in that folder; "
        "save them to a file elsewhere (read --output FILE)\n")
    # A new listing workbook cannot be made there: said in one line, not an internal error.
    assert new_there.returncode == 1 and new_there.stderr == (
        f"xlwings-meter: error: Cannot create {share / 'new.xlsx'} (Permission denied): name a "
        "workbook in a folder you may write with --into\n")
    assert len(aigen_env.calls) == 2


@pytest.mark.skipif(sys.platform == "win32", reason="folder permissions work otherwise there")
def test_a_colleagues_run_on_a_shared_workbook_is_waited_for_though_its_lock_is_not_ours(
    tmp_path: Path, aigen_env: FakeAigen
) -> None:
    """The owner's run holds its lock file, which this user may only read: the run with
    --output skipped the lock and both paid for every photo (a hostile review)."""
    import fcntl

    share, mine = tmp_path / "share", tmp_path / "mine"
    share.mkdir()
    mine.mkdir()
    book = _book(share, 2)
    lock = share / f".{book.name}.meter-lock"
    lock.write_text("xlwings-meter read, process 1, since 09:00:00\n")
    lock.chmod(0o444)
    share.chmod(0o555)
    try:
        with open(lock) as held:
            fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # the colleague's run, reading it now
            run = _read_as_user(str(book), "--wait", "0.3", "--output", str(mine / "readings.xlsx"))
        after = _read_as_user(str(book), "--output", str(mine / "readings.xlsx"))
    finally:
        share.chmod(0o755)

    assert run.returncode == 1
    assert run.stderr == ("xlwings-meter: error: Another run is reading readings.xlsx (xlwings-meter read, "
                          "process 1, since 09:00:00): wait for it to finish, then run again\n")
    assert (after.returncode, after.stderr) == (0, "")  # once it is done, this one runs
    assert len(aigen_env.calls) == 2 and lock.exists()  # not ours to delete there


def test_a_killed_run_leaves_no_lock_behind(tmp_path: Path, aigen_env: FakeAigen) -> None:
    book = _book(tmp_path, 3)
    aigen_env.default = Reply.success().delayed(0.5)
    first = _running(book, aigen_env, "--concurrency", "1")
    first.kill()  # SIGKILL: no clean-up runs; the system drops its lock
    first.wait()
    aigen_env.default = Reply.success()

    second = _start(book, "--wait", "0")
    _, err = second.communicate(timeout=60)
    assert second.returncode == 0, err


def test_the_excel_button_refuses_while_the_command_line_reads_the_same_workbook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, aigen_env: FakeAigen
) -> None:
    monkeypatch.setattr("xlwings_meter.excel.session.AFTER_CALCULATION_POLL", 0.01)
    monkeypatch.setattr(ribbon, "BUTTON_LOCK_WAIT", 0.2)
    excel = ExcelBackend(tmp_path, monkeypatch)
    shutil.copy(ROOT / "workbook_template.xlsm", excel.fullname)  # the same workbook, on disk
    make_photo(tmp_path / "photos" / "meter_0001.jpg")  # the template's example row names it
    excel.create([["photos\\meter_0001.jpg"]])
    aigen_env.default = Reply.success().delayed(1.0)
    cli = _running(Path(excel.fullname), aigen_env)

    ribbon.read_meters()
    (text, _), = excel.excel.alerts
    assert text.startswith("Another run is reading readings.xlsm (xlwings-meter read, process ")
    assert len(aigen_env.calls) == 1  # the button sent nothing

    assert cli.wait(timeout=60) == 0
    excel.excel.alerts.clear()
    ribbon.read_meters()  # now it runs, and takes the command line's reading from the file
    (text, _), = excel.excel.alerts
    assert "0 photos sent to the service" in text
    assert len(aigen_env.calls) == 1
    assert excel.rows()[1][1] == 3245.01
    assert Journal.beside(Path(excel.fullname)).entries() == []
