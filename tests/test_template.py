"""Checks that stand in for opening workbook_template.xlsm in Excel.

Every check reads the real file with a parser that is not the build's own: olevba/olefile for the
VBA project, ElementTree and openpyxl for the package, LibreOffice for a whole-office opinion.
What only Excel can confirm is listed in docs/template.md.
"""

from __future__ import annotations

import importlib
import inspect
import os
import random
import re
import struct
import subprocess
import sys
import types
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import olefile
import openpyxl
import pytest
import xlwings
from oletools.olevba import VBA_Parser, decompress_stream

from template import build, spec
from template.cfb import write_compound_file
from template.ovba import ModuleKind, compress

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = REPO_ROOT / spec.TEMPLATE_NAME
CUSTOMUI_2006_NS = "http://schemas.microsoft.com/office/2006/01/customui"
CUSTOMUI_2006_REL = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"
MAIN_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
PKG_RELS_NS = {"r": "http://schemas.openxmlformats.org/package/2006/relationships"}
RIBBON_CALLBACK = re.compile(
    r"^\s*(?:Public\s+)?Sub\s+(\w+)\s*\(\s*(?:ByRef\s+)?control\s+As\s+IRibbonControl\s*\)\s*$",
    re.IGNORECASE | re.MULTILINE,
)


# --- helpers ----------------------------------------------------------------------------------


def crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def source_of(name: str) -> str:
    return next(m.path for m in spec.MODULES if m.name == name).read_text(encoding="utf-8")


def extracted_modules(path: Path) -> dict[str, tuple[str, str]]:
    """olevba's view: module name -> (file name olevba gives it, full source text)."""
    parser = VBA_Parser(str(path), relaxed=False)
    try:
        return {
            Path(stream_path).name: (vba_filename, code)
            for _, stream_path, vba_filename, code in parser.extract_macros()
        }
    finally:
        parser.close()


