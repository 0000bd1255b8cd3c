"""The seam between the batch and whatever reads a meter: photo in, reading out."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from xlwings_meter.photos import Photo
from xlwings_meter.reading import Reading


class Engine(Protocol):
    """Reads one meter photo.

    ``read`` returns a Reading whose status is READ or NO_READING. It raises
    TransientServiceError when it gave up after its retries (that row failed, the batch goes on)
    and BatchStopError (AuthError, QuotaError) when no further photo can be read in this batch.
    Engines are called from several threads at once and must be safe for that.
    """

    #: Recorded in the cache next to each reading, e.g. "aigen-v2" or "local".
    name: str
    #: True when photos leave the machine (a paid service); False for an engine that reads here.
    sends_photos: bool

    def read(self, photo: Photo, cancel: threading.Event | None = None,
             on_upload: Callable[[int], object] | None = None) -> Reading:
        """Read the meter in ``photo``.

        ``cancel`` is set when the batch stops (a refused key, Ctrl+C): an engine that waits
        (before a retry, say) stops waiting and raises TransientServiceError. An engine that
        sends photos calls ``on_upload(size)`` for every request that reached its service,
        retries included: that is what may be billed.
        """
        ...
