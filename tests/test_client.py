"""The AIGEN client against the fake service on 127.0.0.1: real HTTP, real timeouts, real photos."""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from tests.fake_aigen import FakeAigen, Reply
from xlwings_meter.engines.aigen.client import AigenEngine, _Gate
from xlwings_meter.engines.aigen.config import ClientSettings, load_settings
from xlwings_meter.errors import (
    AuthError,
    QuotaError,
    RejectedError,
    ServiceError,
    TransientServiceError,
    UnreachableError,
)
from xlwings_meter.photos import Photo
from xlwings_meter.reading import ReadingStatus

NewPhoto = Callable[..., Photo]


@pytest.fixture
def sleeps() -> list[float]:
    """Records the waits the engine asks for instead of waiting."""
    return []


@pytest.fixture
def engine(fast_settings: ClientSettings, sleeps: list[float]) -> Iterator[AigenEngine]:
    engine = AigenEngine(fast_settings, sleep=sleeps.append)
    yield engine
    engine.close()


def test_a_photo_is_read_with_one_documented_request(
    engine: AigenEngine, aigen_server: FakeAigen, new_photo: NewPhoto
) -> None:
    photo = new_photo(seed=1)

    reading = engine.read(photo)

    assert (reading.status, reading.value, reading.number) == (ReadingStatus.READ, "3245.010", 3245.01)
    assert (reading.confidence, reading.angle, len(reading.boxes)) == (0.7603056856564113, 83.69637298583984, 7)
    [call] = aigen_server.calls
    assert call.image == photo.data
    assert json.loads(call.body) == {"image": base64.b64encode(photo.data).decode()}  # that and nothing else
    assert call.key == aigen_server.valid_key
    assert call.headers["content-type"] == "application/json"
    assert call.path == "/aiscript/water-meter/v2"  # the key never goes into the URL
    assert engine.name == "aigen-v2"


def test_the_value_is_kept_as_read(engine: AigenEngine, aigen_server: FakeAigen, new_photo: NewPhoto) -> None:
    aigen_server.default = Reply.success("00935.781", confidence=0.93, angle=-1.5)

    reading = engine.read(new_photo())

    assert (reading.value, reading.number_format, reading.confidence, reading.angle) == (
        "00935.781", "00000.000", 0.93, -1.5)


@pytest.mark.parametrize("status", [400, 200])
def test_no_meter_found_is_no_reading_and_is_not_retried(
    engine: AigenEngine, aigen_server: FakeAigen, new_photo: NewPhoto, status: int
) -> None:
    aigen_server.default = Reply.no_detection(status)

    reading = engine.read(new_photo())

    assert reading.status is ReadingStatus.NO_READING
    assert reading.message.startswith("No reading")
    assert len(aigen_server.calls) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_is_retried_once_after_a_jittered_backoff(
    engine: AigenEngine, aigen_server: FakeAigen, new_photo: NewPhoto, sleeps: list[float], status: int
) -> None:
    aigen_server.queue(Reply.error(status))

    assert engine.read(new_photo()).value == "3245.010"
    assert len(aigen_server.calls) == 2
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 0.01


def test_a_lasting_server_error_fails_the_row_after_one_more_try_and_says_it_may_have_cost(
    engine: AigenEngine, aigen_server: FakeAigen, new_photo: NewPhoto
) -> None:
    aigen_server.default = Reply.error(503)

    with pytest.raises(TransientServiceError, match="^Service error 503 after 2 tries$") as err:
        engine.read(new_photo())
    assert len(aigen_server.calls) == 2  # not max_attempts (3): each request may have been billed
    assert (err.value.may_have_been_charged, err.value.attempts) == (True, 2)


def test_a_slow_service_really_times_out_and_is_retried(
    engine: AigenEngine, aigen_server: FakeAigen, new_photo: NewPhoto
) -> None:
    aigen_server.queue(Reply.success().delayed(2.0))

    started = time.monotonic()
    reading = engine.read(new_photo())

    assert reading.value == "3245.010"
    assert 0.3 <= time.monotonic() - started < 1.5  # read_timeout is 0.3 s
    assert len(aigen_server.calls) == 2


def test_a_service_that_never_answers_in_time_fails_the_row(
    fast_settings: ClientSettings, aigen_server: FakeAigen, new_photo: NewPhoto
) -> None:
    aigen_server.default = Reply.success().delayed(2.0)
    engine = AigenEngine(replace(fast_settings, max_attempts=2), sleep=lambda _: None)

    started = time.monotonic()
    with pytest.raises(TransientServiceError, match="^Timed out after 2 tries$"):
        engine.read(new_photo())
    assert 0.6 <= time.monotonic() - started < 1.5


