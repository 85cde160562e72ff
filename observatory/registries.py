"""Registry packages (PyPI wheels, npm tarballs) pinned in the catalog.

No registry host is written in the code: the index / registry comes from the ordinary
clients' own configuration.

* PyPI: ``PIP_INDEX_URL``, else pip's configured ``index-url`` (``pip config list``),
  else pip's built-in default (:data:`pip._internal.models.index.PyPI`).  The simple
  index is queried in its JSON form (PEP 691; HTML PEP 503 pages are understood too)
  and the file is picked by file name.
* npm: ``NPM_CONFIG_REGISTRY`` / ``npm_config_registry``, else ``npm config get registry``,
  else a ``registry=`` line of ``~/.npmrc``.  ``GET <registry>/<package>`` (scoped names as
  ``@scope%2fname``) → ``versions[<version>].dist.tarball``.

Files land in ``settings.packages_dir`` and are checked against the pinned sha256/size;
a verified file already there is returned without any network access.
"""

from __future__ import annotations

import functools
import html
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urljoin

from observatory import http
from observatory.catalog import Source, get_source
from observatory.errors import ConfigurationError, SourceNotFoundError, explain
from observatory.http_download import check_file
from observatory.settings import get_settings

__all__ = [
    "PEP691_ACCEPT",
    "fetch_package",
    "npm_registry_url",
    "package_filename",
    "package_url",
    "pypi_index_url",
]

log = logging.getLogger(__name__)

PEP691_ACCEPT = ("application/vnd.pypi.simple.v1+json, "
                 "application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1")
NPM_ACCEPT = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8"
_CLIENT_TIMEOUT = 20


# ----------------------------------------------------------------------------- locations
@functools.cache
def _pip_configured_index() -> str | None:
    """``index-url`` from pip's configuration files (run once per process)."""
    try:
        out = subprocess.run([sys.executable, "-m", "pip", "config", "list"],
                             capture_output=True, text=True, timeout=_CLIENT_TIMEOUT)
    except (OSError, subprocess.SubprocessError):
        return None
    found: dict[str, str] = {}
    for line in out.stdout.splitlines():  # e.g. global.index-url='https://...'
        key, _, value = line.partition("=")
        key = key.strip()
        if key.endswith(".index-url") and not key.endswith("extra-index-url"):
            found[key[: -len(".index-url")]] = value.strip().strip("'\"")
    for scope in ("install", "download", "global", ":env:"):
        if scope in found:
            return found[scope]
    return next(iter(found.values()), None)


def _pip_default_index() -> str:
    try:
        from pip._internal.models.index import PyPI
    except ImportError as exc:
        raise ConfigurationError(explain(
            "Cannot find the Python package index.",
            "PIP_INDEX_URL is unset and pip is not importable to tell its default.",
            "Set PIP_INDEX_URL to your index (simple API URL) or install pip.",
        )) from exc
    return PyPI.simple_url


def pypi_index_url() -> str:
    """Simple index URL (no trailing slash) from pip's configuration."""
    url = (os.environ.get("PIP_INDEX_URL") or "").split()
    index = url[0] if url else (_pip_configured_index() or _pip_default_index())
    return index.rstrip("/")


@functools.cache
def _npm_config_registry() -> str | None:
    try:
        out = subprocess.run(["npm", "config", "get", "registry"], capture_output=True,
                             text=True, timeout=_CLIENT_TIMEOUT)
    except (OSError, subprocess.SubprocessError):
        return None
    lines = [ln.strip() for ln in out.stdout.splitlines() if ln.strip().startswith("http")]
    return lines[-1] if out.returncode == 0 and lines else None


def _npmrc_registry() -> str | None:
    for rc in (Path.cwd() / ".npmrc", Path.home() / ".npmrc"):
        try:
            for line in rc.read_text(encoding="utf-8").splitlines():
                key, _, value = line.partition("=")
                if key.strip() == "registry" and value.strip():
                    return value.strip()
        except OSError:
            continue
    return None


def npm_registry_url() -> str:
    """npm registry URL (no trailing slash) from npm's configuration."""
    registry = (os.environ.get("NPM_CONFIG_REGISTRY")
                or os.environ.get("npm_config_registry")  # noqa: SIM112 (npm sets it so)
                or _npm_config_registry() or _npmrc_registry())
    if not registry:
        raise ConfigurationError(explain(
            "Cannot find the npm registry.",
            "NPM_CONFIG_REGISTRY is unset, `npm config get registry` gave nothing and no "
            ".npmrc names a registry.",
            "Install npm, or set NPM_CONFIG_REGISTRY to your registry URL.",
        ))
    return registry.rstrip("/")


# ----------------------------------------------------------------------------- resolution
def _registry_source(source: Source | str) -> Source:
    source = get_source(source) if isinstance(source, str) else source
    if source.registry not in ("pypi", "npm") or not source.package or not source.version:
        raise SourceNotFoundError(explain(
            f"Source {source.name!r} is not a registry package.",
            "Only catalog entries with `registry: pypi|npm`, `package` and `version` are.",
            "Download it with observatory.http.download(get_source(name).url, ...).",
        ))
    return source


