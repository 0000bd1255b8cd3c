"""Finding, checking, orienting, shrinking and hashing meter photos (file I/O, no network).

What leaves this module for an engine is always a freshly encoded JPEG: upright, its long side
capped, in RGB or grayscale, and without any of the file's metadata (EXIF with its GPS position
and phone model, XMP, ICC profile, comments, PNG text chunks) or bytes appended after the image.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import threading
import warnings
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

from xlwings_meter.errors import (
    NotAnImageError,
    NotARegularFileError,
    PhotoMissingError,
    PhotoTooLargeError,
)

#: Long side, in pixels, above which a photo is shrunk before upload.
DEFAULT_MAX_SIDE = 1600
#: The JPEG decoder scales down by 2, 4 or 8 while decoding, as far as leaves the long side at
#: least this: about the size of the photo in the API documentation's own example (808x1078,
#: digits 46 px tall). A 12-megapixel phone photo (4032x3024) comes out of the decoder at
#: 1008x756, a ~100 kB upload, with nothing left to resample.
LEGIBLE_SIDE = 1000
JPEG_QUALITY = 90
#: No photo file is larger: a 200-megapixel phone JPEG is 30 to 90 MB. A bigger file (a video
#: listed by mistake) is refused before a byte of it is read.
MAX_FILE_BYTES = 256 * 1024 * 1024
#: No phone makes more pixels (the largest sensors give 200 megapixels).
MAX_PIXELS = 250_000_000
#: A file that unpacks into more than this many pixels per byte of file is a decompression bomb
#: (a real photo has at most a few hundred), once it is big enough for that to matter.
BOMB_PIXELS_PER_BYTE = 1000
BOMB_MIN_PIXELS = 24_000_000
#: Formats the decoder cannot shrink while decoding are decoded whole; above this many pixels,
#: one at a time, so memory holds at most one such photo (at most 1 GB) at once.
BIG_DECODE_PIXELS = 40_000_000
#: Such a photo is converted and shrunk a band of about this many bytes at a time.
_BAND_BYTES = 16 * 1024 * 1024
_HASH_CHUNK = 1 << 20
#: A JPEG up to this size goes to the decoder in one piece (larger ones in pieces of it).
#: Pillow's default, 64 kB pieces, takes and gives back the GIL ~90 times for a 6 MB photo;
#: each time another thread holds it, the decoder waits for it, and a core idles meanwhile.
DECODE_BLOCK = 16 * 1024 * 1024

# Pillow's own limit would refuse a 108-megapixel photo; this module applies its own (above).
Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS or 0, MAX_PIXELS)

_BIG_DECODE = threading.Lock()
_HEIF_LOCK = threading.Lock()
_heif_registered = False
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
_VIDEO_BRANDS = {b"qt  ", b"isom", b"iso2", b"mp41", b"mp42", b"M4V ", b"3gp4", b"3gp5", b"avc1"}
_VIDEO_SUFFIXES = {".mov", ".mp4", ".m4v", ".avi", ".3gp", ".mkv", ".webm", ".wmv", ".mts"}
_SPECIAL_KINDS = (
    (stat.S_ISFIFO, "named pipe"),
    (stat.S_ISCHR, "device"),
    (stat.S_ISBLK, "device"),
    (stat.S_ISSOCK, "socket"),
)
# EXIF orientation -> the transposition that makes the stored pixels upright.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class Photo:
    """A photo ready for an engine: checked to be an image, upright, small enough.

    ``data`` is what gets uploaded: always a JPEG encoded here from the decoded pixels, so
    nothing of the file but its picture leaves the machine. ``digest`` is the SHA-256 of the
    file on disk, the cache key: a renamed or copied photo has the same digest.
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


def open_photo_file(path: Path) -> io.BufferedReader:
    """Open ``path`` for reading if, and only if, it is a regular file of a photo's size.

    A named pipe, a device (``/dev/zero``) or a socket is refused from its ``stat`` before it
    is opened, and opened without blocking besides, so nothing can hang the run; a file larger
    than any photo (a video) is refused before a byte is read. Raises PhotoMissingError,
    NotARegularFileError or PhotoTooLargeError.
    """
    try:
        _check_regular(path, os.stat(path))
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError as exc:
        raise PhotoMissingError(f"File not found: {path}") from exc
    except IsADirectoryError as exc:
        raise PhotoMissingError(f"Not a file but a folder: {path}") from exc
    except OSError as exc:
        raise PhotoMissingError(f"Cannot open {path}: {exc.strerror or exc}") from exc
    try:
        _check_regular(path, os.fstat(fd))  # the path may have been swapped since the stat
    except BaseException:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def _check_regular(path: Path, st: os.stat_result) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise PhotoMissingError(f"Not a file but a folder: {path}")
    if not stat.S_ISREG(st.st_mode):
        kind = next((name for test, name in _SPECIAL_KINDS if test(st.st_mode)), "special file")
        raise NotARegularFileError(f"Not a photo file but a {kind}: {path}", kind=kind)
    if st.st_size > MAX_FILE_BYTES:
        raise PhotoTooLargeError(
            f"Too large to be a photo ({_size(st.st_size)}; a photo is at most "
            f"{_size(MAX_FILE_BYTES)}): {path.name}", size=st.st_size, limit=MAX_FILE_BYTES)


