"""Writing a copy of the Excel workbook template that ships inside the package.

A copy written on the user's own machine carries no "downloaded from the Internet" mark, so
Office does not block its macros (a template downloaded with a browser does; see README).
"""

from __future__ import annotations

from pathlib import Path

from xlwings_meter.errors import WorkbookError

TEMPLATE = Path(__file__).with_name("workbook_template.xlsm")
DEFAULT_NAME = "meter-readings.xlsm"


def write_template(dest: Path | None = None) -> Path:
    """Write the template to ``dest`` (a file, or a folder to put ``meter-readings.xlsm`` in).

    Never overwrites: an existing file raises WorkbookError, as does a name that Excel would
    not open with its macros (anything but ``.xlsm``).
    """
    target = dest if dest is not None else Path(DEFAULT_NAME)
    if target.is_dir():
        target = target / DEFAULT_NAME
    if target.suffix.lower() != ".xlsm":
        raise WorkbookError(f"{target.name}: the workbook must end in .xlsm, or Excel drops its buttons "
                            "(macros)")
    data = TEMPLATE.read_bytes()
    try:
        with open(target, "xb") as fh:
            fh.write(data)
    except FileExistsError as exc:
        raise WorkbookError(f"{target} exists already; name another file, nothing was overwritten") from exc
    except FileNotFoundError as exc:
        raise WorkbookError(f"No folder {target.parent}") from exc
    except OSError as exc:
        raise WorkbookError(f"Cannot write {target} ({exc.strerror or exc})") from exc
    return target