def vba_project_bin(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read("xl/vbaProject.bin")


def part(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def dir_records(project_bin: bytes) -> list[tuple[int, bytes]]:
    """The decompressed dir stream as (record id, data) pairs, read per [MS-OVBA] 2.3.4.2."""
    ole = olefile.OleFileIO(project_bin)
    raw = decompress_stream(bytearray(ole.openstream("VBA/dir").read()))
    records, pos = [], 0
    while pos < len(raw):
        record_id, size = struct.unpack_from("<HI", raw, pos)
        if record_id == 0x0009:  # PROJECTVERSION: says 4, carries 6
            size = 6
        records.append((record_id, bytes(raw[pos + 6 : pos + 6 + size])))
        pos += 6 + size
    return records


def decrypt(hex_text: str) -> tuple[int, bytes]:
    """[MS-OVBA] 2.4.3.3 data decryption: return (project key, data)."""
    enc = bytes.fromhex(hex_text)
    seed, version_enc, proj_key_enc = enc[:3]
    assert seed ^ version_enc == 2
    proj_key = seed ^ proj_key_enc
    unencrypted_1, encrypted_1, encrypted_2 = proj_key, proj_key_enc, version_enc
    plain = bytearray()
    for byte_enc in enc[3:]:
        byte = byte_enc ^ ((encrypted_2 + unencrypted_1) & 0xFF)
        plain.append(byte)
        encrypted_2, encrypted_1, unencrypted_1 = encrypted_1, byte_enc, byte
    ignored = (seed & 6) // 2
    (length,) = struct.unpack_from("<I", plain, ignored)
    data = bytes(plain[ignored + 4 :])
    assert len(data) == length
    return proj_key, data


def project_stream(project_bin: bytes) -> dict[str, list[str]]:
    ole = olefile.OleFileIO(project_bin)
    text = ole.openstream("PROJECT").read().decode("cp1252")
    values: dict[str, list[str]] = {}
    for line in text.split("\r\n"):
        if line.startswith("["):
            break
        key, sep, value = line.partition("=")
        if sep:
            values.setdefault(key, []).append(value)
    return values


def python_udf_parameters() -> tuple[str, list[tuple[str, bool]]]:
    """(where from, [(name, optional)]) of METERREAD: the real function when it exists."""
    try:
        module = importlib.import_module(spec.METERREAD.module)
    except ModuleNotFoundError as exc:
        if exc.name != spec.METERREAD.module:
            raise  # the module exists but cannot be imported: that is a failure, not a fallback
        params = [(p.name, p.default is not None) for p in spec.METERREAD.parameters]
        return "template.spec.METERREAD", params
    sig = inspect.signature(getattr(module, spec.METERREAD.name))
    params = [
        (p.name, p.default is not inspect.Parameter.empty) for p in sig.parameters.values()
    ]
    return f"{spec.METERREAD.module}.{spec.METERREAD.name}", params


# --- the build --------------------------------------------------------------------------------


def test_committed_template_equals_a_fresh_build() -> None:
    assert TEMPLATE.read_bytes() == build.build_workbook(), "run: python -m template.build"
    assert build.main(["--check"]) == 0


def test_check_fails_when_the_file_differs(tmp_path: Path) -> None:
    stale = tmp_path / "stale.xlsm"
    data = bytearray(TEMPLATE.read_bytes())
    data[len(data) // 2] ^= 0xFF
    stale.write_bytes(bytes(data))
    assert build.main(["--check", "--output", str(stale)]) == 1
    assert build.main(["--check", "--output", str(tmp_path / "missing.xlsm")]) == 1


def test_cli_build_is_reproducible_across_processes(tmp_path: Path) -> None:
    """Other hash seeds and another working directory give the same bytes and no scratch files."""
    for seed in ("1", "4242"):
        out = tmp_path / f"out-{seed}" / "t.xlsm"
        work = tmp_path / f"cwd-{seed}"
        out.parent.mkdir()
        work.mkdir()
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(REPO_ROOT)}
        subprocess.run(
            [sys.executable, "-m", "template.build", "--output", str(out)],
            cwd=work, env=env, check=True, capture_output=True,
        )
        assert out.read_bytes() == TEMPLATE.read_bytes()
        assert list(work.iterdir()) == []


def test_timestamps_are_fixed() -> None:
    with zipfile.ZipFile(TEMPLATE) as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    ole = olefile.OleFileIO(vba_project_bin(TEMPLATE))
    entries = [e for e in ole.direntries if e is not None]
    assert len(entries) == 3 + len(spec.MODULES) + 3  # root, VBA, PROJECT*, _VBA_PROJECT, dir
    assert {(e.createTime, e.modifyTime) for e in entries} == {(0, 0)}


# --- the VBA project --------------------------------------------------------------------------


def test_olevba_extracts_exactly_the_sources() -> None:
    modules = extracted_modules(TEMPLATE)
    assert list(modules) == [m.name for m in spec.MODULES]
    for m in spec.MODULES:
        filename, code = modules[m.name]
        assert code == crlf(source_of(m.name)), m.name
        expected_ext = ".cls" if m.kind is ModuleKind.DOCUMENT else ".bas"
        assert filename == m.name + expected_ext


@pytest.mark.parametrize(
    "data",
    [
        b" " * 10_000,  # one run longer than a chunk: needs the maximum copy length
        b"    RunPython \"import x\"\r\n" * 700,  # text longer than 4 chunks
        bytes(random.Random(7).randrange(256) for _ in range(8192)),  # raw chunks
        b"#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa",  # [MS-OVBA] 3.2 example
        b"",
    ],
    ids=["long-run", "long-text", "incompressible", "spec-example", "empty"],
)
def test_compression_round_trips_through_olevba(data: bytes) -> None:
    assert decompress_stream(bytearray(compress(data))) == data


def test_compound_file_round_trips_through_olefile() -> None:
    rng = random.Random(3)
    streams = {"PROJECT": b"p" * 600, "VBA/dir": b"d" * 4095, "VBA/big": b"b" * 4096}
    for i in range(60):  # enough sectors for several FAT sectors and mini FAT sectors
        streams[f"VBA/M{i}"] = bytes([i]) * rng.randrange(1, 9000)
    ole = olefile.OleFileIO(write_compound_file(streams))
    read = {"/".join(p): ole.openstream("/".join(p)).read() for p in ole.listdir()}
    assert read == streams


def test_compound_file_directory_is_a_search_tree() -> None:
    """Windows finds a stream by walking each storage's tree by name, not by listing it.

    olefile lists entries and would not notice a misordered tree; Excel would miss streams.
    """
    ole = olefile.OleFileIO(vba_project_bin(TEMPLATE))

    def key(name: str) -> tuple[int, str]:  # [MS-CFB] 2.6.4
        return len(name), name.upper()

    def in_order(sid: int) -> list[str]:
        if sid == olefile.NOSTREAM:
            return []
        entry = ole.direntries[sid]
        return in_order(entry.sid_left) + [entry.name] + in_order(entry.sid_right)

    storages = [e for e in ole.direntries if e is not None and e.entry_type in (1, 5)]
    reached = 1  # the root
    for storage in storages:
        names = in_order(storage.sid_child)
        assert names == sorted(names, key=key), storage.name
        assert len(set(map(key, names))) == len(names)
        reached += len(names)
    assert reached == len([e for e in ole.direntries if e is not None])


def test_project_references_the_xlwings_addin_and_office() -> None:
    records = dir_records(vba_project_bin(TEMPLATE))
    names = [data.decode("cp1252") for rid, data in records if rid == 0x0016]
    assert names == ["stdole", "Office", "xlwings"]
    (project_ref,) = [data for rid, data in records if rid == 0x000E]
    (n_abs,) = struct.unpack_from("<I", project_ref)
    (n_rel,) = struct.unpack_from("<I", project_ref, 4 + n_abs)
    relative = project_ref[8 + n_abs : 8 + n_abs + n_rel].decode("cp1252")
    assert relative == r"*\Cxlwings.xlam"
    office = [data for rid, data in records if rid == 0x000D][1].decode("cp1252", "replace")
    assert "{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}" in office  # IRibbonControl's library


def test_project_stream_protection_fields_decrypt_like_excels() -> None:
    """CMG/DPB/GC decrypt to "unprotected, no password, visible", as in a project Excel saved."""
    reference = Path(xlwings.__file__).parent / "quickstart.xlsm"  # saved by Excel
    for path in (reference, TEMPLATE):
        values = project_stream(vba_project_bin(path))
        project_id = values["ID"][0].strip('"')
        key = sum(project_id.encode("cp1252")) & 0xFF
        assert decrypt(values["CMG"][0].strip('"')) == (key, bytes(4)), path.name
        assert decrypt(values["DPB"][0].strip('"')) == (key, b"\x00"), path.name
        assert decrypt(values["GC"][0].strip('"')) == (key, b"\xff"), path.name


# --- ribbon, UDF wrapper, code names ----------------------------------------------------------


def test_every_ribbon_action_is_a_ribbon_callback_sub() -> None:
    root = ElementTree.fromstring(part(TEMPLATE, "customUI/customUI.xml"))
    assert root.tag == f"{{{CUSTOMUI_2006_NS}}}customUI"
    buttons = root.findall(".//{*}button")
    labels = [b.get("label") for b in buttons]
    assert labels == ["Read meters", "Re-read selection", "Settings/Help"]
    assert root.find(".//{*}tab").get("label") == "Meter"
    modules = extracted_modules(TEMPLATE)
    actions = [el.get("onAction") for el in root.iter() if el.get("onAction")]
    assert len(actions) == len(buttons)
    for action in actions:
        module, _, sub = action.rpartition(".")
        assert module in modules, action
        assert sub in RIBBON_CALLBACK.findall(modules[module][1]), action


def test_ribbon_subs_run_the_python_entry_points() -> None:
    code = extracted_modules(TEMPLATE)["MeterRibbon"][1]
    calls = re.findall(r'^\s*RunPython "([^"]*)"\s*$', code, re.MULTILINE)
    assert calls == [
        "import xlwings_meter.ribbon as r; r.read_meters()",
        "import xlwings_meter.ribbon as r; r.reread_selection()",
        "import xlwings_meter.ribbon as r; r.show_settings()",
    ]


def test_meterread_wrapper_matches_the_python_signature() -> None:
    code = extracted_modules(TEMPLATE)["xlwings_udfs"][1]
    match = re.search(r"^Function METERREAD\(([^)]*)\)", code, re.MULTILINE)
    assert match, "no METERREAD wrapper"
    wrapper = [
        (p.split()[-1], p.split()[0] == "Optional")
        for p in (x.strip() for x in match.group(1).split(","))
    ]
    where, python = python_udf_parameters()
    # xlwings' reserved argument ``caller`` (the calling cell) is not Excel's: VBA passes Nothing.
    assert wrapper == [p for p in python if p[0] != "caller"], f"wrapper differs from {where}"
    names = ", ".join("Nothing" if name == "caller" else name for name, _ in python)
    calls = re.findall(r'XLPy\.CallUDF\("([^"]+)", "([^"]+)", Array\(([^)]*)\)', code)
    assert calls and all(c == (spec.METERREAD.module, "METERREAD", names) for c in calls)


@pytest.fixture
def xlwings_udfs(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """xlwings.udfs, importable off Windows with its pywin32 imports stubbed out."""
    for name in ("pythoncom", "pywintypes", "win32com", "win32com.client"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    sys.modules["pythoncom"].CoInitialize = lambda: None  # type: ignore[attr-defined]
    sys.modules["win32com.client"].Dispatch = None  # type: ignore[attr-defined]
    monkeypatch.delitem(sys.modules, "xlwings.udfs", raising=False)
    module = importlib.import_module("xlwings.udfs")
    monkeypatch.delitem(sys.modules, "xlwings.udfs")
    return module


def test_meterread_wrapper_is_what_xlwings_import_functions_writes(
    xlwings_udfs: types.ModuleType,
) -> None:
    import io

    _, params = python_udf_parameters()

    def stand_in(*args: object) -> None:
        """Carries METERREAD's signature: xlwings reads only that and the name."""

    stand_in.__name__ = spec.METERREAD.name
    stand_in.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter(
                name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                default="x" if optional else inspect.Parameter.empty,
            )
            for name, optional in params
        ]
    )
    xlwings_udfs.xlfunc(stand_in)
    module = types.SimpleNamespace(METERREAD=stand_in)
    out = io.StringIO()
    workbook = types.SimpleNamespace(Name=spec.TEMPLATE_NAME)
    xlwings_udfs.generate_vba_wrapper(spec.METERREAD.module, module, out, workbook)
    # The three header lines import_udfs writes before the wrappers (xlwings/udfs.py).
    header = (
        'Attribute VB_Name = "xlwings_udfs"\n'
        "'Autogenerated code by xlwings - changes will be lost with next import!\n"
        "#Const App = \"Microsoft Excel\" 'Adjust when using outside of Excel\n"
    )
    code = extracted_modules(TEMPLATE)["xlwings_udfs"][1]
    assert code == crlf(header + out.getvalue())


def test_code_names_match_the_document_modules() -> None:
    values = project_stream(vba_project_bin(TEMPLATE))
    documents = {v.split("/")[0] for v in values["Document"]}
    workbook = ElementTree.fromstring(part(TEMPLATE, "xl/workbook.xml"))
    book_code = workbook.find("m:workbookPr", MAIN_NS).get("codeName")
    sheet_codes = {}
    wb = openpyxl.load_workbook(TEMPLATE, keep_vba=True)
    wb.vba_archive.close()
    for ws in wb.worksheets:
        sheet_codes[ws.title] = ws.sheet_properties.codeName
    assert book_code == wb.code_name == "ThisWorkbook"
    assert sheet_codes == {"Readings": "Sheet1", "Instructions": "Sheet2"}
    assert documents == {book_code, *sheet_codes.values()}


# --- the package through other readers --------------------------------------------------------
