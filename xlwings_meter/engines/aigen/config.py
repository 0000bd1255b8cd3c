"""Where the AIGEN API key and endpoint come from: the environment, then the user's xlwings.conf.

Never from a workbook: a workbook travels by e-mail, and a key inside it would travel too.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from xlwings_meter.errors import ConfigError, MissingKeyError

DEFAULT_URL = "https://api.aigen.online/aiscript/water-meter/v2"
KEY_VAR = "AIGEN_API_KEY"
URL_VAR = "AIGEN_API_URL"
CONFIG_FILE_VAR = "XLWINGS_METER_CONFIG"

_CONF_VALUE = re.compile(r'"([^"]*)"')  # the same reading of xlwings.conf as xlwings' own
_PRINTABLE_ASCII = re.compile(r"^[\x21-\x7e]+$")


@dataclass(frozen=True)
class ClientSettings:
    """How the AIGEN client reaches the service. ``repr`` never shows the key.

    >>> settings = ClientSettings("https://example.test/v2", key="s3cret")
    >>> "s3cret" in repr(settings), settings.read_timeout
    (False, 30.0)
    """

    url: str
    key: str = field(repr=False)
    #: Where the key was found, named in messages so the user knows what to fix.
    key_source: str = f"the environment variable {KEY_VAR}"
    connect_timeout: float = 5.0
    # An OCR reply takes a few seconds; past 30 s the service is stuck, and with the retries
    # one row could otherwise hold a worker for minutes.
    read_timeout: float = 30.0
    #: Tries in all for a photo whose requests never reached the service (nothing was charged).
    max_attempts: int = 4
    #: Tries in all once a request went out and got no usable answer: it may have been billed.
    max_charged_attempts: int = 2
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    max_429_retries: int = 3
    # A longer Retry-After means "credit exhausted", not "slow down": stop rather than wait.
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        # requests would refuse such a header with an exception quoting the key.
        if not _PRINTABLE_ASCII.match(self.key):
            raise ConfigError(f"The AIGEN API key in {self.key_source} is empty or contains invalid characters")
        if min(self.max_attempts, self.max_charged_attempts) < 1 or self.max_429_retries < 0:
            raise ConfigError("max_attempts and max_charged_attempts must be at least 1, max_429_retries at least 0")
        if min(self.connect_timeout, self.read_timeout) <= 0:
            raise ConfigError("timeouts must be positive")


def config_file(environ: Mapping[str, str] = os.environ) -> Path:
    """The user's xlwings config file, or the file named by XLWINGS_METER_CONFIG."""
    override = environ.get(CONFIG_FILE_VAR, "").strip()
    if override:
        return Path(override).expanduser()
    # Where xlwings itself looks (inside Excel's sandbox on macOS); imported only when needed.
    from xlwings import USER_CONFIG_FILE

    return Path(USER_CONFIG_FILE)


def read_config_file(path: Path) -> dict[str, str]:
    """Settings of an xlwings.conf file (``"KEY","VALUE"`` lines), keys upper-cased.

    A missing file gives ``{}``; an unreadable one raises ConfigError.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: Notepad may add a BOM
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read the config file {path}: {exc.__class__.__name__}") from exc
    settings = {}
    for line in text.splitlines():
        values = _CONF_VALUE.findall(line)
        if len(values) >= 2:
            settings[values[0].strip().upper()] = values[1].strip()
    return settings


def load_settings(environ: Mapping[str, str] = os.environ) -> ClientSettings:
    """Read the key and endpoint: environment variables first, then the config file.

    Raises ConfigError when there is no key, or when the endpoint would expose the key.
    """
    path = config_file(environ)
    from_file = read_config_file(path)

    key, key_source = environ.get(KEY_VAR, "").strip(), f"the environment variable {KEY_VAR}"
    if not key:
        key, key_source = from_file.get(KEY_VAR, ""), f"the config file {path}"
    if not key:
        raise MissingKeyError(
            f"No AIGEN API key. Set the environment variable {KEY_VAR}, "
            f'or add the line "{KEY_VAR}","<your key>" to {path}',
            config_file=path,
        )
    return ClientSettings(url=endpoint(environ, from_file, key), key=key, key_source=key_source)


def endpoint(environ: Mapping[str, str] = os.environ, from_file: Mapping[str, str] | None = None,
             key: str = "") -> str:
    """The service address in use: AIGEN_API_URL, else the config file, else the default.

    Raises ConfigError for an address check_url refuses (its message never quotes the key).
    """
    if from_file is None:
        from_file = read_config_file(config_file(environ))
    url = environ.get(URL_VAR, "").strip() or from_file.get(URL_VAR, "") or DEFAULT_URL
    check_url(url, key)
    return url


def check_url(url: str, key: str = "") -> None:
    """Refuse an endpoint that would send the key in clear or put it in the URL."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number in range)
    except ValueError as exc:
        raise ConfigError(f"{URL_VAR} is not a valid address") from exc
    if host and any(ch.isspace() for ch in host):
        raise ConfigError(f"{URL_VAR} is not a valid address")
    if (key and key in url) or any("key" in name.lower() for name, _ in parse_qsl(parts.query)):
        # Not echoing the URL: it holds the key.
        raise ConfigError(
            f"{URL_VAR} must not contain the API key; it is sent in a header. Remove it from the URL"
        )
    if parts.scheme not in ("https", "http") or not host:
        raise ConfigError(f"{URL_VAR} must be an https:// address, not {display_url(url)!r}")
    if parts.scheme == "http" and not is_loopback(host):
        raise ConfigError(
            f"{URL_VAR} uses plain http:// to {host}, which would send the API key "
            "unencrypted; use https://"
        )


#: A user name and password before a host: every run of characters up to an @ that holds no /.
_USER_INFO = re.compile(r"[^/@\s]*@")


def display_url(url: str) -> str:
    """The address as it may be shown anywhere (a message, a cell, a log): without the user
    name and password and without the query, either of which can hold a credential.

    >>> display_url("https://meter:s3cret@gw.example.com:8443/ocr/v2?sig=abc#x")
    'https://gw.example.com:8443/ocr/v2'
    >>> display_url("http://[::1]:99/v2"), display_url("no address at all")
    ('http://[::1]:99/v2', 'no address at all')
    >>> display_url("meter:Pa55w0rd@gw.example.com/ocr?sig=abc")  # no scheme: "meter" is not one
    'gw.example.com/ocr'
    >>> display_url("https:/meter:Pa55w0rd@gw.example.com/ocr")  # a slash missing
    'https:///gw.example.com/ocr'
    """
    # Any name:password@ goes, wherever a mistyped address put it (https:/user:pass@host).
    url = _USER_INFO.sub("", url.strip().split("?", 1)[0].split("#", 1)[0])
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "(an address that cannot be read)"
    if not parts.scheme and not parts.netloc:
        return parts.path
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}{parts.path}"


def is_loopback(host: str) -> bool:
    """True for localhost, 127.0.0.0/8 and ::1: a host whose traffic never leaves this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