def package_filename(source: Source | str) -> str:
    """Local file name of a registry package (wheel name, or ``<scope>-<name>-<v>.tgz``)."""
    source = _registry_source(source)
    if source.filename:
        return source.filename
    if source.registry == "npm":
        return f"{source.package.lstrip('@').replace('/', '-')}-{source.version}.tgz"
    raise ConfigurationError(explain(
        f"Catalog entry {source.name!r} (PyPI) has no `filename`.",
        "The file of a PyPI release is chosen by its exact name (wheel or sdist).",
        "Add e.g. `filename: pkg-1.0-py3-none-any.whl` to observatory/sources.yaml.",
    ))


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _parse_pypi_page(response, page_url: str) -> list[dict]:
    """Files of a package index page (PEP 691 JSON or PEP 503 HTML); raise when the answer
    has none (an error or login page served with 200), so that it is never cached."""
    ctype = response.headers.get("Content-Type", "")
    base = response.url or page_url
    if "json" in ctype:
        payload = http.json_body(response)
        listed = payload.get("files") if isinstance(payload, dict) else None
        files = [{**f, "url": urljoin(base, f["url"])} for f in listed or []
                 if isinstance(f, dict) and isinstance(f.get("url"), str)]
    else:
        files = []  # PEP 503 HTML page
        for href, text in re.findall(r'<a\s[^>]*href="([^"]+)"[^>]*>([^<]+)</a>',
                                     response.text):
            href = html.unescape(href)
            url, _, fragment = href.partition("#")
            hashes = dict([fragment.split("=", 1)]) if "=" in fragment else {}
            files.append({"filename": text.strip(), "url": urljoin(base, url),
                          "hashes": hashes})
    if not files:
        raise SourceNotFoundError(explain(
            f"The package index page {base} lists no file (Content-Type {ctype!r}; starts "
            f"with {response.text[:120]!r}).",
            "A package page lists its files (PEP 503/691); this answer is an error or login "
            "page, or the package does not exist on this index.",
            "Check PIP_INDEX_URL / pip's configuration, then run again."))
    return files


def _pypi_files(page_url: str) -> list[dict]:
    return http.fetch("GET", page_url, lambda response: _parse_pypi_page(response, page_url),
                      headers={"Accept": PEP691_ACCEPT})


def _parse_npm_meta(response) -> dict:
    """An npm packument (a JSON object with ``versions``); raise otherwise (never cached)."""
    meta = http.json_body(response)
    if not isinstance(meta, dict) or not isinstance(meta.get("versions"), dict):
        raise SourceNotFoundError(explain(
            f"The npm registry answered {response.url} without a 'versions' object "
            f"({str(meta)[:120]!r}).",
            "A package document (packument) lists its versions.",
            "Check NPM_CONFIG_REGISTRY / .npmrc, then run again."))
    return meta


def package_url(source: Source | str) -> str:
    """Download URL of a pinned registry package, resolved through its registry.

    Raises
    ------
    SourceNotFoundError
        The version / file is not in the registry, or its published sha256 differs
        from the pinned one.
    """
    source = _registry_source(source)
    if source.registry == "pypi":
        page = f"{pypi_index_url()}/{_normalise(source.package)}/"
        wanted = package_filename(source)
        files = _pypi_files(page)
        match = next((f for f in files if f.get("filename") == wanted), None)
        if match is None:
            raise SourceNotFoundError(explain(
                f"{wanted} is not listed on the package index page {page}.",
                f"Files there: {', '.join(f.get('filename', '?') for f in files[:10]) or 'none'}.",
                "Check `version`/`filename` of the catalog entry, or PIP_INDEX_URL.",
            ))
        published = (match.get("hashes") or {}).get("sha256")
        if published and source.sha256 and published.lower() != source.sha256.lower():
            raise SourceNotFoundError(explain(
                f"The index publishes sha256 {published} for {wanted}, the catalog pins "
                f"{source.sha256}.",
                "The file on the index is not the one the observatory was built with.",
                "Check the mirror (PIP_INDEX_URL); never change the pin without review.",
            ))
        return match["url"]
    registry = npm_registry_url()
    name = source.package.replace("/", "%2f") if source.package.startswith("@") \
        else source.package
    meta = http.fetch("GET", f"{registry}/{name}", _parse_npm_meta,
                      headers={"Accept": NPM_ACCEPT})
    version = (meta.get("versions") or {}).get(source.version)
    tarball = ((version or {}).get("dist") or {}).get("tarball")
    if not tarball:
        known = sorted(meta.get("versions") or {})[-10:]
        raise SourceNotFoundError(explain(
            f"npm package {source.package}@{source.version} not found in {registry}.",
            f"Latest versions listed: {', '.join(known) or 'none'}.",
            "Check `package`/`version` of the catalog entry, or NPM_CONFIG_REGISTRY.",
        ))
    return urljoin(registry + "/", tarball)


def fetch_package(name: str, vintage: str | None = None, *, progress: bool = False) -> Path:
    """Download (or reuse) registry package ``name`` into ``settings.packages_dir``.

    Returns the path of the verified wheel / tarball.  A file already there that matches
    the pinned sha256 (and size) is returned without touching the network.

    Raises
    ------
    OfflineError, NetworkError, DownloadError, SourceNotFoundError
    """
    source = _registry_source(get_source(name, vintage))
    dest = get_settings().packages_dir / package_filename(source)
    if dest.exists() and check_file(dest, source.sha256, source.size) is None:
        return dest
    if not source.sha256:
        log.warning("%s has no pinned sha256 in the catalog: it is not verified", name)
    url = package_url(source)
    log.info("Fetching %s %s from %s", source.package, source.version, url)
    return http.download(url, dest, sha256=source.sha256, size=source.size, progress=progress,
                         overwrite=dest.exists())
