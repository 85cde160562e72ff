"""observatory.http against a scripted local server (retries, cache, offline, rate limit)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from observatory import http, http_cache, http_transport
from observatory.errors import NetworkError, OfflineError
from observatory.settings import REPO_ROOT, get_settings
from tests.local_server import Reply

JSON_BODY = json.dumps({"results": [{"siren": "800329849"}], "total_results": 1}).encode()


def _json_reply(req):
    return Reply(200, JSON_BODY, {"Content-Type": "application/json"})


def test_import_has_no_side_effect(tmp_path):
    code = ("import observatory.http, observatory.http_transport as t, observatory.catalog as c; "
            "assert t._session is None; assert not c._cache; print('ok')")
    env = {"OBSERVATOIRE_DATA_DIR": str(tmp_path / "d"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
    assert not (tmp_path / "d").exists()


def test_good_json_sends_user_agent(core_env, server, sleeps, monkeypatch):
    monkeypatch.setenv("OBSERVATOIRE_USER_AGENT", "test-agent/1.0 (contact)")
    url = server.route("/search", _json_reply)
    data = http.get_json(url, params={"q": "asso", "per_page": 25})
    assert data["results"][0]["siren"] == "800329849"
    req = server.requests[0]
    assert req.headers["user-agent"] == "test-agent/1.0 (contact)"
    assert req.query == {"q": "asso", "per_page": "25"}
    assert sleeps == []


def test_429_honours_retry_after_seconds(core_env, server, sleeps):
    url = server.route("/search", lambda req: Reply(429, b"slow down", {"Retry-After": "2"})
                       if req.n == 1 else _json_reply(req))
    assert http.get_json(url)["total_results"] == 1
    assert server.hits["/search"] == 2
    assert sleeps == [2.0]


def test_retry_after_http_date():
    now = datetime(2026, 11, 23, 3, 0, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=7), usegmt=True)
    assert http_transport.retry_after_seconds(header, now=now) == pytest.approx(7.0)
    assert http_transport.retry_after_seconds("3", now=now) == 3.0
    past = format_datetime(now - timedelta(seconds=9), usegmt=True)
    assert http_transport.retry_after_seconds(past, now=now) == 0.0
    assert http_transport.retry_after_seconds("soon") is None
    assert http_transport.retry_after_seconds(None) is None


def test_429_with_http_date_retry_after(core_env, server, sleeps):
    def route(req):
        if req.n == 1:
            when = datetime.now(UTC) + timedelta(seconds=30)
            return Reply(429, b"", {"Retry-After": format_datetime(when, usegmt=True)})
        return _json_reply(req)

    url = server.route("/search", route)
    assert http.get_json(url)["total_results"] == 1
    assert len(sleeps) == 1 and 25 <= sleeps[0] <= 30


def test_500_twice_then_ok_with_backoff(core_env, server, sleeps):
    url = server.route("/s", lambda req: Reply(500, b"boom") if req.n <= 2 else _json_reply(req))
    assert http.get_json(url)["total_results"] == 1
    assert server.hits["/s"] == 3
    assert len(sleeps) == 2
    # attempt k waits in [base*2^(k-1)/2, base*2^(k-1)] (equal jitter)
    assert 0.25 <= sleeps[0] <= 0.5
    assert 0.5 <= sleeps[1] <= 1.0


def test_backoff_is_capped():
    delays = [http_transport.backoff_delay(k) for k in range(1, 20)]
    assert max(delays) <= http_transport.BACKOFF_CAP
    assert delays[-1] >= http_transport.BACKOFF_CAP / 2


def test_always_500_gives_up(core_env, server, sleeps):
    url = server.route("/down", lambda req: Reply(503, b"maintenance"))
    with pytest.raises(NetworkError) as info:
        http.get(url)
    assert server.hits["/down"] == 4  # 1 + OBSERVATOIRE_MAX_RETRIES=3
    assert info.value.status == 503 and info.value.attempts == 4
    assert url in str(info.value) and "HTTP 503" in str(info.value)
    assert "How to fix" in str(info.value)
    assert len(sleeps) == 3


def test_retries_per_call(core_env, server, sleeps):
    url = server.route("/probe", lambda req: Reply(503, b"down"))
    with pytest.raises(NetworkError):
        http.get(url, retries=0)
    assert server.hits["/probe"] == 1 and sleeps == []


def test_404_is_not_retried_nor_cached(core_env, server, sleeps):
    url = server.route("/missing", lambda req: Reply(404, b"no such thing"))
    for expected_hits in (1, 2):
        with pytest.raises(NetworkError) as info:
            http.get(url)
        assert server.hits["/missing"] == expected_hits
    assert info.value.status == 404 and "no such thing" in str(info.value)
    assert sleeps == []


def test_slow_answer_times_out_then_retries(core_env, server, sleeps, monkeypatch):
    monkeypatch.setenv("OBSERVATOIRE_TIMEOUT", "0.3")
    url = server.route("/slow", lambda req: Reply(200, JSON_BODY, delay=1.5 if req.n == 1 else 0))
    assert http.get_json(url)["total_results"] == 1
    assert server.hits["/slow"] == 2
    assert len(sleeps) == 1


def test_connection_refused_gives_network_error(core_env, sleeps, monkeypatch):
    monkeypatch.setenv("OBSERVATOIRE_MAX_RETRIES", "1")
    with pytest.raises(NetworkError) as info:
        http.get("http://127.0.0.1:9/nothing")  # discard port: nothing listens
    assert info.value.status is None and info.value.attempts == 2
    assert "127.0.0.1:9/nothing" in str(info.value)


def test_cache_hit_does_not_touch_server(core_env, server, sleeps, caplog):
    url = server.route("/communes", _json_reply)
    first = http.get(url, params={"code": "21231"})
    assert first.from_cache is False
    with caplog.at_level("DEBUG", logger="observatory.http_cache"):
        second = http.get(url, params={"code": "21231"})
    assert second.from_cache is True and second.json() == first.json()
    assert second.status_code == 200 and second.headers["Content-Type"] == "application/json"
    assert server.hits["/communes"] == 1
    assert any("cache hit" in rec.message for rec in caplog.records)
    http.get(url, params={"code": "21000"})  # other params: other key
    assert server.hits["/communes"] == 2
    http.get(url, params={"code": "21231"}, use_cache=False)
    assert server.hits["/communes"] == 3
    meta = list(get_settings().cache_dir.rglob("*.json"))
    assert len(meta) == 2
    assert json.loads(meta[0].read_text())["status"] == 200


def test_post_multipart_cache_keyed_by_body(core_env, server, sleeps):
    url = server.route("/search/csv", lambda req: Reply(200, b"id,result_status\n1,ok\n",
                                                        {"Content-Type": "text/csv"}))
    csv_a = b"id,adresse\n1,2 rue de la Liberte Dijon\n"
    form = {"columns": ["adresse"]}
    r1 = http.post(url, files={"data": ("a.csv", csv_a, "text/csv")}, data=form)
    assert r1.text.startswith("id,result_status")
    assert csv_a in server.requests[0].body
    assert b"multipart/form-data" not in server.requests[0].body
    assert server.requests[0].headers["content-type"].startswith("multipart/form-data")
    # same file given as a file object: same key, served from the cache
    r2 = http.post(url, files={"data": ("a.csv", io.BytesIO(csv_a), "text/csv")}, data=form)
    assert r2.from_cache is True and server.hits["/search/csv"] == 1
    http.post(url, files={"data": ("a.csv", csv_a + b"2,1 place Darcy Dijon\n", "text/csv")},
              data=form)
    assert server.hits["/search/csv"] == 2
    http.post(url, files={"data": ("a.csv", csv_a, "text/csv")}, data={"columns": ["x"]})
    assert server.hits["/search/csv"] == 3


def test_cache_key_rules():
    key = http_cache.cache_key
    base = key("GET", "http://h/x", params={"a": 1, "b": 2})
    assert base == key("get", "http://h/x", params=[("b", 2), ("a", 1)])
    assert base != key("POST", "http://h/x", params={"a": 1, "b": 2})
    assert base != key("GET", "http://h/x", params={"a": 1, "b": 3})
    assert base == key("GET", "http://h/x", params={"a": 1, "b": 2},
                       headers={"User-Agent": "other"})
    assert base != key("GET", "http://h/x", params={"a": 1, "b": 2},
                       headers={"Accept": "application/json"})
    # repeated keys keep their order (the geocoder concatenates `columns` in that order)
    assert key("POST", "http://h/x", data=[("columns", "adresse"), ("columns", "ville")]) != \
        key("POST", "http://h/x", data=[("columns", "ville"), ("columns", "adresse")])
    assert key("POST", "http://h/x", data=[("a", "1"), ("b", "2")]) == \
        key("POST", "http://h/x", data={"b": "2", "a": "1"})
    files = http_cache.freeze_files({"data": ("f.csv", b"x")})
    other = http_cache.freeze_files({"data": ("f.csv", b"y")})
    assert key("POST", "http://h/x", files=files) != key("POST", "http://h/x", files=other)
    assert key("POST", "http://h/x", json_body={"a": 1}) != key("POST", "http://h/x",
                                                               json_body={"a": 2})


def test_offline_serves_cache_and_never_touches_server(core_env, server, sleeps, monkeypatch):
    cached_url = server.route("/cached", _json_reply)
    http.get(cached_url)
    assert server.hits["/cached"] == 1
    monkeypatch.setenv("OBSERVATOIRE_OFFLINE", "1")
    assert http.get_json(cached_url)["total_results"] == 1
    assert http.get(cached_url, use_cache=False).from_cache is True
    other = server.route("/other", _json_reply)
    with pytest.raises(OfflineError) as info:
        http.get(other, params={"q": "x"})
    message = str(info.value)
    assert "GET " + other + "?q=x" in message
    assert "OBSERVATOIRE_OFFLINE" in message and "online" in message
    with pytest.raises(OfflineError):
        http.post(other, data={"a": "b"})
    assert server.hits["/other"] == 0 and server.hits["/cached"] == 1


def test_offline_error_is_a_network_error():
    assert issubclass(OfflineError, NetworkError)
    assert issubclass(NetworkError, ConnectionError)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_rate_limiter_spacing_with_fake_clock():
    fake = FakeClock()
    limiter = http_transport.RateLimiter(clock=fake.clock, sleep=fake.sleep)
    starts = []
    for _ in range(8):
        limiter.wait("recherche-entreprises.api.gouv.fr", 7)
        starts.append(fake.now)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert gaps == pytest.approx([1 / 7] * 7)
    # another host has its own bucket: no wait
    before = len(fake.sleeps)
    assert limiter.wait("data.geopf.fr/geocodage", 50) == 0
    assert len(fake.sleeps) == before
    # time passing frees the slot
    fake.now += 10
    assert limiter.wait("recherche-entreprises.api.gouv.fr", 7) == 0
    assert limiter.wait("x", 0) == 0  # rate 0 = unlimited


def test_rates_come_from_catalog(core_env, tmp_path, monkeypatch):
    assert http_transport.rate_for("https://recherche-entreprises.api.gouv.fr/search?q=a") == (
        "recherche-entreprises.api.gouv.fr", 7.0)
    assert http_transport.rate_for("https://data.geopf.fr/geocodage/search/csv")[1] == 50.0
    assert http_transport.rate_for("https://data.geopf.fr/wmts?x=1")[1] == 10.0  # not the geocoder
    assert http_transport.rate_for("https://example.org/a") == ("example.org", 10.0)
    overlay = tmp_path / "rates.yaml"
    overlay.write_text("rate_limits:\n  default: 3\n  example.org: 1\n", encoding="utf-8")
    monkeypatch.setenv("OBSERVATOIRE_CATALOG", str(overlay))
    assert http_transport.rate_for("https://example.org/a") == ("example.org", 1.0)
    assert http_transport.rate_for("https://other.example/a")[1] == 3.0


def test_requests_are_spaced_by_the_limiter(core_env, server, sleeps, monkeypatch, tmp_path):
    overlay = tmp_path / "rates.yaml"
    overlay.write_text("rate_limits:\n  127.0.0.1: 4\n", encoding="utf-8")
    monkeypatch.setenv("OBSERVATOIRE_CATALOG", str(overlay))
    fake = FakeClock()
    monkeypatch.setattr(http_transport, "clock", fake.clock)
    monkeypatch.setattr(http_transport, "sleep", fake.sleep)
    http.reset_session()
    url = server.route("/r", _json_reply)
    for i in range(4):
        http.get(url, params={"i": i}, use_cache=False)
    assert server.hits["/r"] == 4
    assert fake.sleeps == pytest.approx([0.25, 0.25, 0.25])


def test_max_age_refreshes_old_answers(core_env, server, sleeps, monkeypatch):
    url = server.route("/fresh", _json_reply)
    http.get(url)
    assert http.get(url, max_age=3600).from_cache is True
    meta = next(get_settings().cache_dir.rglob("*.json"))
    data = json.loads(meta.read_text())
    data["stored_at"] = "2020-01-01T00:00:00+00:00"
    meta.write_text(json.dumps(data))
    assert http.get(url).from_cache is True  # no limit by default
    assert http.get(url, max_age=3600).from_cache is False
    assert server.hits["/fresh"] == 2
    data["stored_at"] = "2020-01-01T00:00:00+00:00"
    meta.write_text(json.dumps(data))
    monkeypatch.setenv("OBSERVATOIRE_OFFLINE", "1")
    stale = http.get(url, max_age=3600)  # offline: stale beats nothing
    assert stale.from_cache is True and stale.cache_age > 3600
    assert server.hits["/fresh"] == 2
