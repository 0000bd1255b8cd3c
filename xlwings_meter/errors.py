"""The one tree of errors xlwings-meter raises.

::

    MeterError                        anything this package reports to a person
    ├── ConfigError (ValueError)      an endpoint that would leak the key, a bad setting
    │   └── MissingKeyError           no API key where it is looked for (.config_file)
    ├── PhotoError                    one photo cannot be sent; its row says why, the batch goes on
    │   ├── PhotoMissingError         the path does not lead to a readable file
    │   │   └── NotARegularFileError  a named pipe, a device, a socket: never opened for reading
    │   └── NotAnImageError           the file is not an image Pillow can open, or it is corrupt
    │       └── PhotoTooLargeError    a file or an image larger than any photo (a video, a bomb)
    ├── ServiceError                  the OCR service did not give a reading (.http_status)
    │   ├── TransientServiceError     5xx, timeout, dropped connection, garbage body (.attempts): after retries,
    │   │                             that row failed; the batch goes on (.may_have_been_charged)
    │   │   └── UnreachableError      the service could not be reached at all (network, DNS, refused)
    │   ├── RejectedError             another 4xx (or a redirect): the service refused this
    │   │                             request; not retried, that row failed, the batch goes on
    │   └── BatchStopError            nothing more can be read in this batch
    │       ├── AuthError             401/403: the key is wrong or not allowed here (.key_source)
    │       ├── QuotaError            429 that persisted: credit exhausted or too many requests
    │       ├── OfflineError          photo after photo could not reach the service: the network is down
    │       └── JournalError          the crash journal cannot be written: stop paying without a safe copy
    └── WorkbookError                 the workbook cannot be read or written as asked
        ├── ColumnNotFoundError (LookupError)  no such sheet or column (.sheet, .column, .named)
        ├── ForeignDataError          a target column holds data this tool did not write
        ├── WorkbookBusyError         another run is reading this workbook (its lock is held)
        ├── WorkbookClosedError       the workbook was closed while METERREAD's photos waited
        ├── UnsupportedContentError   (no longer raised: the file backend now keeps every part)
        ├── UnreadableWorkbookError   the file cannot be opened as a workbook (one per reason:
        │                             Encrypted, OldExcelFormat, NotAWorkbook, BrokenWorkbook)
        ├── WorkbookInUseError        Excel's lock file is beside it: open in Excel
        ├── WorkbookChangedError      the file changed (or Excel opened it) during the run: not saved over
        └── TargetCellsError          MergedCellsError, ProtectedSheetError: cells cannot take results
    (ColumnNotFoundError > EmptyPhotoColumnError; PhotoMissingError > WebAddressError,
    UnsavedFormulaError)

`requests` exceptions are translated into this tree in exactly one place,
`xlwings_meter.engines.aigen.client`. Messages never contain the API key. Callers tell errors apart by type and fields, never by
message text; each surface (the command line, a message box, a cell) words them its own way.
"""

from __future__ import annotations

from pathlib import Path


class MeterError(Exception):
    """Base of every error this package reports; its message is one line for a person."""


class ConfigError(MeterError, ValueError):
    """A setting is missing or unsafe (no API key, a plain-http endpoint off loopback...)."""


class MissingKeyError(ConfigError):
    """No API key in the environment nor in the user's config file ``config_file``."""

    def __init__(self, message: str, *, config_file: Path) -> None:
        super().__init__(message)
        self.config_file = config_file


class PhotoError(MeterError):
    """One photo cannot be sent to an engine. Row-level: the batch goes on."""


class PhotoMissingError(PhotoError):
    """The path in the cell does not lead to a readable file."""


class NotAnImageError(PhotoError):
    """The file exists but is not an image Pillow can open, or the image is corrupt."""


class NotARegularFileError(PhotoMissingError):
    """The path leads to a named pipe, a device or a socket, which could block the run for ever."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind  # "named pipe", "device", "socket"...


class PhotoTooLargeError(NotAnImageError):
    """The file (a video?) or the image it unpacks into (a decompression bomb) exceeds any photo.

    ``size`` is in bytes for a file, in pixels for an image; ``limit`` in the same unit.
    """

    def __init__(self, message: str, *, size: int, limit: int) -> None:
        super().__init__(message)
        self.size = size
        self.limit = limit


class ServiceError(MeterError):
    """The OCR service did not give a reading; ``http_status`` is its reply's code, if it replied."""

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status


