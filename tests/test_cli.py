"""`xlwings-meter read` as a user runs it: real workbook files, real photos, the fake service."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from tests.fake_aigen import FakeAigen, Reply
from tests.photos import make_photo
from xlwings_meter.cli import main
from xlwings_meter.workbook.cache import CACHE_SHEET

from .clirun import ROOT, book_of_photos, cli, killed_after_journalling, rows_of
from .workbooks import add_text_box, photo_book


def test_the_documented_reading_lands_in_the_row_and_a_second_run_sends_nothing(
    tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]
) -> None:
    book = photo_book(tmp_path / "bill.xlsx", [["meter.jpg"]])
    make_photo(tmp_path / "meter.jpg")

    assert main(["read", str(book)]) == 0
    assert rows_of(book)[:2] == [("Image", "Value", "Confidence", "Angle", "Status"),
                               ("meter.jpg", 3245.01, 0.7603056856564113, 83.69637298583984, None)]
    cell = openpyxl.load_workbook(book)["Photos"]["B2"]
    assert cell.data_type == "n" and cell.number_format == "0000.000"  # shows 3245.010 as read
    out = capsys.readouterr().out
    assert out.startswith("1 row: 1 read; 1 photo sent (") and " kB), 0 from the cache" in out

    assert main(["read", str(book)]) == 0
    assert len(aigen_env.calls) == 1
    assert "0 photos sent, 1 from the cache" in capsys.readouterr().out


def test_bad_rows_say_why_and_nothing_but_images_is_uploaded(tmp_path: Path, aigen_env: FakeAigen) -> None:
    make_photo(tmp_path / "good.jpg")
    (tmp_path / "notes.jpg").write_text("not a photo")
    cut = make_photo(tmp_path / "cut.jpg", seed=2).read_bytes()
    (tmp_path / "cut.jpg").write_bytes(cut[: len(cut) // 2])
    book = photo_book(tmp_path / "b.xlsx", [["good.jpg"], ["gone.jpg"], [None], ["notes.jpg"], ["cut.jpg"]])

    assert main(["read", str(book)]) == 0
    status = [row[4] for row in rows_of(book)[1:]]
    assert status[0] is None
    assert status[1].startswith("File not found") and "gone.jpg" in status[1]
    assert status[2] == "No photo path in this cell"
    assert status[3] == "Not an image: notes.jpg"
    assert status[4] == "Corrupt image: cut.jpg"
    assert len(aigen_env.calls) == 1


def test_sheet_column_and_output_options(tmp_path: Path, aigen_env: FakeAigen) -> None:
    make_photo(tmp_path / "p.jpg")
    wb = openpyxl.Workbook()
    wb.active.title = "Summary"
    ws = wb.create_sheet("March")
    ws.append(["Flat", "Foto"])
    ws.append(["1A", "p.jpg"])
    src = tmp_path / "src.xlsx"
    wb.save(src)
    before = src.read_bytes()

    out = tmp_path / "out.xlsx"
    assert main(["read", str(src), "--sheet", "March", "--column", "foto", "--output", str(out)]) == 0
    assert src.read_bytes() == before
    assert rows_of(out, "March")[1][:3] == ("1A", "p.jpg", 3245.01)
    assert CACHE_SHEET in openpyxl.load_workbook(out).sheetnames
    assert main(["read", str(out), "--sheet", "march", "--column", "B"]) == 0
    assert len(aigen_env.calls) == 1  # the output carries the cache


def test_foreign_data_is_refused_before_anything_is_sent_and_the_file_is_untouched(
    tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]
) -> None:
    make_photo(tmp_path / "p.jpg")
    book = photo_book(tmp_path / "b.xlsx", [["p.jpg", 100.0, None, None, "paid"]],
                      header=("Image", "Amount"))
    before = book.read_bytes()
    assert main(["read", str(book)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "headed 'Amount'" in err and "Traceback" not in err
    assert book.read_bytes() == before and aigen_env.calls == []


@pytest.mark.parametrize("reply, code, words", [
    (Reply.error(401), 3, "key"),
    (Reply.error(403), 3, "key"),
    (Reply.error(429), 4, "credit"),
])
@pytest.mark.slow  # waits through retries
def test_a_refusal_mid_batch_saves_what_was_read_and_exits_non_zero(
    tmp_path: Path, aigen_env: FakeAigen, reply: Reply, code: int, words: str
) -> None:
    book = book_of_photos(tmp_path, 4)
    aigen_env.queue(Reply.success("11.5"))
    aigen_env.default = reply
    result = cli("read", str(book), "--concurrency", "1")
    assert result.returncode == code
    assert words in result.stderr and "Traceback" not in result.stderr
    assert aigen_env.valid_key not in result.stdout + result.stderr
    rows = rows_of(book)
    assert rows[1][1] == 11.5 and rows[2][1] is None and "stopped" in rows[2][4]

    aigen_env.default = Reply.success("22.5")
    assert cli("read", str(book)).returncode == 0
    assert [r[1] for r in rows_of(book)[1:]] == [11.5, 22.5, 22.5, 22.5]
    first_photo = tmp_path / "meter 0.jpg"
    assert len(aigen_env.calls_for(first_photo)) == 1  # paid once, never again


def test_a_missing_photo_column_names_the_option_only_when_the_default_was_looked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = photo_book(tmp_path / "b.xlsx", [["m.jpg"]], header=("Foto",))
    assert main(["read", str(book), "--cache-only"]) == 1
    assert capsys.readouterr().err.strip() == (
        "xlwings-meter: error: No column headed 'Image' in the first 20 rows of sheet 'Photos'; "
        "name the column of photo paths with --column")
    assert main(["read", str(book), "--cache-only", "--column", "Bild"]) == 1
    assert capsys.readouterr().err.strip() == (
        "xlwings-meter: error: No column headed 'Bild' in the first 20 rows of sheet 'Photos'")


def test_wrong_key_missing_key_and_missing_workbook_are_one_line_messages(
    tmp_path: Path, aigen_env: FakeAigen, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    book = book_of_photos(tmp_path, 1)
    monkeypatch.setenv("AIGEN_API_KEY", "wrong-key-123")
    assert main(["read", str(book)]) == 3
    err = capsys.readouterr().err
    assert "AIGEN_API_KEY" in err and "wrong-key-123" not in err

    monkeypatch.delenv("AIGEN_API_KEY")
    assert main(["read", str(book)]) == 1
    assert "AIGEN_API_KEY" in capsys.readouterr().err

    assert main(["read", str(tmp_path / "nope.xlsx"), "--cache-only"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"xlwings-meter: error: Workbook not found: {tmp_path / 'nope.xlsx'}"


def test_the_key_is_never_written_to_the_workbook_the_cache_or_the_journal(
    tmp_path: Path, aigen_env: FakeAigen
) -> None:
    import zipfile

    book = book_of_photos(tmp_path, 6)
    key = aigen_env.valid_key.encode()

    def nothing_holds_the_key() -> int:
        scanned = 0
        for path in tmp_path.rglob("*"):
            if path.is_file():
                assert key not in path.read_bytes(), path
                scanned += 1
        with zipfile.ZipFile(book) as z:  # the workbook's parts, uncompressed
            assert all(key not in z.read(name) for name in z.namelist())
        return scanned

    aigen_env.default = Reply.success("12.5").delayed(0.2)
    killed_after_journalling(book, 2)
    nothing_holds_the_key()  # the journal holds readings now

    aigen_env.default = Reply.success("12.5")
    assert cli("read", str(book)).returncode == 0
    assert [r[1] for r in rows_of(book)[1:]] == [12.5] * 6
    assert len(rows_of(book, CACHE_SHEET)) == 7  # the cache sheet holds every reading
    nothing_holds_the_key()


def test_a_workbook_with_shapes_is_read_in_place_and_keeps_its_text_box(
    tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]
) -> None:
    import zipfile

    make_photo(tmp_path / "p.jpg")
    book = add_text_box(photo_book(tmp_path / "plain.xlsx", [["p.jpg"]]), tmp_path / "shapes.xlsx")
    with zipfile.ZipFile(book) as z:
        drawing = z.read("xl/drawings/drawing1.xml")
    assert main(["read", str(book)]) == 0
    assert capsys.readouterr().err == ""
    assert rows_of(book)[1][1] == 3245.01 and len(aigen_env.calls) == 1
    with zipfile.ZipFile(book) as z:
        assert z.read("xl/drawings/drawing1.xml") == drawing


def test_reading_into_a_copy_of_the_template_keeps_its_macros_ribbon_and_code_names(
    tmp_path: Path, aigen_env: FakeAigen
) -> None:
    import shutil
    import zipfile

    template = ROOT / "workbook_template.xlsm"
    book = tmp_path / "March meters.xlsm"
    shutil.copy(template, book)
    (tmp_path / "photos").mkdir()
    make_photo(tmp_path / "photos" / "meter_0001.jpg")  # the template's example row names it

    assert main(["read", str(book)]) == 0
    assert rows_of(book, "Readings")[1][:4] == ("photos\\meter_0001.jpg", 3245.01, 0.7603056856564113,
                                              83.69637298583984)
    with zipfile.ZipFile(template) as before, zipfile.ZipFile(book) as after:
        for part in ("xl/vbaProject.bin", "customUI/customUI.xml"):
            assert after.read(part) == before.read(part), part
        assert b"customUI/customUI.xml" in after.read("_rels/.rels")
    wb = openpyxl.load_workbook(book, keep_vba=True)
    wb.vba_archive.close()
    assert [ws.sheet_properties.codeName for ws in wb.worksheets[:2]] == ["Sheet1", "Sheet2"]
    assert wb.code_name == "ThisWorkbook"


@pytest.mark.slow  # waits through retries
def test_a_second_run_resends_only_what_failed_not_what_had_no_reading(tmp_path: Path, aigen_env: FakeAigen) -> None:
    book = book_of_photos(tmp_path, 3)
    blank, flaky = tmp_path / "meter 0.jpg", tmp_path / "meter 1.jpg"
    aigen_env.on(blank, Reply.no_detection())
    aigen_env.on(flaky, Reply.error(503))
    assert cli("read", str(book)).returncode == 0
    status = [r[4] for r in rows_of(book)[1:]]
    assert status[0].startswith("No reading") and status[1].startswith("Failed: Service error 503")
    assert status[2] is None

    aigen_env.on(flaky, Reply.success("42.0"))
    calls = len(aigen_env.calls)
    assert cli("read", str(book)).returncode == 0
    assert [c.image_sha256 for c in aigen_env.calls[calls:]] == [aigen_env.calls_for(flaky)[0].image_sha256]
    assert [r[1] for r in rows_of(book)[1:]] == [None, 42.0, 3245.01]


def test_a_wrong_output_is_refused_before_anything_is_paid_and_a_copy_keeps_the_permissions(
    tmp_path: Path, aigen_env: FakeAigen, capsys: pytest.CaptureFixture[str]
) -> None:
    book = book_of_photos(tmp_path, 2)
    book.chmod(0o640)
    assert main(["read", str(book), "--output", str(tmp_path / "out.xlsm")]) == 1
    assert main(["read", str(book), "--output", str(tmp_path / "no folder" / "out.xlsx")]) == 1
    err = capsys.readouterr().err
    assert "same extension (.xlsx), not .xlsm" in err and "does not exist" in err
    (tmp_path / "out").mkdir()
    assert main(["read", str(book), "--output", str(tmp_path / "out")]) == 1
    assert main(["read", str(book), "--output", str(tmp_path / "copy")]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'out'} is a folder: name a file in it" in err
    assert "same extension (.xlsx), not none (copy)" in err
    assert aigen_env.calls == []

    assert main(["read", str(book), "--output", str(tmp_path / "out.xlsx")]) == 0
    assert (tmp_path / "out.xlsx").stat().st_mode & 0o777 == 0o640


def test_inserting_rows_pays_only_for_the_new_photo_and_readings_stay_beside_their_photos(
    tmp_path: Path, aigen_env: FakeAigen
) -> None:
    book = book_of_photos(tmp_path, 2)
    aigen_env.on(tmp_path / "meter 1.jpg", Reply.success("22.5"))
    assert main(["read", str(book)]) == 0

    make_photo(tmp_path / "new.jpg", seed=99)
    wb = openpyxl.load_workbook(book)
    wb["Photos"].insert_rows(2, 2)  # two rows above the first photo; one gets a new photo
    wb["Photos"]["A3"] = "new.jpg"
    wb.save(book)
    assert main(["read", str(book)]) == 0
    assert [(r[0], r[1]) for r in rows_of(book)[1:]] == [
        (None, None), ("new.jpg", 3245.01), ("meter 0.jpg", 3245.01), ("meter 1.jpg", 22.5)]
    assert len(aigen_env.calls) == 3  # two photos once, then only the new one


def test_a_workbook_with_a_logo_is_read_and_saved_with_its_logo(tmp_path: Path, aigen_env: FakeAigen) -> None:
    import zipfile

    from openpyxl.drawing.image import Image as SheetImage
    from PIL import Image

    book = book_of_photos(tmp_path, 1)
    Image.new("RGB", (20, 20), "red").save(tmp_path / "logo.png")
    wb = openpyxl.load_workbook(book)
    wb["Photos"].add_image(SheetImage(str(tmp_path / "logo.png")), "H2")
    wb.save(book)

    assert main(["read", str(book)]) == 0
    assert rows_of(book)[1][1] == 3245.01
    with zipfile.ZipFile(book) as z:
        assert any(name.startswith("xl/media/") for name in z.namelist())


def test_an_output_that_cannot_be_replaced_is_refused_before_paying(tmp_path: Path, aigen_env: FakeAigen,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    book = book_of_photos(tmp_path, 1)
    (tmp_path / "out.xlsx").mkdir()
    assert main(["read", str(book), "--output", str(tmp_path / "out.xlsx")]) == 1
    assert f"{tmp_path / 'out.xlsx'} is a folder: name a file in it" in capsys.readouterr().err
    assert aigen_env.calls == []


def test_output_never_replaces_an_unrelated_workbook(tmp_path: Path, aigen_env: FakeAigen,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    book = book_of_photos(tmp_path, 1)
    budget = tmp_path / "budget.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Budget 2025"
    wb.save(budget)
    before = budget.read_bytes()
    assert main(["read", str(book), "--output", str(budget)]) == 1
    assert "budget.xlsx exists already" in capsys.readouterr().err
    assert budget.read_bytes() == before and aigen_env.calls == []
    copy = tmp_path / "copy.xlsx"
    assert main(["read", str(book), "--output", str(copy)]) == 0
    assert main(["read", str(book), "--output", str(copy)]) == 0  # its own earlier copy: replaced