def test_a_reply_trickled_a_byte_at_a_time_is_cut_off_as_a_timeout(
    fast_settings: ClientSettings, aigen_server: FakeAigen, new_photo: NewPhoto
) -> None:
    # A byte every 0.1 s never lets the 0.3 s read timeout fire: the whole reply (~1 kB) would
    # take two minutes, and a stuck proxy that trickles could hold a worker for ever.
    aigen_server.default = Reply.success().trickled(0.1)
    uploads: list[int] = []
    engine = AigenEngine(replace(fast_settings, max_attempts=2), sleep=lambda _: None)

    started = time.monotonic()
    with pytest.raises(TransientServiceError, match="^Timed out after 2 tries$") as err:
        engine.read(new_photo(), on_upload=uploads.append)

    # Each try is cut off at the connect and read timeouts together (1.3 s).
    assert 2.4 <= time.monotonic() - started < 4.0
    assert err.value.may_have_been_charged and len(uploads) == 2 == len(aigen_server.calls)


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply.dropped(), "The service dropped the connection after 2 tries"),
        (Reply.not_json(), "The service sent a reply that is not the documented JSON after 2 tries"),
    ],
    ids=["dropped", "not-json"],
)
def test_dropped_connections_and_garbled_replies_are_retried_once_then_fail_the_row(
    engine: AigenEngine, aigen_server: FakeAigen, new_photo: NewPhoto, reply: Reply, message: str
) -> None:
    aigen_server.default = reply

    with pytest.raises(TransientServiceError) as err:
        engine.read(new_photo())
    assert str(err.value) == message
    assert err.value.may_have_been_charged
    assert len(aigen_server.calls) == 2


def test_a_dropped_connection_then_an_answer_gives_the_reading(
    engine: AigenEngine, aigen_server: FakeAigen, new_photo: NewPhoto
) -> None:
    aigen_server.queue(Reply.dropped())

    assert engine.read(new_photo()).status is ReadingStatus.READ
    assert [c.status for c in aigen_server.calls] == [None, 200]


def test_a_service_never_reached_is_retried_freely_and_charged_nothing(
    fast_settings: ClientSettings, new_photo: NewPhoto
) -> None:
    with socket.socket() as s:  # a port that was free a moment ago
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    engine = AigenEngine(replace(fast_settings, url=f"http://127.0.0.1:{port}/v2"), sleep=lambda _: None)
    uploads: list[int] = []

    with pytest.raises(TransientServiceError, match="^Could not connect to the service after 3 tries$") as err:
        engine.read(new_photo(), on_upload=uploads.append)
    assert (err.value.may_have_been_charged, err.value.attempts, uploads) == (False, 3, [])


