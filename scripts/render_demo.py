"""Render the demo's workbook as a person sees it, for README: docs/demo.png.

    python scripts/render_demo.py [--photos 8] [--out docs/demo.png] [--workbook BOOK.xlsx]

Runs `xlwings-meter demo` into a temporary folder (or takes --workbook), lets LibreOffice
(``soffice --headless``) print it to PDF, one page wide per sheet, and turns the pages of the
photo sheet and the Review sheet into one PNG (PDFium, from the ``pypdfium2`` package; only
this script needs it: the ``[docs]`` extra). The PNG is stored with a small palette so it
stays under 200 KB.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import openpyxl
from PIL import Image, ImageChops

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 1400  # pixels of the PNG
REVIEW_ROWS_SHOWN = 0.45  # of the width: the Review's first rows are enough to show what it is
COLOURS = 96


def print_ready_copy(book: Path, out: Path) -> Path:
    """A copy of ``book`` whose visible sheets each print one page wide, landscape."""
    wb = openpyxl.load_workbook(book)
    for ws in wb.worksheets:
        ws.page_setup.orientation = "landscape"
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.print_options.gridLines = True
    wb.save(out)
    return out


def to_pdf(book: Path, folder: Path) -> Path:
    """The workbook printed by LibreOffice."""
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{folder}/lo", "--convert-to", "pdf",
                    "--outdir", str(folder), str(book)], check=True, capture_output=True, timeout=180)
    return folder / (book.stem + ".pdf")


def pages(pdf: Path) -> list[Image.Image]:
    """Each page as an image, its blank margins cut."""
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(pdf))
    found = []
    for i in range(len(doc)):
        page = doc[i].render(scale=2.0).to_pil().convert("RGB")
        box = ImageChops.difference(page, Image.new("RGB", page.size, "white")).getbbox()
        if box:
            found.append(page.crop((max(0, box[0] - 12), max(0, box[1] - 12),
                                    min(page.width, box[2] + 12), min(page.height, box[3] + 12))))
    return found


def stack(images: list[Image.Image], width: int = WIDTH) -> Image.Image:
    """The images one under the other, each scaled to ``width``, a grey rule between them."""
    scaled = [im.resize((width, round(im.height * width / im.width)), Image.Resampling.LANCZOS) for im in images]
    out = Image.new("RGB", (width, sum(im.height for im in scaled) + 6 * (len(scaled) - 1)), (190, 190, 190))
    y = 0
    for im in scaled:
        out.paste(im, (0, y))
        y += im.height + 6
    return out


def render(book: Path, out: Path) -> Path:
    """docs/demo.png from ``book``."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pdf = to_pdf(print_ready_copy(book, folder / book.name), folder)
        found = pages(pdf)
        first_review = next((p for p in found[1:]), None)  # the photo sheet prints on one page
        shown = found[:1] + ([first_review.crop((0, 0, first_review.width,
                                                 min(first_review.height, round(first_review.width * REVIEW_ROWS_SHOWN))))]
                             if first_review is not None else [])
        picture = stack(shown)
    picture.quantize(COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(out, optimize=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=12, help="as README's first command")
    parser.add_argument("--workbook", type=Path, help="render this workbook instead of a fresh demo")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "demo.png")
    args = parser.parse_args()
    if shutil.which("soffice") is None:
        print("LibreOffice (soffice) is needed to render the workbook", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        book = args.workbook
        if book is None:
            from xlwings_meter.cli import main as cli

            if cli(["demo", str(Path(tmp) / "demo"), "--photos", str(args.photos), "--quiet"]) != 0:
                return 1
            from xlwings_meter.demo.command import DEMO_WORKBOOK

            book = Path(tmp) / "demo" / DEMO_WORKBOOK
        out = render(book, args.out)
    print(f"{out}: {out.stat().st_size / 1e3:.0f} kB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
