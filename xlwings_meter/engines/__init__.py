"""Whatever reads a meter: the Engine protocol and the one place that builds an engine by name.

``aigen`` is the paid cloud service (:mod:`xlwings_meter.engines.aigen`), ``local`` the offline
engine (:mod:`xlwings_meter.engines.local`, the ``[local]`` extra). Each is imported only when
asked for, so the Excel path never loads what it does not use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xlwings_meter.errors import ConfigError

if TYPE_CHECKING:
    from xlwings_meter.engines.base import Engine

ENGINES = ("aigen", "local")

__all__ = ["ENGINES", "Engine", "engine_label", "make_engine"]


def __getattr__(name: str) -> object:
    # Engine on first use: its module brings Pillow, which `xlwings-meter read --help` never needs.
    if name == "Engine":
        from xlwings_meter.engines.base import Engine

        return Engine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def make_engine(name: str = "aigen") -> Engine:
    """The engine called ``name``; the AIGEN one reads the user's key and endpoint.

    Raises ConfigError for an unknown name, a missing key or an unsafe endpoint.
    """
    name = name.strip().lower()
    if name == "aigen":
        from xlwings_meter.engines.aigen.client import AigenEngine
        from xlwings_meter.engines.aigen.config import load_settings

        return AigenEngine(load_settings())
    if name == "local":
        from xlwings_meter.engines.local.engine import (
            LocalEngine,  # raises ConfigError when the [local] extra is missing
        )

        return LocalEngine()
    raise ConfigError(f"Unknown engine {name!r} in METER_ENGINE: use one of {', '.join(ENGINES)}")


def engine_label(name: str) -> str:
    """What the cache records as the engine of a reading made by the engine called ``name``.

    Needs neither a key nor the ``[local]`` extra: only the engine's class is looked at.
    """
    name = name.strip().lower()
    if name == "aigen":
        from xlwings_meter.engines.aigen.client import AigenEngine

        return AigenEngine.name
    if name == "local":
        from xlwings_meter.engines.local.engine import LocalEngine

        return LocalEngine.name
    raise ConfigError(f"Unknown engine {name!r}: use one of {', '.join(ENGINES)}")