def test_a_proxy_that_cannot_be_reached_is_a_service_never_reached(
    fast_settings: ClientSettings, new_photo: NewPhoto, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Proxy down or VPN off: nothing left the machine, so nothing was paid, and the run can
    stop as offline (it said "5 photos sent (10 uploads)" and "may have charged")."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("NO_PROXY", "")
    url = "https://meters.example.invalid/aiscript/water-meter/v2"
    engine = AigenEngine(replace(fast_settings, url=url), sleep=lambda _: None)
    uploads: list[int] = []

    with pytest.raises(UnreachableError) as err:
        engine.read(new_photo(), on_upload=uploads.append)
    assert (err.value.may_have_been_charged, err.value.attempts, uploads) == (False, 3, [])


def test_every_request_that_reaches_the_service_is_counted_as_an_upload(
    engine: AigenEngine, aigen_server: FakeAigen, new_photo: NewPhoto
) -> None:
    aigen_server.queue(Reply.success().delayed(2.0), Reply.error(429))  # a read timeout, then a 429
    uploads: list[int] = []

    assert engine.read(new_photo(), on_upload=uploads.append).status is ReadingStatus.READ
    assert len(uploads) == len(aigen_server.calls) == 3
    assert set(uploads) == {len(aigen_server.calls[0].body)}


def test_a_wrong_key_stops_at_once_and_says_where_to_fix_it(
    fast_settings: ClientSettings, aigen_server: FakeAigen, new_photo: NewPhoto
) -> None:
    settings = replace(fast_settings, key="not-the-key", key_source="the environment variable AIGEN_API_KEY")

    with pytest.raises(AuthError) as err:
        AigenEngine(settings, sleep=lambda _: None).read(new_photo())

    assert "refused the API key (HTTP 401)" in str(err.value)
    assert "Put a valid key in the environment variable AIGEN_API_KEY" in str(err.value)
    assert [c.key for c in aigen_server.calls] == ["not-the-key"]


def test_a_key_not_allowed_here_stops_at_once(engine: AigenEngine, aigen_server: FakeAigen, new_photo: NewPhoto) -> None:
    aigen_server.default = Reply.error(403)

    with pytest.raises(AuthError, match=r"\(HTTP 403\): this key may not use this endpoint"):
        engine.read(new_photo())
    assert len(aigen_server.calls) == 1


def test_429_waits_as_long_as_retry_after_says(
    engine: AigenEngine, aigen_server: FakeAigen, new_photo: NewPhoto, sleeps: list[float]
) -> None:
    aigen_server.queue(Reply.error(429, retry_after=1))

    assert engine.read(new_photo()).status is ReadingStatus.READ
    assert sleeps == [1.0]
    assert len(aigen_server.calls) == 2


def test_429_understands_an_http_date(
    fast_settings: ClientSettings, aigen_server: FakeAigen, new_photo: NewPhoto, sleeps: list[float]
) -> None:
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    aigen_server.queue(Reply.error(429, retry_after=when))
    engine = AigenEngine(replace(fast_settings, max_retry_after=60), sleep=sleeps.append)

    assert engine.read(new_photo()).status is ReadingStatus.READ
    assert len(sleeps) == 1 and 27 <= sleeps[0] <= 30


def test_429_without_retry_after_backs_off(
    engine: AigenEngine, aigen_server: FakeAigen, new_photo: NewPhoto, sleeps: list[float]
) -> None:
    aigen_server.queue(Reply.error(429), Reply.error(429))

    assert engine.read(new_photo()).status is ReadingStatus.READ
    assert len(sleeps) == 2 and all(0 <= s <= 0.02 for s in sleeps)


def test_a_lasting_429_stops_the_batch_with_advice(
    engine: AigenEngine, aigen_server: FakeAigen, new_photo: NewPhoto
) -> None:
    aigen_server.default = Reply.error(429, retry_after=0)

    with pytest.raises(QuotaError) as err:
        engine.read(new_photo())

    assert "429" in str(err.value) and "top up" in str(err.value) and "concurrency" in str(err.value)
    assert len(aigen_server.calls) == 3  # the first try and max_429_retries=2


def test_a_retry_after_too_long_to_wait_stops_without_waiting(
    engine: AigenEngine, aigen_server: FakeAigen, new_photo: NewPhoto, sleeps: list[float]
) -> None:
    aigen_server.default = Reply.error(429, retry_after=3600)

    with pytest.raises(QuotaError, match="asks to wait 3600 s"):
        engine.read(new_photo())
    assert sleeps == [] and len(aigen_server.calls) == 1


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (Reply.error(413), r"rejected the request \(HTTP 413\): the photo is too large"),
        (Reply.error(422), r"rejected the request \(HTTP 422\)$"),
        (replace(Reply.error(307), headers=(("Location", "https://elsewhere.test/"),)), r"redirected .*HTTP 307"),
    ],
    ids=["413", "422", "redirect"],
)
def test_other_refusals_fail_the_row_without_retrying(
    engine: AigenEngine, aigen_server: FakeAigen, new_photo: NewPhoto, reply: Reply, message: str
) -> None:
    aigen_server.default = reply

    with pytest.raises(RejectedError, match=message):
        engine.read(new_photo())
    assert len(aigen_server.calls) == 1


def test_a_wrong_endpoint_path_says_to_check_the_url(
    fast_settings: ClientSettings, aigen_server: FakeAigen, new_photo: NewPhoto
) -> None:
    engine = AigenEngine(replace(fast_settings, url=aigen_server.url.replace("/v2", "/v1")))

    with pytest.raises(RejectedError, match=r"HTTP 404\); check the address in AIGEN_API_URL"):
        engine.read(new_photo())


def test_concurrent_reads_each_get_their_own_answer(
    fast_settings: ClientSettings, aigen_server: FakeAigen, new_photo: NewPhoto
) -> None:
    photos = [new_photo(seed=i) for i in range(8)]
    for i, photo in enumerate(photos):
        aigen_server.on(photo.data, Reply.success(f"{i}.5").delayed(0.05))
    engine = AigenEngine(replace(fast_settings, read_timeout=2.0))

    with ThreadPoolExecutor(max_workers=4) as pool:
        values = list(pool.map(lambda p: engine.read(p).value, photos))

    assert values == [f"{i}.5" for i in range(8)]
    assert aigen_server.max_in_flight == 4
    engine.close()


