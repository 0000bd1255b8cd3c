"""The AIGEN Water Meter OCR client: one POST per photo, retries, and the mapping onto the errors.

Every call costs the user credit, so a photo is retried by what it may already have cost. A
request that never reached the service (connection refused, unknown host, connect timeout) is
tried again freely, up to ``max_attempts``. One that went out and got no usable answer (a read
timeout, a 5xx, a dropped or garbled reply) may have been read and billed: it is tried once
more at most (``max_charged_attempts``), and its row then says it may have been charged. 429
is retried as the service asks, and slows every thread (``_Gate``). A 400 is an answer ("no
meter here"), never retried.

``requests`` is imported with the first request: a run that finds every photo in the cache
never spends the start-up time it costs.
"""

from __future__ import annotations

import base64
import email.utils
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from xlwings_meter import __version__
from xlwings_meter.engines.aigen.config import (
    URL_VAR,
    ClientSettings,
    display_url,
    is_loopback,
)
from xlwings_meter.engines.aigen.replies import parse_response
from xlwings_meter.errors import (
    AuthError,
    QuotaError,
    RejectedError,
    TransientServiceError,
    UnreachableError,
)
from xlwings_meter.photos import Photo
from xlwings_meter.reading import Reading

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)


class _NoQueryInLogs(logging.Filter):
    """urllib3 logs each request's path with its query at DEBUG: cut the query, which may hold
    a credential of the endpoint (a signature, a token)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(a.split("?", 1)[0] if isinstance(a, str) and "?" in a else a
                                for a in record.args)
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_NoQueryInLogs())

_SECONDS = re.compile(r"^\d+(\.\d+)?$")
_HINTS = {
    404: f"; check the address in {URL_VAR}",
    405: f"; check the address in {URL_VAR}",
    413: ": the photo is too large for the service",
}


@contextmanager
def translated_errors() -> Iterator[None]:
    """The one place where ``requests`` exceptions become this package's errors.

    Each becomes a TransientServiceError naming what happened on that one try; messages never
    quote the exception, whose text could hold request details.
    """
    import requests

    try:
        yield
    except requests.ConnectTimeout as exc:
        raise UnreachableError("could not connect to the service (timed out)") from exc
    except requests.Timeout as exc:
        raise TransientServiceError("timed out", may_have_been_charged=True) from exc
    except requests.exceptions.SSLError as exc:  # the handshake failed: no request went out
        raise TransientServiceError("could not open a secure connection to the service") from exc
    except requests.ConnectionError as exc:
        if _never_connected(exc):
            raise UnreachableError("could not connect to the service") from exc
        raise TransientServiceError("the service dropped the connection", may_have_been_charged=True) from exc
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
        raise TransientServiceError("the service's reply was cut off", may_have_been_charged=True) from exc
    except requests.RequestException as exc:
        raise TransientServiceError(f"the request failed ({type(exc).__name__})",
                                    may_have_been_charged=True) from exc


#: After a 429 the gate lets one more request on the wire after this many replies in a row
#: that were not 429: it finds the service's pace again, slowly (each probe past it costs a 429).
_REGROW = 10
#: With nothing on the wire for this long, the gate forgets the pace it learnt: the add-in keeps
#: one engine while a workbook is open, and a 429 an hour ago says nothing about the next batch.
_FORGET_AFTER = 30.0


class _Gate:
    """How many requests of all threads may be on the wire at once: any number, until the
    service answers 429 while several were on the wire; then one fewer than were on the wire
    then, growing back by one after every ``_REGROW`` replies in a row that were not 429, and
    forgotten after ``_FORGET_AFTER`` seconds with nothing on the wire.

    One thread's 429 is the service saying the whole batch is too fast: each thread obeying
    only its own kept the other requests coming (12 at once against a service that takes 3:
    35 to 45 refusals in 30 photos). A 429 to a request alone on the wire says nothing about
    how many at once (credit exhausted, or too many in a minute): it leaves the limit as it is.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._cond = threading.Condition()
        self._clock = clock
        self._on_wire = 0
        self._limit: int | None = None
        self._good = 0
        self._idle_since = clock()

    @property
    def limit(self) -> int | None:
        """Requests allowed on the wire at once; None while any number may go."""
        return self._limit

    def enter(self, cancel: threading.Event | None) -> bool:
        """Wait for a place on the wire; False (and no place) once ``cancel`` is set."""
        with self._cond:
            if self._on_wire == 0 and self._clock() - self._idle_since >= _FORGET_AFTER:
                self._limit, self._good = None, 0
            while self._limit is not None and self._on_wire >= self._limit:
                if cancel is not None and cancel.is_set():
                    return False
                self._cond.wait(0.1)  # also wakes to look at cancel, which has no notify
            self._on_wire += 1
            return True

    def leave(self, status: int | None) -> None:
        """Give the place back; ``status``: the reply's HTTP status, None where none came (a
        timeout, a dropped connection), which neither slows nor speeds the gate."""
        with self._cond:
            if status == 429:
                if self._on_wire > 1:
                    self._limit = min(self._limit or self._on_wire, self._on_wire - 1)
                self._good = 0
            elif status is not None and self._limit is not None:
                self._good += 1
                if self._good >= _REGROW:
                    self._limit += 1
                    self._good = 0
            self._on_wire -= 1
            if self._on_wire == 0:
                self._idle_since = self._clock()
            self._cond.notify_all()


