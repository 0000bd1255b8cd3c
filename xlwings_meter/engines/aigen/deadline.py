"""A limit on the whole time of one request, reply included.

``requests``' read timeout bounds each wait for the socket, not the reply: a service (or a
proxy) that trickles a byte every few seconds keeps a photo's worker waiting for ever. Here a
timer shuts the connection's socket when the request has taken too long; the blocked read then
ends at once, and the caller, seeing ``Deadline.expired``, reports a timeout.

The connection is found without reaching into ``requests``: the session's adapter builds its
connection pools from subclasses that note, for the thread that asks, which connection it was
given.

    >>> with Deadline(30.0) as deadline:
    ...     pass                # session.post(...), mounted with DeadlineAdapter()
    >>> deadline.expired
    False
"""

from __future__ import annotations

import socket
import threading
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()
#: Seconds between looks for the socket of a request cut off before it had one.
_RECHECK = 0.1
#: Set on a connection once it is connected: only then can a request have gone out on it.
_CONNECTED = "xlwings_meter_connected"


class Deadline:
    """While entered, the requests of this thread are cut off ``seconds`` after it began.

    ``expired`` is True once a connection was cut off: what the request then raised says
    nothing more than "too slow". A connection handed back to its pool (its reply read
    whole) is no longer watched: a reply that came in time is never thrown away.
    """

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self.connecting = False  # cut off before it was connected (a proxy's tunnel, TLS)
        self._connection: Any = None
        self._done = False
        self._lock = threading.Lock()
        self._timer = self._timer_in(seconds)

    def __enter__(self) -> Deadline:
        _current.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._done = True
            self._timer.cancel()
        _current.deadline = None

    def _timer_in(self, seconds: float) -> threading.Timer:
        timer = threading.Timer(seconds, self._expire)
        timer.daemon = True
        return timer

    def _watch(self, connection: Any) -> None:
        with self._lock:
            self._connection = connection

    def _release(self, connection: Any) -> None:
        with self._lock:
            if connection is self._connection:
                self._connection = None
                self._done = True

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            sock = getattr(self._connection, "sock", None)
            if sock is None:
                # Not connected yet (a slow name lookup, which no timeout bounds): look again
                # shortly, so that a reply trickled after it is cut off all the same.
                self._timer = self._timer_in(_RECHECK)
                self._timer.start()
                return
            # Set before the shutdown, which wakes the waiting thread.
            self.expired = True
            self.connecting = not getattr(self._connection, _CONNECTED, False)
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:  # already closed: nothing was waiting on it
                self.expired = False


def _watched(pool: type[HTTPConnectionPool]) -> type[HTTPConnectionPool]:
    class Connection(pool.ConnectionCls):  # type: ignore[name-defined]
        def connect(self) -> None:
            super().connect()
            setattr(self, _CONNECTED, True)  # a proxy's tunnel and the TLS handshake done

    class Watched(pool):  # type: ignore[valid-type,misc]
        ConnectionCls = Connection

        def _get_conn(self, timeout: float | None = None) -> Any:
            connection = super()._get_conn(timeout)
            deadline: Deadline | None = getattr(_current, "deadline", None)
            if deadline is not None:
                deadline._watch(connection)
            return connection

        def _put_conn(self, conn: Any) -> None:
            deadline: Deadline | None = getattr(_current, "deadline", None)
            if deadline is not None:
                deadline._release(conn)
            super()._put_conn(conn)

    Watched.__name__ = Watched.__qualname__ = f"Watched{pool.__name__}"
    return Watched


_POOLS = {"http": _watched(HTTPConnectionPool), "https": _watched(HTTPSConnectionPool)}


class DeadlineAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections a Deadline of the calling thread can cut off."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS pools are classes of their own
            manager.pool_classes_by_scheme = _POOLS
        return manager
