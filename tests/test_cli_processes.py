"""`xlwings-meter read` interrupted, crashed or cut off as users' runs are: Ctrl+C, a kill, a
dead network, a terminal's progress bar. Each runs the command in its own process."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import openpyxl
import pytest

from tests.fake_aigen import FakeAigen, Reply

from .clirun import book_of_photos, cli, cli_process, killed_after_journalling, rows_of, wait_for


@pytest.mark.slow  # separate processes
def test_ctrl_c_keeps_every_finished_reading_and_the_rerun_pays_only_for_the_rest(
    tmp_path: Path, aigen_env: FakeAigen
) -> None:
    book = book_of_photos(tmp_path, 8)
    aigen_env.default = Reply.success("7.25").delayed(0.25)
    proc = cli_process(book, "--concurrency", "1", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: len(aigen_env.calls) >= 3)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "run again" in err
    done = [r for r in rows_of(book)[1:] if r[1] == 7.25]
    assert 3 <= len(done) < 8

    aigen_env.default = Reply.success("7.25")
    assert cli("read", str(book)).returncode == 0
    assert all(r[1] == 7.25 for r in rows_of(book)[1:])
    assert len(aigen_env.calls) == 8  # nothing paid twice


@pytest.mark.slow  # separate processes
def test_after_a_hard_crash_the_journal_saves_what_was_paid_for(tmp_path: Path, aigen_env: FakeAigen) -> None:
    book = book_of_photos(tmp_path, 8)
    before = book.read_bytes()
    aigen_env.default = Reply.success("3.5").delayed(0.2)
    journal = killed_after_journalling(book, 3)
    assert book.read_bytes() == before  # never half-saved
    recorded = {e.digest for e in journal.entries()}
    calls_before = len(aigen_env.calls)

    aigen_env.default = Reply.success("3.5")
    assert cli("read", str(book)).returncode == 0
    assert all(r[1] == 3.5 for r in rows_of(book)[1:]) and not journal.path.exists()
    resent = [c for c in aigen_env.calls[calls_before:] if c.image_sha256 in recorded]
    assert resent == []


@pytest.mark.slow  # separate processes
def test_the_progress_bar_shows_on_a_terminal(tmp_path: Path, aigen_env: FakeAigen) -> None:
    import fcntl
    import pty
    import struct
    import termios

    book = book_of_photos(tmp_path, 3)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
    proc = cli_process(book, stdout=subprocess.PIPE, stderr=follower)
    proc.wait(timeout=60)
    os.close(follower)
    screen = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the terminal is drained and closed
            break
        if not chunk:
            break
        screen += chunk
    os.close(leader)
    text = screen.decode(errors="replace")
    assert proc.returncode == 0 and "3/3" in text and "100%" in text


@pytest.mark.slow  # separate processes
def test_a_dead_network_stops_the_batch_quickly_with_one_clear_line(
    tmp_path: Path, aigen_env: FakeAigen, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as s:  # a port on this machine where nothing listens
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/aiscript/water-meter/v2"
    monkeypatch.setenv("AIGEN_API_URL", dead)
    book = book_of_photos(tmp_path, 12)
    started = time.monotonic()
    result = cli("read", str(book), "--concurrency", "1")
    assert result.returncode == 5
    assert "cannot reach the OCR service" in result.stderr and "check the network" in result.stderr
    assert "Traceback" not in result.stderr
    statuses = [r[4] for r in rows_of(book)[1:]]
    assert statuses[0].startswith("Failed: Could not connect")
    assert all("batch stopped" in s for s in statuses[3:])
    assert time.monotonic() - started < 30  # three photos' retries, not twelve


@pytest.mark.slow  # separate processes
def test_after_a_crash_a_save_by_another_program_does_not_cost_the_journalled_readings(
    tmp_path: Path, aigen_env: FakeAigen
) -> None:
    book = book_of_photos(tmp_path, 6)
    aigen_env.default = Reply.success("3.5").delayed(0.2)
    journal = killed_after_journalling(book, 2)
    recorded = {e.digest for e in journal.entries()}
    wb = openpyxl.load_workbook(book)  # someone opens the workbook and saves it, a minute later
    wb["Photos"]["H1"] = "Checked"
    wb.save(book)
    later = time.time() + 60
    os.utime(book, (later, later))

    calls_before = len(aigen_env.calls)
    aigen_env.default = Reply.success("3.5")
    assert cli("read", str(book)).returncode == 0
    assert [c for c in aigen_env.calls[calls_before:] if c.image_sha256 in recorded] == []
