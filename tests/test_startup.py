"""Start-up imports only what the command needs: no HEIC decoder without a HEIC photo, no HTTP
library when nothing is sent, never openpyxl (and the numpy it loads) to read a workbook, never
Excel's bridge or the offline engine's models on the command line; `read --help` loads no
workbook, image or HTTP library at all."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pillow_heif
import pytest

from tests.fake_aigen import FakeAigen
from tests.photos import make_photo

from .workbooks import photo_book

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # starts Python processes
WATCHED = ("requests", "pillow_heif", "xlwings", "tqdm", "rapidocr", "onnxruntime", "cv2", "openpyxl",
           "numpy", "lxml", "urllib.request")  # urllib.request: http.client, email, ssl (22 ms)


def _imported_by(*argv: str) -> set[str]:
    script = ("import json, sys; from xlwings_meter.cli import main\n"
              "try: code = main(sys.argv[1:])\nexcept SystemExit as exc: code = exc.code\n"
              f"print(json.dumps([code, sorted(({{m.split('.')[0] for m in sys.modules}} | set(sys.modules)) "
              f"& set({WATCHED!r}))]))")
    out = subprocess.run([sys.executable, "-c", script, *argv], env={**os.environ, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, check=True).stdout
    code, modules = json.loads(out.splitlines()[-1])
    assert code == 0
    return set(modules)


def test_a_run_imports_only_what_it_uses(tmp_path: Path, aigen_env: FakeAigen) -> None:
    make_photo(tmp_path / "m1.jpg")
    book = photo_book(tmp_path / "bill.xlsx", [["m1.jpg"]])

    assert _imported_by("read", "--help") == set()
    assert _imported_by("read", str(book), "--cache-only", "--quiet") == {"lxml"}
    assert _imported_by("read", str(book), "--quiet") == {"lxml", "requests", "urllib.request"}
    assert _imported_by("read", str(book), "--quiet") == {"lxml"}  # all cached: nothing to send

    from PIL import Image

    pillow_heif.from_pillow(Image.open(tmp_path / "m1.jpg")).save(tmp_path / "m2.heic")
    book = photo_book(tmp_path / "bill.xlsx", [["m1.jpg"], ["m2.heic"]])
    assert _imported_by("read", str(book), "--quiet") == {"lxml", "requests", "urllib.request", "pillow_heif"}