def file_digest(path: Path) -> str:
    """SHA-256 of the file's content, hex. Raises a PhotoError when it is not a photo file."""
    with open_photo_file(path) as fh:
        return _digest(fh, path)


def _digest(fh: io.BufferedReader, path: Path) -> str:
    # Read into one buffer, reused: a new bytes object a chunk costs 12% more CPU (5.8 ms
    # instead of 5.1 ms for a 6 MB photo), and a cached re-run does little but hash.
    h = hashlib.sha256()
    buf = bytearray(_HASH_CHUNK)
    view = memoryview(buf)
    # No more than the size checked when it was opened: a file growing as it is read, or one
    # of the system's that says 0 bytes and never ends (/proc/self/pagemap), is no photo.
    left = os.fstat(fh.fileno()).st_size
    try:
        while n := fh.readinto(buf):
            left -= n
            if left < 0:
                raise PhotoMissingError(f"The file changed while it was read: {path}")
            h.update(view[:n])
    except OSError as exc:
        raise PhotoMissingError(f"Cannot read {path}: {exc.strerror or exc}") from exc
    return h.hexdigest()


def load_photo(path: Path, digest: str | None = None, max_side: int = DEFAULT_MAX_SIDE) -> Photo:
    """Decode the photo at ``path`` and make what is uploaded of it (see Photo).

    Raises PhotoMissingError or NotAnImageError (or their subclasses); never lets a non-image
    through, so nothing but an image is ever uploaded.
    """
    with open_photo_file(path) as fh:
        if digest is None:
            digest = _digest(fh, path)
            fh.seek(0)
        file_size = os.fstat(fh.fileno()).st_size
        img = _decode(fh, path, file_size, max_side)
    data = encode_for_upload(img)
    return Photo(path, digest, data, img.width, img.height, file_size)


def upright_image(path: Path, max_side: int = DEFAULT_MAX_SIDE) -> Image.Image:
    """The photo's pixels as an engine saw them (upright, long side at most ``max_side``),
    checked like load_photo; for evidence pictures, cut from the same geometry as the boxes."""
    with open_photo_file(path) as fh:
        return _decode(fh, path, os.fstat(fh.fileno()).st_size, max_side)


