"""On-disk cache of successful HTTP answers, used by :mod:`observatory.http`.

A request is identified by the sha256 of its method, URL, sorted query parameters,
content-affecting headers and a hash of its body (form fields, JSON, raw bytes and
multipart files: name, file name, content type and content).  Only 2xx answers are
stored, as two files under ``<cache_dir>/<key[:2]>/``: ``<key>.body`` (raw bytes) and
``<key>.json`` (status, headers, final URL, date, request summary).  Writes are atomic.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from requests.structures import CaseInsensitiveDict

__all__ = ["body_digest", "cache_key", "freeze_files", "load", "store"]

log = logging.getLogger(__name__)

# Headers that never change the content of the answer, left out of the key.
_IGNORED_HEADERS = frozenset({"user-agent", "accept-encoding", "connection", "authorization"})
# Headers describing the transfer, not the (already decoded) body that is stored.
_DECODED_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def _pairs(values: Mapping[str, Any] | Iterable[tuple[str, Any]] | None) -> list[list[str]]:
    """``[key, value]`` pairs of a mapping or list of pairs (lists expand), sorted by key."""
    if values is None:
        return []
    items = values.items() if isinstance(values, Mapping) else values
    out: list[list[str]] = []
    for key, value in items:
        seq = value if isinstance(value, list | tuple) else [value]
        out.extend([str(key), "" if v is None else str(v)] for v in seq)
    # sorted by key only: the order of repeated keys (e.g. the geocoder's `columns`) matters
    return sorted(out, key=lambda kv: kv[0])


def _read_content(content: Any) -> bytes:
    """Bytes of a multipart file value (bytes, str or a file object, rewound)."""
    if isinstance(content, bytes):
        return content
    if isinstance(content, str):
        return content.encode("utf-8")
    data = content.read()
    return data.encode("utf-8") if isinstance(data, str) else data


def freeze_files(files: Any) -> list[tuple[str, tuple]] | None:
    """Normalise a ``requests`` ``files=`` argument to ``[(field, (name, bytes, type))]``.

    File objects are read once, so that the same bytes are hashed for the cache key
    and sent (possibly several times, on retries).
    """
    if files is None:
        return None
    items = files.items() if isinstance(files, Mapping) else files
    frozen: list[tuple[str, tuple]] = []
    for field, value in items:
        if isinstance(value, tuple | list):
            name = value[0]
            content = _read_content(value[1])
            ctype = value[2] if len(value) > 2 else None
        else:
            name = Path(getattr(value, "name", field)).name if hasattr(value, "read") else field
            content = _read_content(value)
            ctype = None
        frozen.append((str(field), (name, content, ctype)))
    return frozen


def body_digest(data: Any = None, json_body: Any = None, files: list | None = None) -> str:
    """sha256 of a request body given as form data, JSON, bytes and/or frozen files."""
    digest = hashlib.sha256()
    if isinstance(data, bytes):
        digest.update(b"bytes:" + data)
    elif isinstance(data, str):
        digest.update(b"str:" + data.encode("utf-8"))
    elif data is not None:
        digest.update(b"form:" + json.dumps(_pairs(data)).encode("utf-8"))
    if json_body is not None:
        digest.update(b"json:" + json.dumps(json_body, sort_keys=True, default=str).encode())
    for field, (name, content, ctype) in files or []:
        digest.update(f"file:{field}:{name}:{ctype}:{len(content)}:".encode())
        digest.update(content)
    return digest.hexdigest()


def cache_key(method: str, url: str, *, params: Any = None, headers: Mapping | None = None,
              data: Any = None, json_body: Any = None, files: list | None = None) -> str:
    """Key of a request: sha256 of method, URL, sorted params, headers and body hash."""
    kept = {k.lower(): str(v) for k, v in (headers or {}).items()
            if k.lower() not in _IGNORED_HEADERS}
    payload = {
        "method": method.upper(),
        "url": url,
        "params": _pairs(params),
        "headers": sorted(kept.items()),
        "body": body_digest(data, json_body, files),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()


def _paths(cache_dir: Path, key: str) -> tuple[Path, Path]:
    folder = Path(cache_dir) / key[:2]
    return folder / f"{key}.json", folder / f"{key}.body"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def store(cache_dir: Path, key: str, response: requests.Response, *, method: str) -> bool:
    """Store a 2xx answer; return whether it was stored."""
    if not 200 <= response.status_code < 300:
        return False
    meta_path, body_path = _paths(cache_dir, key)
    meta = {
        "method": method.upper(),
        "url": response.url,
        "status": response.status_code,
        "reason": response.reason,
        "headers": {k: v for k, v in response.headers.items()
                    if k.lower() not in _DECODED_HEADERS},
        "encoding": response.encoding,
        "stored_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    # Body first: a meta file always points at a complete body.
    _atomic_write(body_path, response.content)
    _atomic_write(meta_path, json.dumps(meta, ensure_ascii=False, indent=1).encode("utf-8"))
    return True


def load(cache_dir: Path, key: str) -> requests.Response | None:
    """Cached answer of ``key`` (attributes ``from_cache``, ``cache_age`` in s), or ``None``."""
    meta_path, body_path = _paths(cache_dir, key)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        body = body_path.read_bytes()
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    response = requests.Response()
    response.status_code = int(meta["status"])
    response.reason = meta.get("reason") or "OK"
    response.headers = CaseInsensitiveDict(meta.get("headers") or {})
    response.url = meta.get("url", "")
    response.encoding = meta.get("encoding")
    response._content = body
    response._content_consumed = True
    response.from_cache = True  # type: ignore[attr-defined]
    try:
        stored = datetime.fromisoformat(meta["stored_at"])
        response.cache_age = (datetime.now(UTC) - stored).total_seconds()  # type: ignore
    except (KeyError, TypeError, ValueError):
        response.cache_age = float("inf")  # type: ignore[attr-defined]
    log.debug("HTTP cache hit: %s %s (%s)", meta.get("method"), response.url, meta_path.name)
    return response
