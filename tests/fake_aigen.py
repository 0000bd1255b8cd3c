"""A real AIGEN Water Meter OCR API on 127.0.0.1, speaking the documented contract, for tests.

It checks what the real service checks (the ``X-AIGEN-KEY`` header, a JSON body with a base64
``image``) and answers as each test tells it: per photo, for the next calls, or by default.

    server.default = Reply.error(503)                      # every call, unless told otherwise
    server.queue(Reply.error(503), Reply.error(503))       # the next two calls, then the rest
    server.on(photo.data, Reply.no_detection())            # this photo, always
    server.on(photo.data, Reply.error(429), Reply.success("12.5"))  # in turn; the last one stays

A rule for the photo wins over the queue, which wins over the default. Every call is recorded
in ``server.calls``; ``server.max_in_flight`` is the most requests it ever held at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SUCCESS_BODY = (FIXTURES / "success.json").read_bytes()
NO_DETECTION_BODY = (FIXTURES / "no_detection.json").read_bytes()
API_PATH = "/aiscript/water-meter/v2"
VALID_KEY = "test-key-7f3a9c1e5b"
NOT_JSON_BODY = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


def _error_body(status: int, message: str = "") -> bytes:
    phrase = HTTPStatus(status).phrase
    error = {"object": "error", "code": phrase.lower().replace(" ", "_"), "message": message or phrase}
    return json.dumps({"status": "error", "error": [error], "data": []}).encode()


@dataclass(frozen=True)
class Reply:
    """What the fake does with one request. Build one with the class methods."""

    status: int = 200
    body: bytes = SUCCESS_BODY
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    delay: float = 0.0  # seconds to wait before answering
    drop: bool = False  # close the connection without answering
    trickle: float = 0.0  # seconds between bytes of the reply, status line included

    @classmethod
    def success(cls, value: str | None = None, confidence: float | None = None, angle: float | None = None,
                boxes: Any = None) -> Reply:
        """200 with the documented success body; value/confidence/angle and the digit boxes
        (``bboxes_norm``) replace the documented ones."""
        if value is confidence is angle is boxes is None:
            return cls()  # the documented bytes, untouched
        doc = json.loads(SUCCESS_BODY)
        numbers = doc["data"][0]["numbers"]
        for name, given in (("value", value), ("confidence", confidence), ("angle", angle), ("bboxes_norm", boxes)):
            if given is not None:
                numbers[name] = given
        return cls(body=json.dumps(doc).encode())

    @classmethod
    def no_detection(cls, status: int = 400) -> Reply:
        """The documented "no meter found" body, with a 400 as documented (or a 200)."""
        return cls(status=status, body=NO_DETECTION_BODY)

    @classmethod
    def error(cls, status: int, retry_after: str | float | None = None) -> Reply:
        """A JSON error reply: 401, 403, 429 (optionally with ``Retry-After``), 5xx, 404..."""
        headers = cls.headers
        if retry_after is not None:
            headers += (("Retry-After", str(retry_after)),)
        return cls(status=status, body=_error_body(status), headers=headers)

    @classmethod
    def not_json(cls, status: int = 200) -> Reply:
        """An HTML page where JSON was due, as a proxy or gateway sends."""
        return cls(status=status, body=NOT_JSON_BODY, headers=(("Content-Type", "text/html"),))

    @classmethod
    def dropped(cls) -> Reply:
        """Read the request, then close the connection without any response."""
        return cls(drop=True)

    def trickled(self, seconds_a_byte: float) -> Reply:
        """The same reply, sent a byte at a time: each byte comes well within a read timeout,
        the whole reply never does."""
        return replace(self, trickle=seconds_a_byte)

    def delayed(self, seconds: float) -> Reply:
        """The same reply, sent after ``seconds`` (e.g. to make the client time out)."""
        return replace(self, delay=seconds)


@dataclass(frozen=True)
class Call:
    """One request the fake received."""

    path: str  # with the query string, if any
    headers: dict[str, str]  # names lower-cased
    body: bytes
    image: bytes | None  # the decoded upload; None when the body was not the documented JSON
    image_sha256: str | None
    status: int | None  # what the fake answered; None when it dropped the connection
    at: float  # time.monotonic() when the request arrived

    @property
    def key(self) -> str | None:
        """The ``X-AIGEN-KEY`` header as sent."""
        return self.headers.get("x-aigen-key")


class FakeAigen:
    """The fake service, started in a background thread on a free port of 127.0.0.1.

    >>> import requests
    >>> with FakeAigen() as server:
    ...     server.queue(Reply.error(503))
    ...     post = lambda: requests.post(server.url, json={"image": "aGk="},
    ...                                  headers={"X-AIGEN-KEY": server.valid_key})
    ...     [post().status_code, post().json()["data"][0]["numbers"]["value"]]
    [503, '3245.010']
    >>> server.calls[0].image, len(server.calls)
    (b'hi', 2)
    """

    def __init__(self, valid_key: str = VALID_KEY) -> None:
        self.valid_key = valid_key
        self.default = Reply.success()
        self.max_in_flight = 0
        #: Requests it takes at once; any more are answered ``busy`` (429) straight away.
        self.at_once: int | None = None
        self.busy = Reply.error(429, retry_after=0.2)
        self._in_flight = 0
        self._queue: deque[Reply] = deque()
        self._rules: dict[str, deque[Reply]] = {}
        self._calls: list[Call] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        """The endpoint, like the real one but on http://127.0.0.1:<port>."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{API_PATH}"

    @property
    def calls(self) -> list[Call]:
        """Every request received so far, in order of arrival (a copy)."""
        with self._lock:
            return list(self._calls)

    def calls_for(self, image: bytes | Path) -> list[Call]:
        """The requests that uploaded this image: these bytes, or what the app makes of this file."""
        digest = _sha256(image)
        return [c for c in self.calls if c.image_sha256 == digest]

    def queue(self, *replies: Reply) -> None:
        """Answer the next requests with these, one each, in order (after per-photo rules)."""
        with self._lock:
            self._queue.extend(replies)

    def on(self, image: bytes | Path, *replies: Reply) -> None:
        """Answer uploads of this image (bytes, or a photo file) with these in turn; the last stays."""
        if not replies:
            raise ValueError("on() needs at least one Reply")
        with self._lock:
            self._rules[_sha256(image)] = deque(replies)

    def start(self) -> FakeAigen:
        """Start serving; returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wake slow replies and close every open connection."""
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            for conn in self._connections:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def __enter__(self) -> FakeAigen:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _choose(self, digest: str | None) -> Reply:
        with self._lock:
            rule = self._rules.get(digest or "")
            if rule:
                return rule.popleft() if len(rule) > 1 else rule[0]
            return self._queue.popleft() if self._queue else self.default


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeAigen

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and left is the point of some tests, not an error


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real service and requests' sessions do
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.fake._lock:
            self.server.fake._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.fake._lock:
            self.server.fake._connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._send(Reply.error(405))

    def do_POST(self) -> None:
        fake = self.server.fake
        arrived = time.monotonic()
        with fake._lock:
            fake._in_flight += 1
            fake.max_in_flight = max(fake.max_in_flight, fake._in_flight)
            crowded = fake.at_once is not None and fake._in_flight > fake.at_once
        try:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            image = _decode_image(body)
            digest = hashlib.sha256(image).hexdigest() if image is not None else None
            reply = self._check(image) or (fake.busy if crowded else fake._choose(digest))
            call = Call(
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                image=image,
                image_sha256=digest,
                status=None if reply.drop else reply.status,
                at=arrived,
            )
            with fake._lock:
                fake._calls.append(call)
            if reply.delay:
                fake._stopping.wait(reply.delay)
            self._send(reply)
        finally:
            with fake._lock:
                fake._in_flight -= 1

    def _check(self, image: bytes | None) -> Reply | None:
        """The service's own checks: where, which key, what body. None when all is well."""
        url = urlsplit(self.path)
        if url.path != API_PATH:
            return Reply.error(404)
        if any("key" in name.lower() for name, _ in parse_qsl(url.query)):
            # The real service accepts it; this project must never send it.
            return replace(Reply.error(422), body=_error_body(422, "key sent in the URL"))
        if self.headers.get("X-AIGEN-KEY") != self.server.fake.valid_key:
            return Reply.error(401)
        if image is None:
            return replace(Reply.error(422), body=_error_body(422, 'body must be {"image": "<base64>"}'))
        return None

    def _send(self, reply: Reply) -> None:
        if reply.drop:
            self.close_connection = True
            return
        try:
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            if reply.trickle:
                self._headers_buffer.append(b"\r\n")
                whole = b"".join(self._headers_buffer) + reply.body
                self._headers_buffer = []
                for i in range(len(whole)):
                    if self.server.fake._stopping.wait(reply.trickle):
                        break
                    self.wfile.write(whole[i : i + 1])
                    self.wfile.flush()
                return
            self.end_headers()
            self.wfile.write(reply.body)
        except OSError:  # the client gave up waiting
            self.close_connection = True


def _decode_image(body: bytes) -> bytes | None:
    try:
        image = base64.b64decode(json.loads(body)["image"], validate=True)
    except (ValueError, TypeError, KeyError, binascii.Error):  # b64decode refuses non-str too
        return None
    return image or None


def _sha256(image: bytes | Path) -> str:
    """The hash of an upload; for a photo file, of what the app uploads of it (a fresh JPEG)."""
    if isinstance(image, bytes):
        return hashlib.sha256(image).hexdigest()
    from xlwings_meter.photos import load_photo

    return hashlib.sha256(load_photo(Path(image)).data).hexdigest()
