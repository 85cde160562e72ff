"""observatory.settings (environment overrides, bad values) and observatory.errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from observatory import errors
from observatory.errors import ConfigurationError, explain
from observatory.settings import REPO_ROOT, get_settings

ENV = ("OBSERVATOIRE_DATA_DIR", "OBSERVATOIRE_CACHE_DIR", "OBSERVATOIRE_REFERENCE_DIR",
       "OBSERVATOIRE_OFFLINE", "OBSERVATOIRE_USER_AGENT", "OBSERVATOIRE_TIMEOUT",
       "OBSERVATOIRE_CONNECT_TIMEOUT", "OBSERVATOIRE_MAX_RETRIES", "OBSERVATOIRE_CATALOG")


@pytest.fixture
def clean_env(monkeypatch):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults(clean_env):
    s = get_settings()
    assert s.data_dir == (REPO_ROOT / "data").resolve()
    assert s.cache_dir == s.data_dir / "cache" / "http"
    assert s.reference_dir == s.data_dir / "reference"
    assert s.offline is False and s.catalog_override is None
    assert (s.connect_timeout, s.read_timeout, s.max_retries) == (10.0, 60.0, 5)
    assert s.user_agent.startswith("observatoire-ess/")
    assert s.snapshots_dir == s.data_dir / "snapshots"
    assert s.downloads_dir == s.data_dir / "downloads"
    assert s.packages_dir == s.data_dir / "packages"
    assert s.demo_dir == s.data_dir / "demo"
    assert s.static_dir == REPO_ROOT / "static"


def test_environment_overrides_read_at_each_call(clean_env, tmp_path):
    clean_env.setenv("OBSERVATOIRE_DATA_DIR", str(tmp_path / "d"))
    assert get_settings().cache_dir == (tmp_path / "d" / "cache" / "http").resolve()
    clean_env.setenv("OBSERVATOIRE_CACHE_DIR", str(tmp_path / "c"))
    clean_env.setenv("OBSERVATOIRE_REFERENCE_DIR", str(tmp_path / "r"))
    clean_env.setenv("OBSERVATOIRE_USER_AGENT", "agent/2")
    clean_env.setenv("OBSERVATOIRE_TIMEOUT", "12.5")
    clean_env.setenv("OBSERVATOIRE_CONNECT_TIMEOUT", "3")
    clean_env.setenv("OBSERVATOIRE_MAX_RETRIES", "0")
    clean_env.setenv("OBSERVATOIRE_CATALOG", str(tmp_path / "cat.yaml"))
    s = get_settings()
    assert s.data_dir == (tmp_path / "d").resolve()
    assert s.cache_dir == (tmp_path / "c").resolve()
    assert s.reference_dir == (tmp_path / "r").resolve()
    assert s.user_agent == "agent/2"
    assert (s.read_timeout, s.connect_timeout, s.max_retries) == (12.5, 3.0, 0)
    assert s.catalog_override == (tmp_path / "cat.yaml").resolve()
    assert isinstance(s.data_dir, Path) and s.data_dir.is_absolute()


@pytest.mark.parametrize(("value", "expected"), [
    ("1", True), ("true", True), ("YES", True), ("oui", True),
    ("0", False), ("false", False), ("non", False), ("", False)])
def test_offline_flag(clean_env, value, expected):
    clean_env.setenv("OBSERVATOIRE_OFFLINE", value)
    assert get_settings().offline is expected


@pytest.mark.parametrize(("name", "value"), [
    ("OBSERVATOIRE_OFFLINE", "maybe"),
    ("OBSERVATOIRE_TIMEOUT", "abc"),
    ("OBSERVATOIRE_TIMEOUT", "-1"),
    ("OBSERVATOIRE_TIMEOUT", "0"),
    ("OBSERVATOIRE_CONNECT_TIMEOUT", "ten"),
    ("OBSERVATOIRE_MAX_RETRIES", "2.5"),
    ("OBSERVATOIRE_MAX_RETRIES", "-3"),
    # not finite: a request would never time out (probe of issue 14)
    ("OBSERVATOIRE_TIMEOUT", "inf"),
    ("OBSERVATOIRE_TIMEOUT", "Infinity"),
    ("OBSERVATOIRE_TIMEOUT", "1e999"),
    ("OBSERVATOIRE_TIMEOUT", "nan"),
    ("OBSERVATOIRE_TIMEOUT", "1e12"),  # finite but past what a socket timeout can hold
    ("OBSERVATOIRE_CONNECT_TIMEOUT", "inf"),
    ("OBSERVATOIRE_CONNECT_TIMEOUT", "NaN"),
    ("OBSERVATOIRE_MAX_RETRIES", "inf"),
    ("OBSERVATOIRE_MAX_RETRIES", "nan"),
])
def test_bad_values_raise_configuration_error(clean_env, name, value):
    clean_env.setenv(name, value)
    with pytest.raises(ConfigurationError) as info:
        get_settings()
    message = str(info.value)
    assert name in message and value in message and "How to fix" in message
    assert isinstance(info.value, ValueError)


def test_explain_parts_and_offenders():
    msg = explain("Bad code '123'.", "A commune code has 5 characters.", "Pad it.")
    assert msg == "Bad code '123'. A commune code has 5 characters. How to fix: Pad it."
    many = explain("Duplicated codes.", "Codes are unique.", "Drop them.",
                   offenders=[f"{i:05d}" for i in range(25)], limit=3)
    assert many.endswith("Offenders (25): '00000', '00001', '00002' (and 22 more).")
    assert explain("a", "b", "c", offenders=[]).endswith("Offenders (0): .")


def test_error_hierarchy_and_attributes():
    assert issubclass(errors.ConfigurationError, ValueError)
    assert issubclass(errors.SourceNotFoundError, KeyError)
    assert issubclass(errors.OfflineError, errors.NetworkError)
    assert issubclass(errors.DownloadError, errors.NetworkError)
    assert issubclass(errors.NetworkError, ConnectionError)
    assert issubclass(errors.CRSMismatchError, errors.DataValidationError)
    assert issubclass(errors.ReferenceNotBuiltError, FileNotFoundError)
    assert str(errors.SourceNotFoundError("plain message")) == "plain message"
    exc = errors.DataValidationError("bad", offenders=("a", "b"))
    assert exc.offenders == ["a", "b"] and errors.DataValidationError("x").offenders == []
    net = errors.DownloadError("failed", url="http://x/f", status=503, attempts=4)
    assert (net.url, net.status, net.attempts, str(net)) == ("http://x/f", 503, 4, "failed")
    assert errors.NetworkError("plain").status is None
    assert set(errors.__all__) >= {"explain", "NetworkError", "OfflineError", "DownloadError"}