class TransientServiceError(ServiceError):
    """The service kept failing (5xx, timeouts, dropped connections) after ``attempts`` tries.

    ``may_have_been_charged`` is True when a request of this photo reached the service and got
    no usable answer (a read timeout, a 5xx, a dropped or garbled reply): the service may have
    read, and billed, it. Such a photo is tried at most once more.
    """

    def __init__(self, message: str, *, http_status: int | None = None, attempts: int = 1,
                 may_have_been_charged: bool = False) -> None:
        super().__init__(message, http_status=http_status)
        self.attempts = attempts
        self.may_have_been_charged = may_have_been_charged


class RejectedError(ServiceError):
    """The service refused the request with a 4xx other than 400/401/403/429, or redirected it.

    Row-level and not retried: asking again would be refused again.
    """


class UnreachableError(TransientServiceError):
    """The service could not be reached at all: no network, a wrong host name, a refused port.

    Nothing was sent, so nothing was charged: such a try is repeated freely.
    """

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        super().__init__(message, attempts=attempts, may_have_been_charged=False)


class BatchStopError(ServiceError):
    """Nothing more can be read in this batch; what was read so far is kept."""


class AuthError(BatchStopError):
    """The service refused the API key (401) or the key may not use this endpoint (403).

    ``key_source`` says where the key was found (never the key itself).
    """

    def __init__(self, message: str, *, http_status: int, key_source: str) -> None:
        super().__init__(message, http_status=http_status)
        self.key_source = key_source


class QuotaError(BatchStopError):
    """The service kept answering 429: credit exhausted or requests too fast."""


class OfflineError(BatchStopError):
    """Several photos in a row could not reach the service and none could: the network is down."""


class JournalError(BatchStopError):
    """The journal beside the workbook cannot be written or read (disk full, no permission)."""


class WorkbookError(MeterError):
    """The workbook cannot be read or written as asked."""


class ColumnNotFoundError(WorkbookError, LookupError):
    """The sheet or the column of photo paths does not exist.

    ``sheet`` is the sheet looked in (or for), ``column`` the column looked for (None when the
    sheet itself is missing), ``named`` True when the user named it rather than the default.
    """

    def __init__(self, message: str, *, sheet: str | None = None, column: str | None = None,
                 named: bool = True) -> None:
        super().__init__(message)
        self.sheet, self.column, self.named = sheet, column, named


class ForeignDataError(WorkbookError):
    """A column this tool would write into holds someone else's data."""


class WorkbookBusyError(WorkbookError):
    """Another run (the command line, the Excel button) holds this workbook's lock."""

    def __init__(self, message: str, *, path: object, holder: str) -> None:
        super().__init__(message)
        self.path = path  # the workbook
        self.holder = holder  # what the lock file says: "xlwings-meter read, process 4242, since 06:31:02"


class WorkbookClosedError(WorkbookError):
    """The workbook was closed while its cells waited for photos: what was not sent is not sent."""

    def __init__(self, workbook: str) -> None:
        super().__init__(f"{workbook} was closed before its photo was sent")
        self.workbook = workbook


class UnsupportedContentError(WorkbookError):
    """Saving a workbook file would drop content the file backend cannot keep (e.g. shapes)."""


class UnreadableWorkbookError(WorkbookError):
    """The file cannot be opened as a workbook at all; ``path`` is the file."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path


class EncryptedWorkbookError(UnreadableWorkbookError):
    """The workbook is protected with a password to open: its content is encrypted."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, f"{path.name} is protected with a password: save a copy without "
                         "the password in Excel (File > Info > Protect Workbook) and use that")


class OldExcelFormatError(UnreadableWorkbookError):
    """An Excel 97-2003 (.xls) workbook under an .xlsx/.xlsm name."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, f"{path.name} is an old Excel 97-2003 (.xls) workbook with a new "
                         "name: open it in Excel and save it as an Excel Workbook (.xlsx)")


class NotAWorkbookError(UnreadableWorkbookError):
    """The file is not a workbook at all (another kind of file, or another Office document)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, f"{path.name} is not an Excel workbook (another kind of file "
                         "with a workbook's name?)")


class BrokenWorkbookError(UnreadableWorkbookError):
    """A part of the workbook is damaged, broken XML, or XML that declares entities (a bomb)."""

    def __init__(self, path: Path, part: str) -> None:
        super().__init__(path, f"{path.name} is damaged ({part} cannot be read): open it in "
                         "Excel, which offers to repair it, and save it again")
        self.part = part


