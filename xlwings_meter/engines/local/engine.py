"""Reading meters on this machine: RapidOCR's models and a drum-digit classifier on ONNX
Runtime, no network, no GPU.

Needs the optional extra (``pip install "xlwings-meter[local]"``); this module imports it only
when a LocalEngine is built, so the add-in loads without it. The text models are the PP-OCRv6
ones that ship inside the ``rapidocr`` wheel, the drum classifier ships in this package
(``models/``): nothing is downloaded at run time. How a photo is read, stage by stage, is told
in :mod:`xlwings_meter.engines.local.pipeline`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from xlwings_meter.errors import ConfigError
from xlwings_meter.photos import Photo
from xlwings_meter.reading import Reading

INSTALL_HINT = 'The local engine needs its optional extra: pip install "xlwings-meter[local]"'
_REC_MODEL = "PP-OCRv6_rec_small.onnx"


class LocalEngine:
    """An Engine that reads meter photos offline.

    Usage (it needs the [local] extra, so it is shown, not run)::

        engine = LocalEngine(threads=1)
        engine.read(photo).value        # '00935.781'

    ``threads`` caps ONNX Runtime's threads per call. One (the default) runs each model on the
    reading thread, whose denormals are flushed (see ``denormals``); a batch uses the other
    cores by reading several photos at once. None is ONNX Runtime's default, all cores, in
    pools of its own: the text detector's (RapidOCR builds it) does not flush denormals, and
    several photos read at once then contend for the cores.
    ``use_text_detector=False`` skips RapidOCR's text detector and looks for drum blocks only:
    faster, but blind to counters that are not dark or red drums.
    Raises ConfigError when the ``[local]`` extra is not installed. Safe to share between
    threads; models load once, in the constructor.
    """

    name = "local"
    #: Nothing leaves the machine: the summary says "read on this machine", never "sent".
    sends_photos = False

    def __init__(self, threads: int | None = 1, use_text_detector: bool = True) -> None:
        try:
            import onnxruntime as ort
            import rapidocr

            from xlwings_meter.engines.local import pipeline
        except ImportError as exc:
            raise ConfigError(f"{INSTALL_HINT} ({exc.name} is missing)") from exc
        model = Path(rapidocr.__file__).parent / "models" / _REC_MODEL
        if not model.is_file():
            raise ConfigError(f"{INSTALL_HINT} (the rapidocr wheel has no {_REC_MODEL})")
        self._pipeline: Any = pipeline.Pipeline(ort, rapidocr, model, threads, use_text_detector)

    def read(self, photo: Photo, cancel: threading.Event | None = None,
             on_upload: Callable[[int], object] | None = None) -> Reading:
        """Read the counter of the meter in ``photo``: READ with a value, or NO_READING.

        Nothing is uploaded, so ``on_upload`` is never called. Once ``cancel`` is set, a photo
        being read is not looked at any other way round (see ``Pipeline.read``).
        """
        return self._pipeline.read(photo, cancel)
