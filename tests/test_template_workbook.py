"""The template as a workbook in users' hands: its sheets, other programs opening it, the copy the
package ships and `xlwings-meter template` writes."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest

from template import spec
from template.ovba import ModuleKind
from tests.test_template import (
    CUSTOMUI_2006_REL,
    PKG_RELS_NS,
    REPO_ROOT,
    TEMPLATE,
    part,
    source_of,
    vba_project_bin,
)


def test_openpyxl_round_trip_keeps_vba_ribbon_and_code_names(tmp_path: Path) -> None:
    copy = tmp_path / "copy.xlsm"
    shutil.copy(TEMPLATE, copy)
    saved = tmp_path / "saved.xlsm"
    wb = openpyxl.load_workbook(copy, keep_vba=True)
    wb.save(saved)
    wb.vba_archive.close()  # openpyxl keeps the source zip open for its VBA

    assert vba_project_bin(saved) == vba_project_bin(TEMPLATE)
    assert part(saved, "customUI/customUI.xml") == part(TEMPLATE, "customUI/customUI.xml")
    rels = ElementTree.fromstring(part(saved, "_rels/.rels"))
    ribbon_rels = [
        r for r in rels.findall("r:Relationship", PKG_RELS_NS) if r.get("Type") == CUSTOMUI_2006_REL
    ]
    assert [r.get("Target").lstrip("/") for r in ribbon_rels] == ["customUI/customUI.xml"]
    reloaded = openpyxl.load_workbook(saved, keep_vba=True)
    reloaded.vba_archive.close()
    assert reloaded.code_name == "ThisWorkbook"
    assert [ws.sheet_properties.codeName for ws in reloaded.worksheets] == ["Sheet1", "Sheet2"]


def test_sheets_hold_headers_example_and_instructions_but_no_key() -> None:
    wb = openpyxl.load_workbook(TEMPLATE)
    assert wb.sheetnames == ["Readings", "Instructions"]
    rows = list(wb["Readings"].iter_rows(values_only=True))
    assert rows[0] == ("Image", "Value", "Confidence", "Angle", "Status")
    assert len(rows) == 2 and all(v not in (None, "") for v in rows[1][:4])
    assert rows[1][4] is None  # as Read meters leaves Status for a photo it read
    assert wb["Readings"]["B2"].number_format == "00000.000"
    text = "\n".join(str(c) for (c,) in wb["Instructions"].iter_rows(values_only=True) if c)
    for needed in ("pip install <the xlwings-meter folder>", "xlwings addin install", "Unblock",
                   "xlwings-meter template", "Can't find project or library", "AIGEN_API_KEY",
                   "xlwings.conf", "METERREAD", "Library/Containers/com.microsoft.Excel",
                   "METER_CACHE_ONLY"):
        assert needed in text
    assert not any("xlwings.conf" in name.lower() for name in wb.sheetnames)
    assert not wb.defined_names


@pytest.mark.skipif(shutil.which("soffice") is None and not os.environ.get("CI"),
                    reason="LibreOffice (soffice) not installed; .ci/run installs it, and under CI this fails")
@pytest.mark.slow  # starts LibreOffice
def test_libreoffice_opens_the_template_and_sees_the_modules(tmp_path: Path) -> None:
    shutil.copy(TEMPLATE, tmp_path / "t.xlsm")
    profile = (tmp_path / "profile").as_uri()
    subprocess.run(
        ["soffice", f"-env:UserInstallation={profile}", "--headless",
         "--convert-to", "ods", "--outdir", str(tmp_path / "out"), str(tmp_path / "t.xlsm")],
        check=True, capture_output=True, timeout=180,
    )
    ods = tmp_path / "out" / "t.ods"
    lib = ElementTree.fromstring(part(ods, "Basic/VBAProject/script-lb.xml"))
    names = [el.get("{http://openoffice.org/2000/library}name") for el in lib]
    assert sorted(names) == sorted(m.name for m in spec.MODULES)

    script_ns = "{http://openoffice.org/2000/script}"
    for m in spec.MODULES:
        module = ElementTree.fromstring(part(ods, f"Basic/VBAProject/{m.name}.xml"))
        assert module.get(f"{script_ns}moduleType") == (
            "document" if m.kind is ModuleKind.DOCUMENT else "normal"
        ), m.name
        # LibreOffice drops the Attribute lines and puts two lines of its own first.
        lo_lines = module.text.splitlines()
        assert lo_lines[1] == "Option VBASupport 1"
        ours = [ln for ln in source_of(m.name).splitlines() if not ln.startswith("Attribute VB_")]
        assert "\n".join(lo_lines[2:]).rstrip("\n") == "\n".join(ours).rstrip("\n"), m.name

    settings = part(ods, "settings.xml").decode()
    for sheet in spec.SHEETS:
        assert re.search(
            rf'config:name="{sheet.name}"><config:config-item config:name="CodeName" '
            rf'config:type="string">{sheet.code_name}<',
            settings,
        ), sheet.name


def test_the_package_ships_the_template_and_the_command_writes_it_without_overwriting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from xlwings_meter.cli import main

    assert main(["template", str(tmp_path)]) == 0
    written = tmp_path / "meter-readings.xlsm"
    assert written.read_bytes() == TEMPLATE.read_bytes()
    assert "meter-readings.xlsm" in capsys.readouterr().out

    written.write_bytes(b"the user's own work")
    assert main(["template", str(written)]) == 1
    assert "exists already" in capsys.readouterr().err
    assert written.read_bytes() == b"the user's own work"
    assert main(["template", str(tmp_path / "book.xlsx")]) == 1
    assert ".xlsm" in capsys.readouterr().err and not (tmp_path / "book.xlsx").exists()


@pytest.mark.slow  # builds a wheel
def test_the_installed_wheel_carries_the_template(tmp_path: Path) -> None:

    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path),
                    str(REPO_ROOT)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("xlwings_meter-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read("xlwings_meter/excel/workbook_template.xlsm") == TEMPLATE.read_bytes()
