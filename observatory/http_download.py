"""Resumable, verified file downloads; the body of :func:`observatory.http.download`.

Connections are opened only through :mod:`observatory.http_transport` (the session, rate
limiter and retries of :mod:`observatory.http`); this module adds the streaming to
``<dest>.part``, the ``Range`` resume, the progress bar, the size/sha256 checks and the
atomic rename.

When is a transfer complete?  When the bytes match the pinned ``sha256``/``size``, or the
size the server announced (``Content-Length``, ``Content-Range``), or the chunked encoding
ended with its last chunk.  A body with none of these ends when the server closes the
connection, so a cut looks exactly like the end: such a transfer is confirmed by asking
the server for the bytes after it (``Range: bytes=<n>-``).  A 416 answer confirms the end,
a 206 gives the rest; a server that ignores ``Range`` cannot confirm, and the download
fails (nothing is kept) with the advice to pin the file's sha256 and size in the catalog.
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

from observatory import http_transport
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


_COMPLETE = object()  # the server has no byte after the .part: it is whole
_RESTART = object()  # the .part was dropped: start the transfer again


def _framed(response) -> bool:
    """Whether the body's end is known from the protocol (length or chunked encoding)."""
    return bool(response.headers.get("Content-Length")) or \
        "chunked" in response.headers.get("Transfer-Encoding", "").lower()


def download_file(url: str, dest: Path, *, sha256: str | None = None, size: int | None = None,
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
        size/sha256 mismatch, or an end that nothing can confirm (nothing is kept).
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
    transfer = _Transfer(url, part, meta_path, validators, sha256=sha256, size=size,
                         desc=dest.name, progress=progress, headers=headers)
    expected = transfer.run(settings.max_retries)
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


class _Transfer:
    """The resumable transfer of one URL into its ``.part`` file (see the module docstring)."""

    def __init__(self, url: str, part: Path, meta_path: Path, validators: dict, *,
                 sha256: str | None, size: int | None, desc: str, progress: bool,
                 headers: dict | None) -> None:
        self.url, self.part, self.meta_path, self.validators = url, part, meta_path, validators
        self.sha256, self.size, self.desc, self.progress = sha256, size, desc, progress
        self.headers = headers
        self.expected = size  # bytes the whole file has, once known
        self.confirming = False  # asking whether an unframed body really ended

    def _offset(self) -> int:
        offset = self.part.stat().st_size if self.part.exists() else 0
        if self.size is not None and offset > int(self.size):
            self.part.unlink()
            offset = 0
        return offset

    def _open(self, offset: int):
        """The answer for the bytes from ``offset``, or :data:`_COMPLETE` when the server
        has none left, or :data:`_RESTART` when the ``.part`` was dropped."""
        extra = {"Accept-Encoding": "identity", **(self.headers or {})}
        if offset:
            extra["Range"] = f"bytes={offset}-"
            if self.validators.get("validator"):  # the server sends it all again if it changed
                extra["If-Range"] = self.validators["validator"]
        try:
            return http_transport.send("GET", self.url,
                                       headers=http_transport.request_headers(extra),
                                       timeout=http_transport.timeouts(), stream=True)
        except NetworkError as exc:
            if exc.status == 416 and offset:  # nothing left to send: the .part may be whole
                if self.size is None or offset == int(self.size):
                    return _COMPLETE
                self.part.unlink()
                return _RESTART
            detail = str(exc).split(" How to fix:")[0]
            raise DownloadError(explain(
                f"Download failed: {detail}",
                f"{offset} bytes are kept in {self.part}." if offset else "Nothing was received.",
                "Check the network and the URL, then run the same command again: the download "
                "resumes where it stopped.",
            ), url=self.url, status=exc.status, attempts=exc.attempts) from exc

    def run(self, max_retries: int) -> int | None:
        """Transfer until complete; return the expected size (None when unknown)."""
        failures = 0
        while True:
            offset = self._offset()
            response = self._open(offset)
            if response is _COMPLETE:
                return self.expected
            if response is _RESTART:
                continue
            with response:
                outcome = self._receive(response, offset)
            if outcome is _RESTART:
                continue
            cut, received = outcome
            if not cut:
                return self.expected
            failures = 0 if received else failures + 1
            if failures > max_retries:
                raise DownloadError(explain(
                    f"Download of {self.url} was cut {failures} times in a row.",
                    f"{self._offset()} bytes are kept in {self.part}.",
                    "Run the same command again: the download resumes where it stopped.",
                ), url=self.url, attempts=failures)
            if self.confirming:
                continue  # no wait: the transfer ended, we only ask whether it was whole
            delay = http_transport.backoff_delay(max(failures, 1))
            log.warning("%s: resuming in %.1f s", self.url, delay)
            http_transport.sleep(delay)

    def _receive(self, response, offset: int):
        """Stream one answer into the ``.part``: ``(cut, bytes received)`` or :data:`_RESTART`."""
        confirming, self.confirming = self.confirming, False
        mode = "wb"
        if offset and response.status_code == 206:
            start, _ = _range_start(response.headers.get("Content-Range"))
            if start != offset:
                log.warning("%s: unexpected Content-Range %r, restarting", self.url,
                            response.headers.get("Content-Range"))
                self.part.unlink()
                return _RESTART
            mode = "ab"
            log.info("Resuming %s at byte %d", self.url, offset)
        elif offset:
            if confirming:
                self._unconfirmable(offset)
            log.info("%s: the server ignored Range, restarting from zero", self.url)
            offset = 0
        if mode == "wb":
            self.validators = _save_validators(self.meta_path, self.url, response)
        total = _expected_total(response, offset)
        if self.size is not None and total is not None and total != int(self.size):
            self.part.unlink(missing_ok=True)
            raise DownloadError(explain(
                f"{self.url} announces {total} bytes, the catalog expects {int(self.size)}.",
                "The file changed on the server, or the URL points at another file.",
                "Check the source in observatory/sources.yaml (size, sha256, vintage).",
            ), url=self.url, status=response.status_code)
        self.expected = self.expected if self.expected is not None else total
        received = 0
        try:
            received = _stream(response, self.part, mode, offset, total, self.desc,
                               self.progress)
        except http_transport.RETRY_EXCEPTIONS as exc:
            log.warning("%s: transfer cut (%s)", self.url, type(exc).__name__)
            return True, received
        if total is not None:
            return self.part.stat().st_size < total, received
        # Unframed body: its end is the connection's close, which a cut looks like too.
        self.confirming = not _framed(response) and self.expected is None and \
            self.sha256 is None and received > 0
        return self.confirming, received

    def _unconfirmable(self, offset: int) -> None:
        self.part.unlink(missing_ok=True)
        self.meta_path.unlink(missing_ok=True)
        raise DownloadError(explain(
            f"{self.url} sent {offset} bytes without Content-Length or chunked encoding, and "
            "ignores Range requests, so the end of the transfer cannot be confirmed.",
            "Without a known size or a pinned sha256, a transfer cut short looks exactly "
            "like a whole file: it is not called complete, and nothing was kept.",
            "Pin the file's sha256 and size in observatory/sources.yaml (or your "
            "OBSERVATOIRE_CATALOG overlay) so that the file can be checked, then run again.",
        ), url=self.url)
