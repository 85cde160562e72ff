"""Resumable, verified file downloads; the body of :func:`observatory.http.download`.

Connections are opened only through :mod:`observatory.http` (its session, rate
limiter and retries); this module adds the streaming to ``<dest>.part``, the
``Range`` resume, the progress bar, the size/sha256 checks and the atomic rename.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sys
from pathlib import Path

import requests
import urllib3
from tqdm import tqdm

from observatory import http
from observatory.errors import DownloadError, NetworkError, OfflineError, explain
from observatory.settings import get_settings

__all__ = ["CHUNK_SIZE", "check_file", "download_file", "file_sha256", "part_path"]

log = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 20


def part_path(dest: Path) -> Path:
    """Where the bytes of ``dest`` accumulate until verified: ``<dest>.part``."""
    return dest.with_suffix(dest.suffix + ".part") if dest.suffix else dest.with_name(
        dest.name + ".part")


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read by chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK_SIZE), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_file(path: Path, sha256: str | None = None, size: int | None = None) -> str | None:
    """Why ``path`` does not match the expected size/sha256, or ``None`` when it does."""
    actual = path.stat().st_size
    if size is not None and actual != int(size):
        return f"size {actual} bytes, expected {int(size)}"
    if sha256 is not None:
        got = file_sha256(path)
        if got.lower() != sha256.lower():
            return f"sha256 {got}, expected {sha256.lower()}"
    return None


def _range_start(content_range: str | None) -> tuple[int | None, int | None]:
    """(first byte, total size) of a ``Content-Range: bytes a-b/total`` header."""
    match = re.match(r"\s*bytes\s+(\d+)-\d+/(\d+|\*)", content_range or "")
    if not match:
        return None, None
    total = match.group(2)
    return int(match.group(1)), (int(total) if total != "*" else None)


def _expected_total(response, offset: int) -> int | None:
    if response.status_code == 206:
        return _range_start(response.headers.get("Content-Range"))[1]
    length = response.headers.get("Content-Length")
    if length and length.isdigit() and not response.headers.get("Content-Encoding"):
        return int(length)
    return None


def _load_validators(meta_path: Path, url: str) -> dict | None:
    """Validators of the ``.part`` being resumed; None when it belongs to another URL."""
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}  # a .part of unknown origin: resumed, then checked like any other
    return meta if meta.get("url") == url else None


def _save_validators(meta_path: Path, url: str, response) -> dict:
    """Remember URL and ETag/Last-Modified of a fresh transfer, for ``If-Range`` later."""
    etag = response.headers.get("ETag")
    validator = etag if etag and not etag.startswith("W/") else \
        response.headers.get("Last-Modified")
    meta = {"url": url, "validator": validator}
    meta_path.write_text(json.dumps(meta), encoding="utf-8")
    return meta


def _stream(response, part: Path, mode: str, offset: int, total: int | None, desc: str,
            progress: bool) -> int:
    """Append the body to ``part``; return bytes received (exceptions propagate)."""
    received = 0
    disable = not progress or not sys.stderr.isatty()
    with open(part, mode) as fh, tqdm(total=total, initial=offset, unit="B", unit_scale=True,
                                      unit_divisor=1024, desc=desc, disable=disable,
                                      leave=False) as bar:
        for chunk in _chunks(response):
            if chunk:
                fh.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    return received


def _chunks(response):
    """Body chunks; raw reads keep the bytes received before a cut (iter_content drops them)."""
    if response.headers.get("Content-Encoding", "identity").lower() != "identity":
        yield from response.iter_content(CHUNK_SIZE)
        return
    while True:
        try:
            chunk = response.raw.read(CHUNK_SIZE, decode_content=False)
        except (urllib3.exceptions.HTTPError, OSError) as exc:  # as iter_content would
            raise requests.exceptions.ChunkedEncodingError(exc) from exc
        if not chunk:
            return
        yield chunk


def download_file(url: str, dest: Path, *, sha256: str | None = None, size: int | None = None,  # noqa: C901 (split with the HTTP deadline work, issue 14)
                  progress: bool = True, resume: bool = True, overwrite: bool = False,
                  headers: dict | None = None) -> Path:
    """Download ``url`` to ``dest``; see :func:`observatory.http.download`.

    An existing ``dest`` that matches ``sha256``/``size`` (or any existing ``dest`` when
    neither is known and ``overwrite`` is False) is kept without any request.

    Raises
    ------
    OfflineError
        Offline mode and no verified ``dest``.
    DownloadError
        Transfer failed after the retries (the ``.part`` is kept for a later resume),
        or size/sha256 mismatch (nothing corrupt is kept).
    """
    settings = get_settings()
    dest = Path(dest)
    part = part_path(dest)
    if dest.exists() and not overwrite:
        problem = check_file(dest, sha256, size)
        if problem is None:
            log.info("%s already downloaded and verified", dest)
            return dest
        log.warning("%s does not match (%s): downloading it again", dest, problem)
    if settings.offline:
        raise OfflineError(explain(
            f"Offline mode: cannot download GET {url} to {dest}.",
            "OBSERVATOIRE_OFFLINE is set and no verified copy of the file is present.",
            "Unset OBSERVATOIRE_OFFLINE and run again (or copy the file there yourself).",
        ), url=url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    meta_path = part.with_name(part.name + ".json")
    validators = _load_validators(meta_path, url)
    if not resume or validators is None:
        part.unlink(missing_ok=True)
        validators = {}
    failures = 0
    expected = size
    while True:
        offset = part.stat().st_size if part.exists() else 0
        if size is not None and offset > int(size):
            part.unlink()
            offset = 0
        extra = {"Accept-Encoding": "identity", **(headers or {})}
        if offset:
            extra["Range"] = f"bytes={offset}-"
            if validators.get("validator"):  # the server sends it all again if it changed
                extra["If-Range"] = validators["validator"]
        try:
            response = http._send("GET", url, headers=http._headers(extra),
                                  timeout=http._timeout(None), stream=True)
        except NetworkError as exc:
            if exc.status == 416 and offset:  # nothing left to send: the .part may be whole
                if size is None or offset == int(size):
                    break
                part.unlink()
                continue
            detail = str(exc).split(" How to fix:")[0]
            raise DownloadError(explain(
                f"Download failed: {detail}",
                f"{offset} bytes are kept in {part}." if offset else "Nothing was received.",
                "Check the network and the URL, then run the same command again: the download "
                "resumes where it stopped.",
            ), url=url, status=exc.status, attempts=exc.attempts) from exc
        with response:
            mode = "wb"
            if offset and response.status_code == 206:
                start, _ = _range_start(response.headers.get("Content-Range"))
                if start != offset:
                    log.warning("%s: unexpected Content-Range %r, restarting", url,
                                response.headers.get("Content-Range"))
                    part.unlink()
                    continue
                mode = "ab"
                log.info("Resuming %s at byte %d", url, offset)
            elif offset:
                log.info("%s: the server ignored Range, restarting from zero", url)
                offset = 0
            if mode == "wb":
                validators = _save_validators(meta_path, url, response)
            total = _expected_total(response, offset)
            if size is not None and total is not None and total != int(size):
                part.unlink(missing_ok=True)
                raise DownloadError(explain(
                    f"{url} announces {total} bytes, the catalog expects {int(size)}.",
                    "The file changed on the server, or the URL points at another file.",
                    "Check the source in observatory/sources.yaml (size, sha256, vintage).",
                ), url=url, status=response.status_code)
            expected = expected if expected is not None else total
            received = 0
            try:
                received = _stream(response, part, mode, offset, total, dest.name, progress)
                cut = total is not None and part.stat().st_size < total
            except http.RETRY_EXCEPTIONS as exc:
                log.warning("%s: transfer cut (%s)", url, type(exc).__name__)
                cut = True
        if not cut:
            break
        failures = 0 if received else failures + 1
        if failures > settings.max_retries:
            raise DownloadError(explain(
                f"Download of {url} was cut {failures} times in a row.",
                f"{part.stat().st_size if part.exists() else 0} bytes are kept in {part}.",
                "Run the same command again: the download resumes where it stopped.",
            ), url=url, attempts=failures)
        delay = http.backoff_delay(max(failures, 1))
        log.warning("%s: resuming in %.1f s", url, delay)
        http._sleep(delay)
    problem = check_file(part, sha256, expected)
    meta_path.unlink(missing_ok=True)
    if problem is not None:
        part.unlink(missing_ok=True)
        raise DownloadError(explain(
            f"Downloaded {url} does not match: {problem}.",
            "The file is corrupt or differs from the one the catalog pins; it was deleted.",
            "Run again; if it persists, check sha256/size of the source in "
            "observatory/sources.yaml against the producer's page.",
        ), url=url)
    part.replace(dest)
    log.info("Downloaded %s -> %s (%d bytes)", url, dest, dest.stat().st_size)
    return dest