def test_a_proxy_in_the_environment_is_not_used_for_a_local_service(
    engine: AigenEngine, new_photo: NewPhoto, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setenv("NO_PROXY", "")

    assert engine.read(new_photo()).status is ReadingStatus.READ


def test_settings_from_the_environment_reach_the_service(aigen_env: FakeAigen, new_photo: NewPhoto) -> None:
    assert AigenEngine(load_settings()).read(new_photo()).value == "3245.010"
    assert aigen_env.calls[0].key == aigen_env.valid_key


def _closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/aiscript/water-meter/v2"


@pytest.mark.parametrize(
    "reply",
    [Reply.error(401), Reply.error(403), Reply.error(429, retry_after=0), Reply.error(429, retry_after=9999),
     Reply.error(503), Reply.dropped(), Reply.not_json(), Reply.success().delayed(1.0), Reply.error(413),
     replace(Reply.error(302), headers=(("Location", "/elsewhere"),)), None],
    ids=["401", "403", "429", "429-long", "503", "dropped", "not-json", "slow", "413", "redirect", "refused"],
)
def test_the_key_never_appears_in_any_error_or_log(
    fast_settings: ClientSettings, aigen_server: FakeAigen, new_photo: NewPhoto,
    caplog: pytest.LogCaptureFixture, reply: Reply | None,
) -> None:
    aigen_server.default = reply or Reply.success()
    settings = replace(fast_settings, max_attempts=2, url=_closed_port_url() if reply is None else fast_settings.url)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(ServiceError) as err:
        AigenEngine(settings, sleep=lambda _: None).read(new_photo())

    texts, exc = [caplog.text], err.value
    while exc is not None:  # the whole chain, down to the requests exception
        texts += [str(exc), repr(exc), repr(exc.args)]
        exc = exc.__cause__ or exc.__context__
    assert len(texts) > 3
    assert not [t for t in texts if fast_settings.key in t]


def test_a_connection_handed_back_with_its_reply_is_never_cut_off_late() -> None:
    """The deadline's timer could fire after the whole reply was read and the connection had
    gone back to its pool: the reading was thrown away and bought again (a hostile review)."""
    import socket
    from types import SimpleNamespace

    from xlwings_meter.engines.aigen.deadline import Deadline

    ours, theirs = socket.socketpair()
    connection = SimpleNamespace(sock=ours)  # what urllib3's connection holds
    with Deadline(0.05) as deadline:
        deadline._watch(connection)
        deadline._release(connection)  # the reply read whole, the connection back in the pool
        time.sleep(0.2)
    assert not deadline.expired
    theirs.sendall(b"x")
    assert ours.recv(1) == b"x"  # still open, for the next request
    ours.close()
    theirs.close()


def test_a_request_slow_to_find_its_host_is_still_cut_off_once_connected() -> None:
    """A slow name lookup (no timeout bounds it) outlasted the deadline, which then never cut
    the trickled reply that followed (a hostile review)."""
    import socket
    from types import SimpleNamespace

    from xlwings_meter.engines.aigen.deadline import Deadline

    ours, theirs = socket.socketpair()
    connection = SimpleNamespace(sock=None)
    with Deadline(0.05) as deadline:
        deadline._watch(connection)
        time.sleep(0.15)  # past the deadline, still looking up the host
        connection.sock = ours
        theirs.settimeout(2.0)
        assert theirs.recv(1) == b""  # shut within a look or two
    assert deadline.expired and deadline.connecting  # nothing had gone out: not charged
    ours.close()
    theirs.close()


def test_after_a_429_a_request_waits_for_a_place_on_the_wire_until_the_batch_stops() -> None:
    gate = _Gate()
    assert gate.enter(None) and gate.enter(None)
    gate.leave(429)  # two on the wire, one refused: one at a time from now on
    assert gate.limit == 1
    stop = threading.Event()
    entered: list[bool] = []
    waiting = threading.Thread(target=lambda: entered.append(gate.enter(stop)))
    waiting.start()
    waiting.join(0.3)
    assert waiting.is_alive() and not entered  # the other request still holds the place
    stop.set()
    waiting.join(2.0)
    assert entered == [False]
    gate.leave(200)
    assert gate.enter(None)  # the place is free again


def test_the_pace_learnt_from_429s_grows_back_with_replies_and_is_forgotten_when_idle() -> None:
    now = [0.0]
    gate = _Gate(clock=lambda: now[0])
    for _ in range(4):
        assert gate.enter(None)
    gate.leave(429)
    assert gate.limit == 3
    for _ in range(3):
        gate.leave(None)  # timed out or dropped: no reply, so no sign of the service's pace
    assert gate.limit == 3
    for _ in range(10):
        assert gate.enter(None)
        gate.leave(200)
    assert gate.limit == 4  # ten replies in a row without a 429: one more at once
    now[0] += 31.0  # a workbook left open: the next batch starts at full speed
    assert gate.enter(None) and gate.limit is None


def test_a_429_to_a_request_alone_on_the_wire_does_not_slow_the_batch() -> None:
    """Credit exhausted, or too many in a minute: nothing to do with how many at once."""
    gate = _Gate()
    assert gate.enter(None)
    gate.leave(429)
    assert gate.limit is None