class AigenEngine:
    """Reads meters through the AIGEN Water Meter OCR API v2. Safe to call from many threads.

    Usage (it needs the service, so it is shown, not run)::

        engine = AigenEngine(load_settings())
        engine.read(load_photo(Path("meter.jpg"))).value   # '3245.010'
    """

    name = "aigen-v2"

    def __init__(self, settings: ClientSettings, sleep: Callable[[float], object] | None = None) -> None:
        self.settings = settings
        self._sleep = sleep
        self._local = threading.local()  # requests.Session is not thread-safe: one per thread
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self._gate = _Gate()  # shared by every thread: a 429 slows them all

    #: Photos go over the network to the service (the summary says "sent", and counts uploads).
    sends_photos = True

    def read(self, photo: Photo, cancel: threading.Event | None = None,
             on_upload: Callable[[int], object] | None = None) -> Reading:
        """Send ``photo.data`` and return its reading (READ or NO_READING).

        Raises TransientServiceError or RejectedError (this row failed), AuthError or QuotaError
        (stop the batch). When ``cancel`` is set, a wait before a retry ends at once with a
        TransientServiceError: the batch is stopping and nothing more is sent. ``on_upload``
        is called with the size of the body each time a request reaches the service.
        """
        import requests

        s = self.settings
        # {"image": "<base64>"}, as json.dumps writes it: base64 needs no escaping, and built
        # directly it costs a fifth of json.dumps's CPU (0.13 against 0.6 ms for 100 kB).
        body = b'{"image": "' + base64.b64encode(photo.data) + b'"}'
        failures = charged = throttled = 0
        while True:
            try:
                with translated_errors():
                    try:
                        response = self._gated_post(body, cancel)
                    except (requests.ConnectTimeout, requests.exceptions.SSLError):
                        raise
                    except requests.ConnectionError as exc:
                        if not _never_connected(exc) and on_upload:
                            on_upload(len(body))
                        raise
                    except requests.RequestException:
                        if on_upload:
                            on_upload(len(body))
                        raise
                if on_upload:
                    on_upload(len(body))
                if response.status_code != 429:
                    return self._interpret(response)
                throttled += 1
                delay = self._throttle_delay(response, throttled)
                log.info("AIGEN: 429 too many requests; waiting %.1f s", delay)
            except TransientServiceError as exc:
                failures += 1
                charged += exc.may_have_been_charged
                if failures >= s.max_attempts or charged >= s.max_charged_attempts:
                    what = str(exc)
                    message = f"{what[:1].upper()}{what[1:]} after {_count(failures, 'try')}"
                    if charged:
                        raise TransientServiceError(message, http_status=exc.http_status, attempts=failures,
                                                    may_have_been_charged=True) from exc
                    if isinstance(exc, UnreachableError):  # never reached: the network may be down
                        raise UnreachableError(message, attempts=failures) from exc
                    raise TransientServiceError(message, http_status=exc.http_status, attempts=failures) from exc
                delay = self._backoff(failures)
                log.info("AIGEN: %s (try %d); retrying in %.1f s", exc, failures, delay)
            self._wait(delay, cancel)

    def _gated_post(self, body: bytes, cancel: threading.Event | None) -> requests.Response:
        """``_post`` once the gate has a place on the wire for it (see ``_Gate``)."""
        if not self._gate.enter(cancel):
            raise TransientServiceError("Not sent: the batch is stopping")
        status: int | None = None
        try:
            response = self._post(body)
            status = response.status_code
            return response
        finally:
            self._gate.leave(status)

    def _post(self, body: bytes) -> requests.Response:
        """One POST, cut off (a ReadTimeout) when it has not ended within the connect and read
        timeouts together: the read timeout alone bounds each wait for a byte, not the reply."""
        import requests

        from xlwings_meter.engines.aigen.deadline import Deadline

        s = self.settings
        response: requests.Response | None = None
        failure: requests.RequestException | None = None
        with Deadline(s.connect_timeout + s.read_timeout) as deadline:
            try:
                response = self._session().post(
                    s.url,
                    data=body,
                    timeout=(s.connect_timeout, s.read_timeout),
                    # A redirect could carry the key header to another host.
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                failure = exc
        if deadline.expired and deadline.connecting:
            # Cut off while still connecting (a proxy's tunnel, the TLS handshake): nothing sent.
            raise requests.ConnectTimeout("could not connect in time") from failure
        if deadline.expired:  # the socket was shut under it: whatever came, too slow
            raise requests.ReadTimeout("the reply took too long") from failure
        if failure is not None:
            raise failure
        assert response is not None
        return response

    def _wait(self, delay: float, cancel: threading.Event | None) -> None:
        if self._sleep is not None:  # tests keep time virtual
            self._sleep(delay)
        elif cancel is not None:
            cancel.wait(delay)
        else:
            time.sleep(delay)
        if cancel is not None and cancel.is_set():
            raise TransientServiceError("Not retried: the batch is stopping")

    def close(self) -> None:
        """Close the connections of every thread's session."""
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()

    def _session(self) -> requests.Session:
        import requests

        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            from xlwings_meter.engines.aigen.deadline import DeadlineAdapter

            session = requests.Session()
            for prefix in ("http://", "https://"):
                session.mount(prefix, DeadlineAdapter())
            session.headers.update(
                {
                    "X-AIGEN-KEY": self.settings.key,
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                    "User-Agent": f"xlwings-meter/{__version__}",
                }
            )
            # A service on this machine is never reached through the user's proxy.
            session.trust_env = not is_loopback(urlsplit(self.settings.url).hostname or "")
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def _interpret(self, response: requests.Response) -> Reading:
        code = response.status_code
        if code == 400 or 200 <= code < 300:
            return parse_response(400 if code == 400 else 200, response.content)
        if code == 401:
            raise AuthError(
                "The AIGEN service refused the API key (HTTP 401): it is wrong or no longer valid. "
                f"Put a valid key in {self.settings.key_source}",
                http_status=code, key_source=self.settings.key_source,
            )
        if code == 403:
            raise AuthError(
                f"The AIGEN service refused the request (HTTP 403): this key may not use this "
                f"endpoint ({display_url(self.settings.url)}). Check {URL_VAR} and the key's subscription",
                http_status=code, key_source=self.settings.key_source,
            )
        if code >= 500:
            raise TransientServiceError(f"service error {code}", http_status=code, may_have_been_charged=True)
        if 300 <= code < 400:
            raise RejectedError(f"The AIGEN service redirected the request (HTTP {code}); check {URL_VAR}",
                                http_status=code)
        raise RejectedError(f"The AIGEN service rejected the request (HTTP {code}){_HINTS.get(code, '')}",
                            http_status=code)

    def _throttle_delay(self, response: requests.Response, throttled: int) -> float:
        s = self.settings
        advice = "top up the account's API credit, or lower the concurrency (photos read at once)"
        if throttled > s.max_429_retries:
            raise QuotaError(
                f"The AIGEN service still answers 429 (credit exhausted or too many requests) "
                f"after {throttled} tries: {advice}",
                http_status=429,
            )
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        if wait is None:
            return self._backoff(throttled)
        if wait > s.max_retry_after:
            raise QuotaError(
                f"The AIGEN service asks to wait {wait:.0f} s (HTTP 429): credit exhausted or "
                f"too many requests; {advice}",
                http_status=429,
            )
        return wait

    def _backoff(self, attempt: int) -> float:
        """Full jitter: spreads the retries of many threads hit by the same outage."""
        s = self.settings
        return random.uniform(0.0, min(s.backoff_max, s.backoff_base * 2 ** (attempt - 1)))


def _never_connected(exc: requests.ConnectionError) -> bool:
    import urllib3.exceptions

    reason = getattr(exc.args[0] if exc.args else None, "reason", None)
    if isinstance(reason, urllib3.exceptions.ProxyError):  # the proxy itself was not reached
        reason = reason.original_error
    return isinstance(reason, urllib3.exceptions.NewConnectionError)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun[:-1]}ies" if noun.endswith("y") else f"{n} {noun}s"


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait per a ``Retry-After`` header (seconds or HTTP-date); None if absent or bad.

    >>> retry_after_seconds("7"), retry_after_seconds("soon")
    (7.0, None)
    >>> now = datetime(2015, 10, 21, 7, 28, tzinfo=timezone.utc)
    >>> retry_after_seconds("Wed, 21 Oct 2015 07:28:30 GMT", now)
    30.0
    """
    value = (value or "").strip()
    if _SECONDS.match(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())