def _decode(fh: BinaryIO, path: Path, file_size: int, max_side: int) -> Image.Image:
    """The photo's pixels, upright and at most ``max_side`` on the long side."""
    head = fh.read(32)
    fh.seek(0)
    if _is_heif(head):
        register_heif()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the limits are below
            img = Image.open(fh)
            pixels = img.width * img.height
            if pixels > MAX_PIXELS or (pixels > BOMB_MIN_PIXELS and pixels > BOMB_PIXELS_PER_BYTE * file_size):
                raise PhotoTooLargeError(f"Image too large to be a photo ({img.width}x{img.height}): {path.name}",
                                         size=pixels, limit=MAX_PIXELS)
            # A JPEG with a multi-picture segment (an HDR gain map, a preview: Pillow says MPO)
            # is a JPEG first.
            if img.format in ("JPEG", "MPO"):
                # Scaled while decoding (see LEGIBLE_SIDE): the resampling after it has little
                # or nothing left to do, and a 200-megapixel photo needs a 64th of the memory.
                side, long = min(max_side, LEGIBLE_SIDE), max(img.size)
                if side < long:
                    img.draft(img.mode, (-(-img.width * side // long), -(-img.height * side // long)))
                img.decodermaxblock = max(img.decodermaxblock, min(file_size, DECODE_BLOCK))
                img.load()  # decodes every pixel: a truncated or corrupt file fails here
                small = _fit(img, max_side)
            else:
                with _BIG_DECODE if pixels > BIG_DECODE_PIXELS else nullcontext():
                    img.load()
                    small = _fit_in_bands(img, max_side) if pixels > BIG_DECODE_PIXELS else _fit(img, max_side)
            # Read after decoding: Pillow turns some formats itself as it loads them (TIFF, from
            # version 13) and then drops the tag, which must not turn them a second time.
            orientation = _orientation(img)
    except UnidentifiedImageError as exc:
        video = head[4:8] == b"ftyp" and head[8:12] in _VIDEO_BRANDS
        if video or path.suffix.lower() in _VIDEO_SUFFIXES:
            raise NotAnImageError(f"A video, not a photo: {path.name}") from exc
        raise NotAnImageError(f"Not an image: {path.name}") from exc
    except Image.DecompressionBombError as exc:
        raise PhotoTooLargeError(f"Image too large to be a photo: {path.name}",
                                 size=0, limit=MAX_PIXELS) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise NotAnImageError(f"Corrupt image: {path.name}") from exc
    if orientation in _UPRIGHT:
        small = small.transpose(_UPRIGHT[orientation])
    return small


def _fit(img: Image.Image, max_side: int) -> Image.Image:
    """``img`` in a mode the service takes, its long side cut to ``max_side``.

    A box filter, which when shrinking averages exactly the source pixels under each new one
    (area averaging), keeps digit edges sharp without Lanczos' ringing at a fifth of its cost;
    ``reducing_gap`` first averages whole blocks of a huge image that was not decoded scaled.
    """
    img = to_service_mode(img)
    if max(img.size) <= max_side:
        return img
    scale = max_side / max(img.size)
    size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
    return img.resize(size, Image.Resampling.BOX, reducing_gap=3.0)


def _fit_in_bands(img: Image.Image, max_side: int) -> Image.Image:
    """What ``_fit`` makes of a huge decoded image, a band of rows at a time.

    Converting the whole image first (transparency laid on white, a palette made RGB) took
    three times its memory: a 60-megapixel RGBA PNG, 240 MB decoded, peaked at 765 MB. A band
    is converted and shrunk, by the same area averaging, into its rows of the result.
    """
    if img.mode in ("I", "F"):  # scaled by the whole image's range, not a band's
        img = to_service_mode(img)
    scale = min(1.0, max_side / max(img.size))
    width, height = max(1, round(img.width * scale)), max(1, round(img.height * scale))
    step_y = img.height / height
    rows = max(1, int(_BAND_BYTES / (img.width * 4) / step_y))  # rows of the result per band
    if img.mode in ("RGB", "L") or rows >= height:
        # Nothing to convert, or one band would be the whole image (a panorama 80,000 pixels
        # wide): cutting it would only copy it.
        return _fit(img, max_side)
    out: Image.Image | None = None
    for top_row in range(0, height, rows):
        end_row = min(height, top_row + rows)
        y0, y1 = top_row * step_y, min(img.height, end_row * step_y)
        top, bottom = int(y0), min(img.height, -int(-y1 // 1))
        band = to_service_mode(img.crop((0, top, img.width, bottom)))
        part = band.resize((width, end_row - top_row), Image.Resampling.BOX,
                           box=(0, y0 - top, img.width, y1 - top))
        if out is None:
            out = Image.new(part.mode, (width, height))
        out.paste(part, (0, top_row))
    assert out is not None
    return out


def to_service_mode(img: Image.Image) -> Image.Image:
    """The image as 8-bit RGB or grayscale, the two modes the service takes.

    Transparency is laid on white (a PNG's clear background is not black), 16-bit and
    floating-point grayscale are scaled to 8 bits rather than clipped, CMYK, palette and the
    other colour modes become RGB.
    """
    mode = img.mode
    if mode in ("RGB", "L"):
        return img
    if mode == "1":
        return img.convert("L")
    if mode.startswith("I;16") or mode in ("I", "F"):
        gray = img.convert("I") if mode.startswith("I;16") else img
        high = gray.getextrema()[1]
        top = 65535 if mode.startswith("I;16") or (isinstance(high, (int, float)) and high > 255) else 255
        return gray.point(lambda v: v * (255 / top)).convert("L")
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    elif mode == "P":
        return img.convert("RGB")
    if img.mode in ("LA", "La", "PA"):
        img = img.convert("RGBA") if img.mode == "PA" else img
    if img.mode in ("RGBA", "RGBa", "LA", "La"):
        flat = "L" if img.mode in ("LA", "La") else "RGB"
        base = Image.new(flat, img.size, 255 if flat == "L" else (255, 255, 255))
        base.paste(img.convert(flat), mask=img.getchannel("A"))
        return base
    return img.convert("RGB")


def encode_for_upload(img: Image.Image) -> bytes:
    """A new baseline JPEG of ``img``'s pixels alone: no EXIF, XMP, ICC, comment, nothing after.

    Not ``optimize``: on a 12-megapixel photo's 1008x756 it takes 6.6 ms instead of 2.6 ms of
    CPU to save 7% of the bytes (93 kB instead of 100 kB), and a run is bound by the CPU.
    """
    clean = to_service_mode(img)
    clean.info = {}  # Pillow carries a JPEG comment or XMP from info into the new file
    buf = io.BytesIO()
    clean.save(buf, format="JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def _is_heif(head: bytes) -> bool:
    if head[4:8] != b"ftyp":
        return False
    brands = {head[i:i + 4] for i in range(8, len(head) - 3, 4)}
    return bool(brands & _HEIF_BRANDS)


def register_heif() -> None:
    """Teach Pillow HEIC/HEIF (iPhone photos), on the first such photo only: an import saved."""
    global _heif_registered
    with _HEIF_LOCK:
        if not _heif_registered:
            from pillow_heif import register_heif_opener

            register_heif_opener(thumbnails=False)
            _heif_registered = True


def _orientation(img: Image.Image) -> int | None:
    try:
        return img.getexif().get(0x0112)
    except Exception:  # a broken EXIF block is no reason to refuse the photo
        return None


def _size(n: int) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.0f} MB"
