"""Credentials in the endpoint (user:password@, a token in the query) are never shown: every
output of a run is searched for them."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import pytest

from tests.fake_aigen import API_PATH, FakeAigen, Reply
from tests.photos import make_photo
from xlwings_meter.cli import main
from xlwings_meter.engines.aigen.config import display_url
from xlwings_meter.excel import ribbon
from xlwings_meter.excel.settings_box import describe
from xlwings_meter.workbook.settings import WorkbookSettings

from .backends import ExcelBackend
from .workbooks import photo_book

PASSWORD = "pw-9d2b61e0"
TOKEN = "tok-51c7aa38"


@pytest.fixture
def secret_url(aigen_env: FakeAigen, monkeypatch: pytest.MonkeyPatch) -> str:
    port = aigen_env.url.split(":")[2].split("/")[0]
    url = f"http://meter-user:{PASSWORD}@127.0.0.1:{port}{API_PATH}?sig={TOKEN}"
    monkeypatch.setenv("AIGEN_API_URL", url)
    aigen_env.default = Reply.error(403)  # the message then names the endpoint
    return url


def _no_secret(text: str | bytes, where: str) -> None:
    for secret in (PASSWORD, TOKEN):
        probe = secret.encode() if isinstance(text, bytes) else secret
        assert probe not in text, f"{secret} in {where}"


def _files_hold_no_secret(folder: Path) -> int:
    scanned = 0
    for path in folder.rglob("*"):
        if path.is_file():
            _no_secret(path.read_bytes(), str(path))
            scanned += 1
            if path.suffix in (".xlsx", ".xlsm"):
                with zipfile.ZipFile(path) as z:
                    for name in z.namelist():
                        _no_secret(z.read(name), f"{path.name}:{name}")
    return scanned


def test_display_url_drops_user_info_and_query() -> None:
    assert display_url(f"https://u:{PASSWORD}@gw.example.com/v2?sig={TOKEN}") == "https://gw.example.com/v2"


@pytest.mark.parametrize("url", [
    f"https:/u:{PASSWORD}@gw.example.com/v2?sig={TOKEN}",  # a slash missing
    f"https:u:{PASSWORD}@gw.example.com/v2",
    f"https://u:{PASSWORD}@@gw.example.com/v2",
    f"https://u:pa/{PASSWORD}@gw.example.com/v2",  # a slash in the password
    f"ftp://u:{PASSWORD}@gw.example.com/v2",
])
def test_a_mistyped_address_is_refused_without_showing_its_password(url: str) -> None:
    """`https:/user:pass@host` was refused with a message that quoted the password, on the
    terminal and in the Settings/Help box (a hostile review)."""
    from xlwings_meter.engines.aigen.config import check_url
    from xlwings_meter.errors import ConfigError

    shown = display_url(url)
    assert PASSWORD not in shown and TOKEN not in shown
    try:
        check_url(url)
    except ConfigError as exc:
        assert PASSWORD not in str(exc) and TOKEN not in str(exc)


def test_a_refused_endpoint_shows_neither_password_nor_token_anywhere(
    tmp_path: Path, secret_url: str, aigen_env: FakeAigen, caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)  # urllib3 logs every request's path at DEBUG
    make_photo(tmp_path / "m1.jpg", seed=1)
    make_photo(tmp_path / "m2.jpg", seed=2)
    book = photo_book(tmp_path / "bill.xlsx", [["m1.jpg"], ["m2.jpg"]])

    assert main(["read", str(book), "--quiet"]) == 3  # the key refused for this endpoint (403)

    out, err = capsys.readouterr()
    assert "(http://127.0.0.1:" in err and f"{API_PATH})" in err  # the address is shown, cleaned
    assert aigen_env.calls[0].path.endswith(f"?sig={TOKEN}")  # ...and was used whole
    _no_secret(out + err, "the terminal")
    _no_secret(caplog.text, "the log")
    assert any("POST" in r.getMessage() for r in caplog.records)  # the log was really searched
    assert _files_hold_no_secret(tmp_path) >= 3  # workbook parts (Status cells), photos


def test_the_settings_box_and_the_button_show_the_address_without_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secret_url: str
) -> None:
    text = describe(WorkbookSettings(), 0)
    assert "Service address: http://127.0.0.1:" in text
    _no_secret(text, "the Settings/Help box")

    monkeypatch.setattr("xlwings_meter.excel.session.AFTER_CALCULATION_POLL", 0.01)
    excel = ExcelBackend(tmp_path, monkeypatch)
    make_photo(tmp_path / "m1.jpg")
    excel.create([["m1.jpg"]])
    ribbon.read_meters()
    (alert, _), = excel.excel.alerts
    assert "HTTP 403" in alert
    _no_secret(alert, "the button's message")
    _no_secret(repr(excel.rows()), "the Status cells")


def test_an_unusable_endpoint_is_refused_without_quoting_its_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AIGEN_API_URL", f"ftp://meter-user:{PASSWORD}@gw.example.com/v2?sig={TOKEN}")
    monkeypatch.setenv("AIGEN_API_KEY", "some-key")
    monkeypatch.setenv("XLWINGS_METER_CONFIG", str(tmp_path / "none.conf"))
    make_photo(tmp_path / "m1.jpg")
    book = photo_book(tmp_path / "bill.xlsx", [["m1.jpg"]])

    assert main(["read", str(book)]) == 1
    err = capsys.readouterr().err
    assert "must be an https:// address, not 'ftp://gw.example.com/v2'" in err
    _no_secret(err, "the terminal")
    _no_secret(describe(WorkbookSettings(), 0), "the Settings/Help box")
