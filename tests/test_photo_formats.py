"""Every photo a phone makes: HEIC, 100+ megapixels, odd colour modes; bombs still refused."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image, ImageDraw

from tests.photos import jpeg_markers
from xlwings_meter.errors import NotAnImageError, PhotoTooLargeError
from xlwings_meter.photos import DEFAULT_MAX_SIDE, load_photo

ROOT = Path(__file__).resolve().parents[1]
PLAIN_JPEG_MARKERS = {0xD8, 0xE0, 0xDB, 0xC0, 0xC4, 0xDA, 0xD9}


def _marked(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """Red, with a blue block in the top-left corner, to see which way up the upload is."""
    img = Image.new("RGB", size, (200, 30, 30))
    img.paste((0, 0, 255), (0, 0, size[0] // 4, size[1] // 8))
    return img.convert(mode) if mode != "RGB" else img


def _exif(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Apple"
    exif[0x0110] = "iPhone 15 Pro"
    exif.get_ifd(0x8825).update({1: "N", 2: (51.0, 30.0, 12.5), 3: "W", 4: (0.0, 7.0, 39.9)})
    return exif.tobytes()


def _uploaded(photo_data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(photo_data))
    assert img.format == "JPEG"
    assert set(jpeg_markers(photo_data)) <= PLAIN_JPEG_MARKERS
    assert b"iPhone" not in photo_data and b"Apple" not in photo_data
    return img


def test_an_iphone_heic_photo_is_read_upright_and_uploaded_as_a_plain_jpeg(tmp_path: Path) -> None:
    heic = tmp_path / "IMG_0001.HEIC"
    pillow_heif.from_pillow(_marked((640, 480))).save(heic, quality=90, exif=_exif(orientation=6))
    assert heic.read_bytes()[4:12] == b"ftypheic"  # a real HEIC, from libheif's encoder

    photo = load_photo(heic)

    sent = _uploaded(photo.data).convert("RGB")
    assert sent.size == (480, 640)  # turned as the phone was held
    r, _, b = sent.getpixel((470, 10))  # the blue corner is now top-right
    assert b > 150 and r < 100
    assert photo.file_size == heic.stat().st_size


def test_a_12_megapixel_phone_jpeg_goes_up_upright_at_a_quarter_of_its_side(tmp_path: Path) -> None:
    # 4032x3024 as an iPhone takes it, held upright (orientation 6), with a sensor's noise. The
    # decoder's own 1/4 scaling does the shrinking: about the API example's size, a small upload.
    phone = tmp_path / "IMG_4032.jpg"
    noise = Image.effect_noise((4032, 3024), 50).convert("RGB")
    Image.blend(_marked((4032, 3024)), noise, 0.25).save(phone, quality=95, exif=_exif(orientation=6))

    photo = load_photo(phone)

    sent = _uploaded(photo.data).convert("RGB")
    assert sent.size == (photo.width, photo.height) == (756, 1008)
    r, _, b = sent.getpixel((740, 10))  # the blue corner is now top-right
    assert b > 150 and r < 100
    assert len(photo.data) <= photo.file_size / 10


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="measures memory the Linux way")
@pytest.mark.slow  # decodes 108 megapixels
def test_a_108_megapixel_jpeg_is_shrunk_in_bounded_memory(tmp_path: Path) -> None:
    big = tmp_path / "108mp.jpg"
    img = Image.linear_gradient("L").resize((12000, 9000)).convert("RGB")
    ImageDraw.Draw(img).rectangle((4000, 4000, 8000, 5000), fill=(10, 10, 10))
    img.save(big, quality=90, exif=_exif())
    del img
    # Decoding it whole would take 324 MB; the decoder's own scaling keeps it to a 64th.
    width, height, size, peak_kib = _load_in_a_fresh_process(big)
    assert (width, height) == (1500, 1125)  # scaled by 8 while decoding, not resampled after
    assert size < 1_000_000
    assert peak_kib < 200 * 1024, f"peak {peak_kib / 1024:.0f} MiB"


def _load_in_a_fresh_process(path: Path) -> tuple[int, int, int, int]:
    """load_photo(path) in a fresh process, so its peak memory is this photo's alone:
    width, height and size of the upload, and the peak in KiB."""
    # Linux keeps a process's peak across exec: clear it (clear_refs 5), then read VmHWM.
    script = (
        "import json, re, sys; from pathlib import Path; "
        "from xlwings_meter.photos import load_photo; "
        "open('/proc/self/clear_refs', 'w').write('5'); p = load_photo(Path(sys.argv[1])); "
        "peak = int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)); "
        "print(json.dumps([p.width, p.height, len(p.data), peak]))"
    )
    out = subprocess.run([sys.executable, "-c", script, str(path)], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    width, height, size, peak_kib = json.loads(out)
    return width, height, size, peak_kib


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="measures memory the Linux way")
@pytest.mark.slow  # decodes 60 megapixels
def test_a_huge_transparent_png_is_laid_on_white_in_bounded_memory(tmp_path: Path) -> None:
    # PNG has no scaled decoding: 60 megapixels of RGBA take 229 MiB decoded. Laying them on
    # white and shrinking them, whole, took three times that (765 MiB at the peak).
    png = tmp_path / "scan.png"
    img = Image.new("RGBA", (10000, 6000), (200, 30, 30, 255))
    img.paste((0, 0, 255, 0), (0, 0, 2500, 750))  # a clear corner
    img.save(png)
    del img

    width, height, size, peak_kib = _load_in_a_fresh_process(png)

    assert (width, height) == (DEFAULT_MAX_SIDE, 960)
    assert peak_kib < 400 * 1024, f"peak {peak_kib / 1024:.0f} MiB"
    sent = _uploaded(load_photo(png).data)
    assert min(sent.getpixel((100, 50))) > 245  # the clear corner is white
    r, g, b = sent.getpixel((1000, 600))
    assert r > 180 and g < 50 and b < 50


@pytest.mark.slow  # decodes tens of megapixels
def test_a_large_png_is_shrunk_too(tmp_path: Path) -> None:
    png = tmp_path / "scan.png"
    Image.effect_noise((6000, 4500), 30).save(png)  # 27 megapixels, not a JPEG: decoded whole
    photo = load_photo(png)
    assert _uploaded(photo.data).size == (DEFAULT_MAX_SIDE, 1200)


@pytest.mark.slow  # writes a huge image
def test_a_decompression_bomb_is_still_refused_before_it_is_decoded(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    Image.new("1", (16000, 16000)).save(bomb)  # 256 megapixels in a few kB
    with pytest.raises(PhotoTooLargeError, match="too large to be a photo"):
        load_photo(bomb)
    dense = tmp_path / "dense.png"
    Image.new("1", (8000, 6000), 1).save(dense)  # 48 megapixels of nothing in a few kB
    with pytest.raises(NotAnImageError, match="too large to be a photo"):
        load_photo(dense)


def test_a_cmyk_jpeg_is_uploaded_in_rgb_with_its_colours(tmp_path: Path) -> None:
    path = tmp_path / "print.jpg"
    _marked((320, 240)).convert("CMYK").save(path)
    sent = _uploaded(load_photo(path).data)
    assert sent.mode == "RGB"
    assert sent.getpixel((300, 200)) > (150,) and max(sent.getpixel((300, 200))[1:]) < 80


def test_a_16_bit_grayscale_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    path = tmp_path / "16bit.png"
    img = Image.new("I;16", (200, 100), 8000)  # dark grey in 16 bits
    img.paste(Image.new("I;16", (100, 100), 60000), (100, 0))  # light grey
    img.save(path)
    sent = _uploaded(load_photo(path).data)
    assert sent.mode == "L"
    assert abs(sent.getpixel((50, 50)) - 8000 * 255 // 65535) <= 3  # clipping would give 255
    assert abs(sent.getpixel((150, 50)) - 60000 * 255 // 65535) <= 3


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_transparency_is_laid_on_white(tmp_path: Path, mode: str) -> None:
    path = tmp_path / f"{mode}.png"
    img = Image.new("RGBA", (100, 100), (0, 0, 0, 0))  # clear, and black where it is clear
    img.paste((0, 0, 0, 255), (0, 0, 50, 100))  # the left half solid black
    if mode == "LA":
        img = img.convert("LA")
    if mode == "P":  # colour 0 is clear (and black underneath), colour 1 solid black
        img = Image.new("P", (100, 100), 0)
        img.putpalette([0, 0, 0, 0, 0, 0])
        img.paste(1, (0, 0, 50, 100))
        img.save(path, transparency=0)
    else:
        img.save(path)
    sent = _uploaded(load_photo(path).data).convert("L")
    assert sent.getpixel((25, 50)) < 20 and sent.getpixel((75, 50)) > 235


def test_png_text_chunks_and_a_palette_never_reach_the_upload(tmp_path: Path) -> None:
    from PIL.PngImagePlugin import PngInfo

    path = tmp_path / "meter.png"
    info = PngInfo()
    info.add_text("Comment", "flat 4B, Mrs Smith, key under the mat")
    _marked((200, 100)).convert("P").save(path, pnginfo=info)
    data = load_photo(path).data
    assert b"Mrs Smith" not in data
    assert _uploaded(data).mode == "RGB"
