"""On-disk cache of successful HTTP answers, used by :mod:`observatory.http`.

A request is identified by the sha256 of its method, URL, sorted query parameters,
content-affecting headers and a hash of its body (form fields, JSON, raw bytes and
multipart files: name, file name, content type and content).  Only 2xx answers are
stored, as two files under ``<cache_dir>/<key[:2]>/``: ``<key>.body`` (raw bytes) and
``<key>.json`` (status, headers, final URL, date, request summary: the *entry*, named in
messages).  Writes are atomic, body first.

A damaged entry (metadata that is not JSON, has no 2xx ``status``, or has no body beside
it) is **evicted with a warning and treated as a miss**: online, the answer is fetched
again; offline, the caller gets the usual :class:`~observatory.errors.OfflineError`.  We
chose eviction over an error because the entry is only a copy of what the service answers.
An entry that cannot be read at all (permissions) raises a ``NetworkError`` naming it.
A cache that cannot be written (read-only, disk full) logs a warning: the answer is still
returned.
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

from observatory.errors import NetworkError, explain

__all__ = ["body_digest", "cache_key", "entry_path", "evict", "freeze_files", "load", "store"]

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


def entry_path(cache_dir: Path, key: str) -> Path:
    """The metadata file that stands for the entry of ``key`` in messages."""
    return _paths(cache_dir, key)[0]


def evict(cache_dir: Path, key: str) -> None:
    """Remove the entry of ``key`` (metadata first: a body alone is never served)."""
    for path in _paths(cache_dir, key):
        path.unlink(missing_ok=True)


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
    """Store a 2xx answer; return whether it was stored (a write failure only warns)."""
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
    try:
        # Body first: a meta file always points at a complete body.
        _atomic_write(body_path, response.content)
        _atomic_write(meta_path, json.dumps(meta, ensure_ascii=False, indent=1).encode("utf-8"))
    except OSError as exc:
        log.warning("HTTP cache not written (%s: %s): the answer of %s %s is used but not "
                    "kept; check that %s is writable or set OBSERVATOIRE_CACHE_DIR",
                    type(exc).__name__, exc, method, response.url, cache_dir)
        return False
    return True


def _read(meta_path: Path, body_path: Path) -> tuple[Any, bytes] | None:
    """Raw metadata and body of an entry; None when absent; NetworkError when unreadable."""
    try:
        text = meta_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        text = ""  # damaged: judged by _problem
    except OSError as exc:
        raise _unreadable(meta_path, exc) from exc
    try:
        body = body_path.read_bytes()
    except FileNotFoundError:
        body = None
    except OSError as exc:
        raise _unreadable(body_path, exc) from exc
    try:
        meta = json.loads(text)
    except json.JSONDecodeError:
        meta = None
    return meta, body


def _unreadable(path: Path, exc: OSError) -> NetworkError:
    return NetworkError(explain(
        f"The HTTP cache entry {path} cannot be read ({type(exc).__name__}: {exc}).",
        "The cache folder is not readable by this user, or the disk failed.",
        f"Fix the permissions of {path.parent.parent}, delete that entry, or point "
        "OBSERVATOIRE_CACHE_DIR at a folder of your own.",
    ))


def _problem(meta: Any, body: bytes | None) -> str | None:
    """Why an entry is damaged, or None when it can be served."""
    if not isinstance(meta, dict):
        return "its metadata is not a JSON object"
    status = meta.get("status")
    if not isinstance(status, int) or not 200 <= status < 300:
        return f"its metadata has no 2xx status ({status!r})"
    if not isinstance(meta.get("headers") or {}, dict):
        return "its headers are not a JSON object"
    if body is None:
        return "its body file is missing"
    return None


def load(cache_dir: Path, key: str) -> requests.Response | None:
    """Cached answer of ``key`` (attributes ``from_cache``, ``cache_age`` in s), or ``None``.

    A damaged entry is evicted with a warning and reported as ``None`` (a miss).
    """
    meta_path, body_path = _paths(cache_dir, key)
    found = _read(meta_path, body_path)
    if found is None:
        return None
    meta, body = found
    problem = _problem(meta, body)
    if problem is not None:
        log.warning("HTTP cache entry %s is damaged (%s): evicted, the answer will be "
                    "fetched again", meta_path, problem)
        evict(cache_dir, key)
        return None
    response = requests.Response()
    response.status_code = meta["status"]
    response.reason = meta.get("reason") or "OK"
    response.headers = CaseInsensitiveDict(meta.get("headers") or {})
    response.url = str(meta.get("url") or "")
    response.encoding = meta.get("encoding") if isinstance(meta.get("encoding"), str) else None
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
