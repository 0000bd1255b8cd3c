"""Where the key and endpoint come from, and which endpoints are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from xlwings_meter.engines.aigen.config import (
    DEFAULT_URL,
    ClientSettings,
    load_settings,
)
from xlwings_meter.errors import ConfigError

KEY = "k3y-from-env-1234"
FILE_KEY = "k3y-from-file-5678"


def env_for(conf: Path, **values: str) -> dict[str, str]:
    return {"XLWINGS_METER_CONFIG": str(conf), **values}


def write_conf(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_key_from_the_environment_and_the_default_endpoint(tmp_path: Path) -> None:
    settings = load_settings(env_for(tmp_path / "absent.conf", AIGEN_API_KEY=KEY))

    assert settings.key == KEY
    assert settings.url == DEFAULT_URL == "https://api.aigen.online/aiscript/water-meter/v2"
    assert "AIGEN_API_KEY" in settings.key_source


def test_key_and_endpoint_from_the_xlwings_conf_file(tmp_path: Path) -> None:
    conf = write_conf(
        tmp_path / "xlwings.conf",
        '"INTERPRETER_WIN","C:\\Python\\python.exe"',
        f'"AIGEN_API_KEY","{FILE_KEY}"',
        '"AIGEN_API_URL","https://apis.aigen.online/aiscript/water-meter/v2"',
    )

    settings = load_settings(env_for(conf))

    assert settings.key == FILE_KEY
    assert settings.url == "https://apis.aigen.online/aiscript/water-meter/v2"
    assert str(conf) in settings.key_source


def test_the_environment_wins_over_the_file(tmp_path: Path) -> None:
    conf = write_conf(tmp_path / "x.conf", f'"AIGEN_API_KEY","{FILE_KEY}"', '"AIGEN_API_URL","https://file.test/v2"')

    settings = load_settings(env_for(conf, AIGEN_API_KEY=KEY, AIGEN_API_URL="https://env.test/v2"))

    assert (settings.key, settings.url) == (KEY, "https://env.test/v2")


def test_file_written_by_notepad_with_bom_and_lowercase_keys(tmp_path: Path) -> None:
    conf = tmp_path / "x.conf"
    conf.write_bytes(f'\ufeff"aigen_api_key","{FILE_KEY}"\r\n'.encode())

    assert load_settings(env_for(conf)).key == FILE_KEY


def test_the_default_file_is_the_one_xlwings_uses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import xlwings

    (tmp_path / ".xlwings").mkdir()
    conf = write_conf(tmp_path / ".xlwings" / "xlwings.conf", f'"AIGEN_API_KEY","{FILE_KEY}"')
    monkeypatch.setattr(xlwings, "USER_CONFIG_FILE", str(conf))  # computed from HOME at import

    assert load_settings({}).key == FILE_KEY


@pytest.mark.parametrize("blank", ["", "   "])
def test_missing_key_says_where_to_put_it(tmp_path: Path, blank: str) -> None:
    conf = write_conf(tmp_path / "xlwings.conf", '"AIGEN_API_KEY",""')

    with pytest.raises(ConfigError) as err:
        load_settings(env_for(conf, AIGEN_API_KEY=blank))

    message = str(err.value)
    assert "No AIGEN API key" in message
    assert "environment variable AIGEN_API_KEY" in message
    assert f'"AIGEN_API_KEY","<your key>" to {conf}' in message


@pytest.mark.parametrize("key", ["abc def", "abc\ndef", "abcdéf"])
def test_a_key_that_cannot_be_a_header_is_refused_without_being_shown(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError, match="AIGEN_API_KEY is empty or contains invalid characters") as err:
        load_settings(env_for(tmp_path / "absent", AIGEN_API_KEY=key))
    assert "abc" not in str(err.value)
    with pytest.raises(ConfigError):
        ClientSettings("https://api.aigen.online/v2", key=key)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/aiscript/water-meter/v2",
        "http://127.3.4.5/v2",
        "http://localhost:9000/v2",
        "http://[::1]:9000/v2",
        "https://proxy.example.com/aigen/v2",
    ],
)
def test_https_anywhere_and_plain_http_on_loopback_are_accepted(tmp_path: Path, url: str) -> None:
    assert load_settings(env_for(tmp_path / "absent", AIGEN_API_KEY=KEY, AIGEN_API_URL=url)).url == url


@pytest.mark.parametrize(
    "url", ["http://api.aigen.online/aiscript/water-meter/v2", "http://10.0.0.5/v2", "http://127.0.0.1.evil.test/v2"]
)
def test_plain_http_off_loopback_is_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match="unencrypted; use https://"):
        load_settings(env_for(tmp_path / "absent", AIGEN_API_KEY=KEY, AIGEN_API_URL=url))


@pytest.mark.parametrize("url", ["ftp://api.aigen.online/v2", "api.aigen.online/v2", "https://"])
def test_something_that_is_not_a_web_address_is_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match="must be an https:// address"):
        load_settings(env_for(tmp_path / "absent", AIGEN_API_KEY=KEY, AIGEN_API_URL=url))


@pytest.mark.parametrize(
    "query", [f"aigen_key={KEY}", "aigen_key=other-key", f"lang=th&api_key={KEY}", f"x={KEY}"]
)
def test_a_key_in_the_url_is_refused_and_not_repeated(tmp_path: Path, query: str) -> None:
    url = f"https://api.aigen.online/aiscript/water-meter/v2?{query}"

    with pytest.raises(ConfigError, match="must not contain the API key") as err:
        load_settings(env_for(tmp_path / "absent", AIGEN_API_KEY=KEY, AIGEN_API_URL=url))
    assert KEY not in str(err.value) and "other-key" not in str(err.value)


def test_the_key_never_shows_in_repr() -> None:
    settings = ClientSettings("https://api.aigen.online/v2", key=KEY)

    assert KEY not in repr(settings) and KEY not in str(settings)
    assert "https://api.aigen.online/v2" in repr(settings)


def test_an_unreadable_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Cannot read the config file"):
        load_settings({"XLWINGS_METER_CONFIG": str(tmp_path)})  # a folder, not a file


@pytest.mark.parametrize("url", ["https://api.aigen.online:99999/aiscript/water-meter/v2",
                                 "https://exa mple.com/x", "http://127.0.0.1:abc/x"])
def test_an_address_that_cannot_be_used_is_refused_before_any_photo(url: str) -> None:
    from xlwings_meter.engines.aigen.config import check_url

    with pytest.raises(ConfigError, match="is not a valid address"):
        check_url(url)


def test_a_password_in_an_address_without_a_scheme_is_never_shown() -> None:
    from xlwings_meter.engines.aigen.config import check_url

    with pytest.raises(ConfigError) as refused:
        check_url("meter:Pa55w0rd@gw.example.com/ocr?sig=abc")
    assert "Pa55w0rd" not in str(refused.value) and "abc" not in str(refused.value)
