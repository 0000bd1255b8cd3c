"""The text of the Settings/Help box: where the key comes from (never the key), and the rest."""

from __future__ import annotations

import os
from collections.abc import Mapping

from xlwings_meter.engines.aigen.config import (
    KEY_VAR,
    config_file,
    display_url,
    endpoint,
    load_settings,
)
from xlwings_meter.errors import ConfigError
from xlwings_meter.workbook.settings import CACHE_ONLY, MAX_CONSUMPTION, WorkbookSettings, limits


def describe(workbook: WorkbookSettings, cache_size: int, environ: Mapping[str, str] = os.environ) -> str:
    """The text of the Settings/Help box: where the key comes from (never the key), and the rest."""
    path = config_file(environ)
    try:
        key_line = f"API key: found in {load_settings(environ).key_source}"
    except ConfigError as exc:
        key_line = f"API key: not usable. {exc}"
    try:
        url = display_url(endpoint(environ))  # never its user name, password or query
    except ConfigError as exc:  # a refused address is never shown: it may hold the key
        url = f"refused: {exc}"
    flagged = limits(workbook)
    lines = [
        key_line,
        f"Service address: {url}",
        f"Your settings file: {path}" + ("" if path.exists() else " (does not exist yet)"),
        f"Engine: {workbook.engine}",
        "Cache only: " + ("YES: nothing is sent, readings come from the cache alone"
                          if workbook.cache_only else f"no (set {CACHE_ONLY} to TRUE on the "
                          f"xlwings.conf sheet to send nothing)"),
        f"Cache: {cache_size} photo{'s' if cache_size != 1 else ''} already read, kept in this "
        f"workbook (hidden sheet); they are never paid for again",
        f"With a Previous column, a row is flagged under {flagged.min_confidence:.0%} confidence and above "
        + (f"a consumption of {flagged.max_consumption:g}" if flagged.max_consumption is not None else
           f"{flagged.median_multiple:g} times the sheet's median consumption (set {MAX_CONSUMPTION} "
           "on the xlwings.conf sheet for a fixed limit)"),
        "",
        f"To set the key, add the line \"{KEY_VAR}\",\"<your key>\" to your settings file, or set "
        f"the environment variable {KEY_VAR}, then restart Excel.",
        "In a cell: =METERREAD(A2) gives the reading; =METERREAD(A2, \"all\") gives value, "
        "confidence and angle.",
    ]
    return "\n".join(lines + [f"Warning: {w}" for w in workbook.warnings])
