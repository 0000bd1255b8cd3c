"""Workbook settings (xlwings.conf sheet), the engine choice, and the CLI honouring them."""

from __future__ import annotations

import sys
from pathlib import Path

import openpyxl
import pytest
import xlwings

from tests.fake_aigen import FakeAigen
from tests.photos import make_photo
from xlwings_meter.cli import main
from xlwings_meter.engines import make_engine
from xlwings_meter.engines.aigen.config import config_file
from xlwings_meter.errors import ConfigError
from xlwings_meter.excel.settings_box import describe
from xlwings_meter.workbook.settings import WorkbookSettings, parse_workbook_settings

from .workbooks import photo_book


def _with_conf(path: Path, rows: list[list[object]]) -> Path:
    wb = openpyxl.load_workbook(path)
    conf = wb.create_sheet("xlwings.conf")
    for row in rows:
        conf.append(row)
    wb.save(path)
    return path


@pytest.mark.parametrize("value, cache_only, warned", [
    (True, True, False), ("TRUE", True, False), ("yes", True, False),
    (False, False, False), ("FALSE", False, False), (None, False, False),
    ("maybe", True, True),  # when in doubt, send nothing, and say so
])
def test_cache_only_values(value: object, cache_only: bool, warned: bool) -> None:
    settings = parse_workbook_settings([["meter_cache_only", value]])
    assert settings.cache_only is cache_only and bool(settings.warnings) is warned


def test_unknown_and_missing_engines_are_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="Unknown engine 'ocr9'.*aigen, local"):
        make_engine("ocr9")
    for module in ("rapidocr", "onnxruntime"):  # as on a machine without the [local] extra
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ConfigError, match=r'pip install "xlwings-meter\[local\]"'):
        make_engine("local")


def test_the_users_config_file_is_where_xlwings_keeps_it_unless_overridden(tmp_path: Path) -> None:
    assert config_file({"XLWINGS_METER_CONFIG": str(tmp_path / "x.conf")}) == tmp_path / "x.conf"
    assert config_file({}) == Path(xlwings.USER_CONFIG_FILE)


def test_settings_help_never_shows_an_address_that_carries_the_key(tmp_path: Path) -> None:
    env = {"AIGEN_API_KEY": "SECRET123", "XLWINGS_METER_CONFIG": str(tmp_path / "none.conf"),
           "AIGEN_API_URL": "https://api.aigen.online/aiscript/water-meter/v2?aigen_key=SECRET123"}
    text = describe(WorkbookSettings(), 0, env)
    assert "SECRET123" not in text and "Service address: refused" in text
    env["AIGEN_API_URL"] = "http://api.example.com/v2"
    assert "Service address: refused: AIGEN_API_URL uses plain http://" in describe(WorkbookSettings(), 0, env)


def test_the_cli_honours_cache_only_on_the_workbook_and_refuses_its_key(
    tmp_path: Path, aigen_env: FakeAigen, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_photo(tmp_path / "m.jpg")
    book = _with_conf(photo_book(tmp_path / "b.xlsx", [["m.jpg"]]),
                      [["METER_CACHE_ONLY", True], ["AIGEN_API_KEY", "workbook-key-1"]])
    monkeypatch.delenv("AIGEN_API_KEY")
    assert main(["read", str(book)]) == 0
    captured = capsys.readouterr()
    assert "0 photos sent" in captured.out and aigen_env.calls == []
    assert "sets AIGEN_API_KEY (row 2). It was ignored" in captured.err
    assert "workbook-key-1" not in captured.out + captured.err
