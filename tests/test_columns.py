"""Finding the photo column and refusing to write over anything that is not this tool's output."""

from __future__ import annotations

import pytest

from xlwings_meter.errors import (
    ColumnNotFoundError,
    EmptyPhotoColumnError,
    ForeignDataError,
)
from xlwings_meter.reading import Reading, ReadingStatus
from xlwings_meter.workbook.columns import (
    check_result_columns,
    find_photo_column,
    header_row,
    last_filled_row,
    result_rows,
)

OURS = ["Value", "Confidence", "Angle", "Status"]


def test_the_photo_column_is_found_by_header_in_any_case_or_by_letter() -> None:
    headers = [["Customer", " IMAGE ", None, "ID"], ["x", "m1.jpg", None, 7]]

    def column(c: int) -> list[object]:
        return [row[c - 1] for row in headers]

    assert find_photo_column(headers, None, "S", column) == (1, 2)
    assert find_photo_column(headers, "image", "S", column) == (1, 2)
    assert find_photo_column(headers, "D", "S", column) == (1, 4)  # no header "D": the letter
    assert find_photo_column(headers, "id", "S", column) == (1, 4)  # a header wins over a letter
    with pytest.raises(ColumnNotFoundError, match="No column headed 'Image' in the first 20 rows of "
                       "sheet 'S'") as missing:
        find_photo_column([["Customer", "Photo"]], None, "S", column)
    assert (missing.value.sheet, missing.value.column, missing.value.named) == ("S", "Image", False)
    with pytest.raises(ColumnNotFoundError, match="'Foto'") as named:
        find_photo_column([["Customer", "Photo"]], "Foto", "S", column)
    assert named.value.named


def test_the_header_is_found_where_it_is_under_a_title_and_an_empty_column_is_refused() -> None:
    sheet = [["March readings"], [None], ["Photo"], ["m1.jpg"], ["photos/m2.jpg"]]

    def column(c: int) -> list[object]:
        return [row[0] if c == 1 else None for row in sheet]

    with pytest.raises(ColumnNotFoundError):  # no "Image" header anywhere
        find_photo_column(sheet, None, "S", column)
    assert find_photo_column(sheet[:3], "A", "S", column) == (3, 1)  # the title is not the header
    assert find_photo_column(sheet[:3], "photo", "S", column) == (3, 1)
    assert header_row([None, "Meter photos", "a.png"], "S", "B") == 2
    assert header_row([None, None, "Image"], "S", "B") == 3  # no path yet: the first non-empty cell
    with pytest.raises(EmptyPhotoColumnError, match="column Z of sheet 'S' is empty") as caught:
        find_photo_column(sheet, "Z", "S", column)
    assert (caught.value.sheet, caught.value.column) == ("S", "Z")


def test_rows_end_at_the_last_non_empty_cell() -> None:
    assert last_filled_row(["a.jpg", None, "b.jpg", "  ", None]) == 3
    assert last_filled_row([None, ""]) == 0


def test_empty_columns_our_own_output_and_what_a_person_typed_are_accepted() -> None:
    check_result_columns([[None] * 4, [None] * 4], 2, "S")
    check_result_columns([OURS, [935.781, 0.9, 1.5, None], [None, None, None, "File not found: x"]], 2, "S")
    # A person's text or number anywhere below the headers: their edit, kept by the job.
    check_result_columns([OURS, ["see photo", "high", "n/a", 42]], 2, "S")


@pytest.mark.parametrize(
    "block, where",
    [
        ([["Amount", None, None, None], [12, None, None, None]], "column B .* headed 'Amount'"),
        ([[None] * 4, [None, None, "note", None]], "column D .* without a header .*D2"),
        ([OURS, ["=SUM(A1:A3)", None, None, None]], "B2 holds '=SUM"),
    ],
)
def test_anything_else_in_the_target_columns_is_refused(block: list[list[object]], where: str) -> None:
    with pytest.raises(ForeignDataError, match=where):
        check_result_columns(block, 2, "S")


def test_result_cells_hold_numbers_formatted_as_read_and_reasons_in_status() -> None:
    read = Reading(ReadingStatus.READ, value="00935.780", confidence=0.76, angle=83.7)
    missing = Reading.failure(ReadingStatus.FILE_MISSING, "File not found: /p/x.jpg")
    values, formats = result_rows([read, missing])
    assert values == [[935.78, 0.76, 83.7, None], [None, None, None, "File not found: /p/x.jpg"]]
    assert formats[0][0] == "00000.000"


def test_the_templates_example_row_counts_as_the_tools_own_so_the_first_run_replaces_it() -> None:
    from template.spec import READINGS
    from xlwings_meter.workbook.edits import TEMPLATE_EXAMPLE, is_tool_row

    example = [cell.value for cell in READINGS.rows[1][1:]]
    assert tuple(example) == TEMPLATE_EXAMPLE
    assert is_tool_row(example + [None], known=set())
    assert not is_tool_row([936.0, 0.93, 1.5, None], known=set())  # a corrected value is a person's
