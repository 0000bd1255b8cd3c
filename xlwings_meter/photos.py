"""Finding, checking, orienting, shrinking and hashing meter photos (file I/O, no network)."""

from __future__ import annotations

import hashlib
import io
import os
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from xlwings_meter.errors import NotAnImageError, PhotoMissingError

#: Long side, in pixels, above which a photo is shrunk before upload. Meter digits stay
#: legible at this size while a 12-megapixel phone photo drops from ~4 MB to ~300 kB.
DEFAULT_MAX_SIDE = 1600
JPEG_QUALITY = 90
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class Photo:
    """A photo ready for an engine: checked to be an image, upright, small enough.

    ``data`` is what gets uploaded: the file's own bytes when it was already an upright JPEG or
    PNG within the size cap, otherwise a re-encoded JPEG. ``digest`` is the SHA-256 of the file
    on disk, the cache key: a renamed or copied photo has the same digest.
    """

    path: Path
    digest: str
    data: bytes
    width: int
    height: int
    file_size: int

    @cached_property
    def image(self) -> Image.Image:
        """The uploaded image, decoded (for engines that read locally)."""
        img = Image.open(io.BytesIO(self.data))
        img.load()
        return img


def resolve_path(cell: object, folder: Path | None) -> Path:
    """Turn the text of a cell into an absolute path.

    Accepts absolute paths, ``~`` and paths relative to the workbook's ``folder``. Surrounding
    blanks and quotes (as left by Windows' "Copy as path") are dropped; on macOS and Linux a
    Windows-style relative path (``photos\\m1.jpg``) is understood too.
    Raises PhotoMissingError for an empty cell.
    """
    text = "" if cell is None else str(cell).strip().strip('"').strip()
    if not text:
        raise PhotoMissingError("No photo path in this cell")
    path = Path(os.path.expanduser(text))
    if not path.is_absolute() and folder is not None:
        path = folder / path
    if os.sep == "/" and "\\" in text and not path.exists():
        # A workbook filled on Windows, opened on a Mac: photos\m1.jpg means photos/m1.jpg.
        return resolve_path(text.replace("\\", "/"), folder)
    return path


def file_digest(path: Path) -> str:
    """SHA-256 of the file's content, hex. Raises PhotoMissingError when it cannot be read."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_HASH_CHUNK):
                h.update(chunk)
    except FileNotFoundError as exc:
        raise PhotoMissingError(f"File not found: {path}") from exc
    except IsADirectoryError as exc:
        raise PhotoMissingError(f"Not a file but a folder: {path}") from exc
    except OSError as exc:
        raise PhotoMissingError(f"Cannot open {path}: {exc.strerror or exc}") from exc
    return h.hexdigest()


def load_photo(path: Path, digest: str | None = None, max_side: int = DEFAULT_MAX_SIDE) -> Photo:
    """Check that ``path`` is an image, apply its EXIF orientation and cap its long side.

    Raises PhotoMissingError or NotAnImageError; never lets a non-image through, so nothing but
    an image is ever uploaded.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise PhotoMissingError(f"File not found: {path}") from exc
    except OSError as exc:
        raise PhotoMissingError(f"Cannot open {path}: {exc.strerror or exc}") from exc
    if digest is None:
        digest = hashlib.sha256(raw).hexdigest()

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(raw))
            fmt = img.format
            if fmt == "JPEG" and max(img.size) > 2 * max_side:
                # Let the JPEG decoder scale down by 2, 4 or 8 while decoding: a 12-megapixel
                # photo then costs a quarter of the work, and never less than max_side remains.
                scale = max_side / max(img.size)
                img.draft("RGB", (round(img.width * scale), round(img.height * scale)))
            img.load()  # decodes every pixel: a truncated or corrupt file fails here
    except UnidentifiedImageError as exc:
        raise NotAnImageError(f"Not an image: {path.name}") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise NotAnImageError(f"Image too large to be a photo: {path.name}") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise NotAnImageError(f"Corrupt image: {path.name}") from exc

    upright = ImageOps.exif_transpose(img)
    rotated = upright is not img and _orientation(img) not in (None, 1)
    too_big = max(upright.size) > max_side
    if not rotated and not too_big and fmt in ("JPEG", "PNG"):
        return Photo(path, digest, raw, img.width, img.height, len(raw))

    if too_big:
        upright.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    if upright.mode not in ("RGB", "L"):
        upright = upright.convert("RGB")
    buf = io.BytesIO()
    upright.save(buf, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    return Photo(path, digest, buf.getvalue(), upright.width, upright.height, len(raw))


def _orientation(img: Image.Image) -> int | None:
    try:
        return img.getexif().get(0x0112)
    except Exception:  # a broken EXIF block is no reason to refuse the photo
        return None
