"""The one tree of errors xlwings-meter raises.

::

    MeterError                        anything this package reports to a person
    ├── ConfigError (ValueError)      no key, an endpoint that would leak the key, a bad setting
    ├── PhotoError                    one photo cannot be sent; its row says why, the batch goes on
    │   ├── PhotoMissingError         the path does not lead to a readable file
    │   │   └── NotARegularFileError  a named pipe, a device, a socket: never opened for reading
    │   └── NotAnImageError           the file is not an image Pillow can open, or it is corrupt
    │       └── PhotoTooLargeError    a file or an image larger than any photo (a video, a bomb)
    ├── ServiceError                  the OCR service did not give a reading
    │   ├── TransientServiceError     5xx, timeout, dropped connection, garbage body: after retries,
    │   │                             that row failed; the batch goes on (may_have_been_charged)
    │   │   └── UnreachableError      the service could not be reached at all (network, DNS, refused)
    │   ├── RejectedError             another 4xx (or a redirect): the service refused this
    │   │                             request; not retried, that row failed, the batch goes on
    │   └── BatchStopError            nothing more can be read in this batch
    │       ├── AuthError             401/403: the key is missing, wrong or not allowed here
    │       ├── QuotaError            429 that persisted: credit exhausted or too many requests
    │       ├── OfflineError          photo after photo could not reach the service: the network is down
    │       └── JournalError          the crash journal cannot be written: stop paying without a safe copy
    └── WorkbookError                 the workbook cannot be read or written as asked
        ├── ColumnNotFoundError (LookupError)
        ├── ForeignDataError          a target column holds data this tool did not write
        ├── WorkbookBusyError         another run is reading this workbook (its lock is held)
        └── UnsupportedContentError   saving the file would drop content openpyxl cannot keep

`requests` exceptions are translated into this tree in exactly one place,
`xlwings_meter.engines.aigen.client`. Messages never contain the API key.
"""

from __future__ import annotations


class MeterError(Exception):
    """Base of every error this package reports; its message is one line for a person."""


class ConfigError(MeterError, ValueError):
    """A setting is missing or unsafe (no API key, a plain-http endpoint off loopback...)."""


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
    """The OCR service did not give a reading."""


class TransientServiceError(ServiceError):
    """The service kept failing (5xx, timeouts, dropped connections) after every retry.

    ``may_have_been_charged`` is True when a request of this photo reached the service and got
    no usable answer (a read timeout, a 5xx, a dropped or garbled reply): the service may have
    read, and billed, it. Such a photo is tried at most once more. ``tries`` counts the requests.
    """

    def __init__(self, message: str, *, may_have_been_charged: bool = False, tries: int = 1) -> None:
        super().__init__(message)
        self.may_have_been_charged = may_have_been_charged
        self.tries = tries


class RejectedError(ServiceError):
    """The service refused the request with a 4xx other than 400/401/403/429, or redirected it.

    Row-level and not retried: asking again would be refused again.
    """


class UnreachableError(TransientServiceError):
    """The service could not be reached at all: no network, a wrong host name, a refused port.

    Nothing was sent, so nothing was charged: such a try is repeated freely.
    """

    def __init__(self, message: str, *, tries: int = 1) -> None:
        super().__init__(message, may_have_been_charged=False, tries=tries)


class BatchStopError(ServiceError):
    """Nothing more can be read in this batch; what was read so far is kept."""


class AuthError(BatchStopError):
    """The service refused the API key (401) or the key may not use this endpoint (403)."""


class QuotaError(BatchStopError):
    """The service kept answering 429: credit exhausted or requests too fast."""


class OfflineError(BatchStopError):
    """Several photos in a row could not reach the service and none could: the network is down."""


class JournalError(BatchStopError):
    """The journal beside the workbook cannot be written or read (disk full, no permission)."""


class WorkbookError(MeterError):
    """The workbook cannot be read or written as asked."""


class ColumnNotFoundError(WorkbookError, LookupError):
    """The sheet or the column of photo paths named by the user does not exist."""


class ForeignDataError(WorkbookError):
    """A column this tool would write into holds someone else's data."""


class WorkbookBusyError(WorkbookError):
    """Another run (the command line, the Excel button) holds this workbook's lock."""

    def __init__(self, message: str, *, path: object, holder: str) -> None:
        super().__init__(message)
        self.path = path  # the workbook
        self.holder = holder  # what the lock file says: "xlwings-meter read, process 4242, since 06:31:02"


class UnsupportedContentError(WorkbookError):
    """Saving a workbook file would drop content the file backend cannot keep (e.g. shapes)."""