class WorkbookInUseError(WorkbookError):
    """Excel's lock file is beside the workbook: it is open in Excel, which would save over us."""

    def __init__(self, path: Path, lock: Path) -> None:
        super().__init__(f"{path.name} is open in Excel ({lock.name} is beside it): close it "
                         "in Excel first, or write the readings into a copy with --output")
        self.path = path
        self.lock = lock


class WorkbookChangedError(WorkbookError):
    """The file was saved by someone else, or opened in Excel (``lock`` appeared beside it), while
    the photos were read: saving would destroy their work, so it is not overwritten."""

    def __init__(self, path: Path, lock: Path | None = None) -> None:
        how = (f"was opened in Excel while the photos were read ({lock.name} appeared beside it)"
               if lock is not None else "was changed by another program while the photos were read")
        super().__init__(f"{path.name} {how}: it was not overwritten")
        self.path = path
        self.lock = lock


class TargetCellsError(WorkbookError):
    """The cells the results go into cannot take them; ``sheet`` and ``area`` say where."""

    def __init__(self, message: str, sheet: str, area: str) -> None:
        super().__init__(message)
        self.sheet = sheet
        self.area = area


class MergedCellsError(TargetCellsError):
    """Merged cells lie in the result columns."""

    def __init__(self, sheet: str, area: str) -> None:
        super().__init__(f"sheet {sheet!r} has merged cells in {area}, where the results go "
                         "one value to a cell: unmerge them (Home > Merge & Center) and run again",
                         sheet, area)


class NoRoomError(TargetCellsError):
    """The result columns would run past Excel's last column (XFD)."""

    def __init__(self, sheet: str, area: str, needed: int) -> None:
        super().__init__(f"sheet {sheet!r} has no room for the results: they take {needed} columns right "
                         f"of the photo paths ({area}), past Excel's last column XFD; move the photo "
                         "column further left and run again", sheet, area)


class ProtectedSheetError(TargetCellsError):
    """The sheet is protected, so its cells cannot be written."""

    def __init__(self, sheet: str, area: str) -> None:
        super().__init__(f"sheet {sheet!r} is protected, so {area} cannot be written: unprotect "
                         "it (Review > Unprotect Sheet) and run again", sheet, area)


class EmptyPhotoColumnError(ColumnNotFoundError):
    """The photo column exists but holds nothing to read."""

    def __init__(self, sheet: str, column: str) -> None:
        super().__init__(f"column {column} of sheet {sheet!r} is empty: there are no photo paths "
                         "to read; name the column of photo paths with --column")
        self.sheet = sheet
        self.column = column


class NoHeaderError(ColumnNotFoundError):
    """The photo column has no header: its first filled cell is already a photo path.

    Refused rather than guessed: taking the first photo for the header would leave it unread,
    and inserting a row would move the person's cells. ``row`` is that first photo's row.
    """

    def __init__(self, sheet: str, column: str, row: int, path: str) -> None:
        super().__init__(f"column {column} of sheet {sheet!r} has no header: {column}{row} is already a "
                         f"photo path ({path}); insert a row above it and type a header such as Image "
                         "there, then run again", sheet=sheet, column=column)
        self.row = row


class WebAddressError(PhotoMissingError):
    """The cell holds a web address, not a path on this computer."""

    def __init__(self, url: str) -> None:
        super().__init__("Web addresses are not supported: save the photo to a folder and put "
                         "its path here")
        self.url = url


class NotAPathError(PhotoMissingError):
    """The cell holds something that cannot name a photo: a formula's error value (``#DIV/0!``),
    an e-mail address (``mailto:``), a link to a place in the workbook. ``kind`` says which
    ("error", "email", "place"), ``text`` what the cell holds."""

    _WHY = {"error": "The cell shows an error ({}), not a photo path: correct its formula",
            "email": "This is an e-mail address ({}), not a photo path",
            "place": "This links to a place in the workbook ({}), not to a photo: put the photo's path here"}

    def __init__(self, kind: str, text: str) -> None:
        super().__init__(self._WHY[kind].format(text))
        self.kind, self.text = kind, text


class UnsavedFormulaError(PhotoMissingError):
    """The cell's formula was never computed: no value is saved with it (openpyxl), or only the
    placeholder a writer puts there for the spreadsheet program to replace (xlsxwriter's 0)."""

    def __init__(self, formula: str) -> None:
        super().__init__("This formula has not been computed yet: open the workbook in Excel (or "
                         "LibreOffice), save it, and run again")
        self.formula = formula
