"""Shared fixtures: the fake AIGEN service, an environment pointing at it, and real photos."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.backends import backend  # noqa: F401 (a fixture: one suite, a file and Excel)
from tests.fake_aigen import FakeAigen
from tests.photos import make_photo
from xlwings_meter.engines.aigen.config import ClientSettings
from xlwings_meter.photos import Photo, load_photo


@pytest.fixture
def aigen_server() -> Iterator[FakeAigen]:
    """A fresh fake AIGEN service on 127.0.0.1 (it starts in milliseconds)."""
    with FakeAigen() as server:
        yield server


@pytest.fixture
def aigen_env(aigen_server: FakeAigen, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeAigen:
    """Environment variables that point the app at the fake service with its valid key.

    The config file is redirected to a file that does not exist, so the developer's own
    ~/.xlwings/xlwings.conf is never read.
    """
    monkeypatch.setenv("AIGEN_API_URL", aigen_server.url)
    monkeypatch.setenv("AIGEN_API_KEY", aigen_server.valid_key)
    monkeypatch.setenv("XLWINGS_METER_CONFIG", str(tmp_path / "no-such-xlwings.conf"))
    return aigen_server


@pytest.fixture
def fast_settings(aigen_server: FakeAigen) -> ClientSettings:
    """Settings for the fake service with timeouts and backoffs small enough for tests."""
    return ClientSettings(
        url=aigen_server.url,
        key=aigen_server.valid_key,
        connect_timeout=1.0,
        read_timeout=0.3,
        max_attempts=3,
        backoff_base=0.01,
        backoff_max=0.02,
        max_429_retries=2,
        max_retry_after=1.0,
    )


@pytest.fixture
def new_photo(tmp_path: Path) -> Callable[..., Photo]:
    """Make a real JPEG under tmp_path/photos and load it: ``new_photo(seed=3, size=(800, 600))``."""

    def make(seed: int = 0, size: tuple[int, int] = (640, 480)) -> Photo:
        return load_photo(make_photo(tmp_path / "photos" / f"meter-{seed}.jpg", size=size, seed=seed))

    return make
