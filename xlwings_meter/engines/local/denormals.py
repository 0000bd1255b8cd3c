"""Denormal floats flushed to zero on this thread while a model runs (``flushed``).

The text detector's feature maps underflow into denormal floats after its GELU layers, and x86
processors do arithmetic on denormals in microcode, about a hundred times slower: two of the
detector's 1x1 convolutions took 300 of its 420 ms a photo, and with denormals flushed to zero
the whole detector takes 120 ms and gives the same probabilities (measured: identical outputs).

The switch is per thread (the FTZ and DAZ bits of the SSE control register, MXCSR). ONNX
Runtime sets it only on its own pool threads and on the thread that built the session
(``session.set_denormal_as_zero``); this engine runs its models on whichever thread reads a
photo, so the bits are set around each run, on that thread, and put back after, leaving the
rest of the program's arithmetic (the host's, in Excel) as it was.

Set through the C library (glibc's ``fesetenv`` on Linux, the UCRT's ``_controlfp_s`` on
Windows) on x86-64 only; elsewhere ``flushed`` changes nothing (ARM cores handle denormals at
full speed).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager

#: MXCSR's flush-to-zero (results) and denormals-are-zero (operands) bits.
_FTZ_DAZ = 0x8040
#: glibc's ``fenv_t`` on x86-64: the x87 environment (28 bytes), then MXCSR.
_FENV_SIZE, _MXCSR_AT = 32, 28
#: The UCRT's denormal control: ``_MCW_DN`` masks it, ``_DN_FLUSH`` flushes operands and results.
_MCW_DN, _DN_FLUSH = 0x03000000, 0x01000000


class _Glibc:
    """MXCSR through ``fegetenv``/``fesetenv`` (x86-64 Linux)."""

    def __init__(self) -> None:
        self._libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")

    def flush(self) -> object:
        saved = (ctypes.c_uint8 * _FENV_SIZE)()
        if self._libm.fegetenv(saved) != 0:
            return None
        env = (ctypes.c_uint8 * _FENV_SIZE).from_buffer_copy(saved)
        mxcsr = int.from_bytes(bytes(env[_MXCSR_AT:]), "little") | _FTZ_DAZ
        env[_MXCSR_AT:] = list(mxcsr.to_bytes(4, "little"))
        self._libm.fesetenv(env)
        return saved

    def restore(self, saved: object) -> None:
        self._libm.fesetenv(saved)


class _Ucrt:
    """MXCSR through ``_controlfp_s`` (x86-64 Windows)."""

    def __init__(self) -> None:
        self._crt = ctypes.CDLL("ucrtbase")

    def flush(self) -> object:
        current = ctypes.c_uint(0)
        if self._crt._controlfp_s(ctypes.byref(current), _DN_FLUSH, _MCW_DN) != 0:
            return None
        return current.value & _MCW_DN

    def restore(self, saved: object) -> None:
        current = ctypes.c_uint(0)
        self._crt._controlfp_s(ctypes.byref(current), saved, _MCW_DN)


def _control() -> _Glibc | _Ucrt | None:
    """This platform's way to the switch, or None where there is none (or no need)."""
    if platform.machine().lower() not in {"x86_64", "amd64"}:
        return None
    try:
        if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
            return _Glibc()
        if sys.platform == "win32":
            return _Ucrt()
    except OSError:  # no such library: run as before, only slower
        return None
    return None


_CONTROL = _control()


def available() -> bool:
    """Whether ``flushed`` can set the switch on this platform."""
    return _CONTROL is not None


@contextmanager
def flushed() -> Iterator[None]:
    """Within the block, this thread's float arithmetic flushes denormals to zero."""
    if _CONTROL is None:
        yield
        return
    saved = _CONTROL.flush()
    try:
        yield
    finally:
        if saved is not None:
            _CONTROL.restore(saved)
