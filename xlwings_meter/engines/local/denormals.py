"""Denormal floats flushed to zero on this thread while a model runs (``flushed``).

The text detector's feature maps underflow into denormal floats after its GELU layers, and x86
processors do arithmetic on denormals in microcode, about a hundred times slower: two of the
detector's 1x1 convolutions took 300 of its 420 ms a photo, and with denormals flushed to zero
the whole detector takes 120 ms and gives the same probabilities (measured: identical outputs).

The switch is per thread (the FTZ and DAZ bits of the SSE control register, MXCSR). ONNX
Runtime's option ``session.set_denormal_as_zero`` (set by ``drums.cpu_session``) covers its
own pool threads, and switches on the thread that builds the session for good (``kept``
undoes that), not the thread that calls ``run``, which does the work when a session has one
thread; this engine runs its models on whichever thread reads a photo, so the bits are
set around each run, on that thread, and put back after, leaving the rest of the program's
arithmetic (the host's, in Excel) as it was.

Set through the C library (glibc's ``fesetmode`` on Linux, the UCRT's ``_controlfp_s`` on
Windows) on 64-bit x86 only; elsewhere ``flushed`` changes nothing (ARM cores handle denormals at
full speed).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: MXCSR's flush-to-zero (results) and denormals-are-zero (operands) bits.
_FTZ_DAZ = 0x8040
#: glibc's ``femode_t`` on x86-64: the x87 control word (and 2 spare bytes), then MXCSR.
_FEMODE_SIZE, _MXCSR_AT = 8, 4
#: The UCRT's denormal control: ``_MCW_DN`` masks it, ``_DN_FLUSH`` flushes operands and results.
_MCW_DN, _DN_FLUSH = 0x03000000, 0x01000000


class _Glibc:
    """The control modes through ``fegetmode``/``fesetmode`` (x86-64 Linux, glibc 2.25 on):
    modes only, so the exception flags raised meanwhile are kept."""

    def __init__(self) -> None:
        self._libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
        self._get, self._set = self._libm.fegetmode, self._libm.fesetmode  # AttributeError if old

    def get(self) -> Any:
        mode = (ctypes.c_uint8 * _FEMODE_SIZE)()
        return mode if self._get(mode) == 0 else None

    def flushing(self, saved: Any) -> Any:
        mode = (ctypes.c_uint8 * _FEMODE_SIZE).from_buffer_copy(saved)
        mxcsr = int.from_bytes(bytes(mode[_MXCSR_AT:]), "little") | _FTZ_DAZ
        mode[_MXCSR_AT:] = list(mxcsr.to_bytes(4, "little"))
        return mode

    def set(self, mode: Any) -> None:
        self._set(mode)


class _Ucrt:
    """The control word through ``_controlfp_s`` (x86-64 Windows)."""

    def __init__(self) -> None:
        self._controlfp_s = ctypes.CDLL("ucrtbase")._controlfp_s

    def get(self) -> Any:
        # A mask of 0 changes nothing and gives the current word (with a mask, the function
        # gives the word after its change, not before).
        word = ctypes.c_uint(0)
        return word.value if self._controlfp_s(ctypes.byref(word), 0, 0) == 0 else None

    def flushing(self, saved: Any) -> Any:
        return (saved & ~_MCW_DN) | _DN_FLUSH

    def set(self, word: Any) -> None:
        self._controlfp_s(ctypes.byref(ctypes.c_uint(0)), word & _MCW_DN, _MCW_DN)


def _control() -> _Glibc | _Ucrt | None:
    """This platform's way to the switch, or None where there is none (or no need)."""
    if platform.machine().lower() not in {"x86_64", "amd64"} or sys.maxsize <= 2**32:
        return None  # (a 32-bit Python on a 64-bit system has another fenv layout)
    try:
        if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
            return _Glibc()
        if sys.platform == "win32":
            return _Ucrt()
    except (OSError, AttributeError):  # no such library or function: as before, only slower
        return None
    return None


_CONTROL = _control()


def available() -> bool:
    """Whether ``flushed`` can set the switch on this platform."""
    return _CONTROL is not None


@contextmanager
def flushed() -> Iterator[None]:
    """Within the block, this thread's float arithmetic flushes denormals to zero.

    Not for a block that yields (a generator's): the switch belongs to the thread, not to it.
    """
    with _put_back(flush=True):
        yield


@contextmanager
def kept() -> Iterator[None]:
    """Whatever the block does to this thread's float modes is undone after it: ONNX Runtime
    switches flushing on, for good, on the thread that builds a session with its option."""
    with _put_back(flush=False):
        yield


@contextmanager
def _put_back(flush: bool) -> Iterator[None]:
    saved = _CONTROL.get() if _CONTROL is not None else None
    if _CONTROL is None or saved is None:
        yield
        return
    # Read first, changed inside the ``try``: a Ctrl+C landing anywhere still puts it back.
    try:
        if flush:
            _CONTROL.set(_CONTROL.flushing(saved))
        yield
    finally:
        _CONTROL.set(saved)
