"""The photos of a folder, in the order they were taken: for building a photo column from a folder.

The order is the camera's (EXIF DateTimeOriginal), so a meter reader's round comes out in the
order it was walked; photos without a capture time follow, by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from xlwings_meter.photos import register_heif

#: File name endings taken as photos (any case). HEIC/HEIF are listed whether or not this
#: machine can decode them: the row then says why it could not be read.
PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".heic", ".heif", ".tif", ".tiff", ".webp", ".bmp"})
_EXIF_IFD = 0x8769
_DATE_TIME_ORIGINAL = 0x9003
_DATE_TIME = 0x0132


@dataclass(frozen=True)
class FolderPhoto:
    """One photo of a folder and when it was taken (None when the file does not say)."""

    path: Path
    taken: datetime | None


def photos_in(folder: Path) -> list[FolderPhoto]:
    """The photos directly in ``folder``, by capture time, then those without one by name.

    Hidden files (``.name``) and Office's lock files (``~$name``) are skipped.
    """
    found = [
        FolderPhoto(path, capture_time(path))
        for path in folder.iterdir()
        if path.is_file() and path.suffix.lower() in PHOTO_SUFFIXES and not path.name.startswith((".", "~$"))
    ]
    dated = sorted((p for p in found if p.taken is not None), key=lambda p: (p.taken, p.path.name.casefold()))
    undated = sorted((p for p in found if p.taken is None), key=lambda p: p.path.name.casefold())
    return dated + undated


def capture_time(path: Path) -> datetime | None:
    """When the photo was taken, per its EXIF data; None when it does not say or cannot be read."""
    if path.suffix.lower() in (".heic", ".heif"):
        register_heif()  # an iPhone's round is in HEIC
    try:
        with Image.open(path) as img:
            exif = img.getexif()
            text = exif.get_ifd(_EXIF_IFD).get(_DATE_TIME_ORIGINAL) or exif.get(_DATE_TIME)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None  # a photo too large is refused when it is read, in its row
    return parse_exif_time(text)


def parse_exif_time(text: object) -> datetime | None:
    """EXIF's "2026:03:14 09:26:53" as a datetime; None for anything else.

    >>> parse_exif_time("2026:03:14 09:26:53"), parse_exif_time("0000:00:00 00:00:00")
    (datetime.datetime(2026, 3, 14, 9, 26, 53), None)
    """
    if not isinstance(text, str):
        return None
    try:
        return datetime.strptime(text.strip().rstrip("\x00"), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
