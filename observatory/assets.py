"""Leaflet and Leaflet.markercluster served by the app itself (no CDN).

:func:`ensure_map_assets` fetches the pinned npm tarballs through
:func:`observatory.registries.fetch_package` (sha256-checked), extracts the files the
maps need into ``<static dir>/vendor/<package>/`` and returns the URL paths under
which Streamlit static serving exposes them (``/app/static/vendor/...``).  It is
idempotent: once extracted (a ``.installed`` stamp records package, version and
sha256) it returns at once, without network.
"""

from __future__ import annotations

import json
import logging
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from observatory.catalog import get_source
from observatory.errors import DataValidationError, explain
from observatory.registries import fetch_package
from observatory.settings import get_settings

__all__ = ["STATIC_URL", "VENDOR_PACKAGES", "ensure_map_assets", "vendor_dir"]

log = logging.getLogger(__name__)

STATIC_URL = "/app/static"

# catalog source -> (folder under vendor/, {asset key: role in the source's `files`})
VENDOR_PACKAGES: dict[str, tuple[str, dict[str, str]]] = {
    "leaflet": ("leaflet", {"leaflet_js": "js", "leaflet_css": "css", "leaflet_images": "images"}),
    "leaflet_markercluster": ("leaflet.markercluster", {
        "markercluster_js": "js", "markercluster_css": "css",
        "markercluster_default_css": "css_default"}),
}


def vendor_dir(static_dir: Path | None = None) -> Path:
    """``<static dir>/vendor`` (the static dir defaults to ``settings.static_dir``)."""
    return Path(static_dir or get_settings().static_dir) / "vendor"


def _extract(tarball: Path, members: dict[str, str], target: Path) -> None:
    """Extract ``members`` (path in tarball → path under target; dirs end with /)."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        found: set[str] = set()
        with tarfile.open(tarball, "r:gz") as tar:
            for info in tar.getmembers():
                if not info.isfile():
                    continue
                for src, rel in members.items():
                    if src.endswith("/") and info.name.startswith(src):
                        out = PurePosixPath(rel) / info.name[len(src):]
                    elif info.name == src:
                        out = PurePosixPath(rel)
                    else:
                        continue
                    if ".." in out.parts or out.is_absolute():
                        continue
                    found.add(src)
                    dest = tmp / out
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with tar.extractfile(info) as fh:  # type: ignore[union-attr]
                        dest.write_bytes(fh.read())
        missing = sorted(set(members) - found)
        if missing:
            raise DataValidationError(explain(
                f"{tarball.name} lacks {', '.join(missing)}.",
                "The catalog's `files:` do not match the package content.",
                "Fix the `files:` of the source in observatory/sources.yaml.",
            ), offenders=missing)
        if target.exists():
            shutil.rmtree(target)
        tmp.replace(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def ensure_map_assets(static_dir: Path | None = None) -> dict[str, str]:
    """Make Leaflet and markercluster available under ``<static dir>/vendor``.

    Parameters
    ----------
    static_dir : Path, optional
        Folder served at ``/app/static`` (default ``settings.static_dir``).

    Returns
    -------
    dict
        Asset key → URL path, e.g. ``{"leaflet_js": "/app/static/vendor/leaflet/leaflet.js",
        "leaflet_css": ..., "leaflet_images": ".../leaflet/images/", "markercluster_js": ...,
        "markercluster_css": ..., "markercluster_default_css": ...}``.

    Raises
    ------
    OfflineError, NetworkError, DownloadError
        When a package must be fetched and cannot be.
    """
    root = vendor_dir(static_dir)
    root.mkdir(parents=True, exist_ok=True)
    urls: dict[str, str] = {}
    for name, (folder, keys) in VENDOR_PACKAGES.items():
        source = get_source(name)
        target = root / folder
        # files: role -> path in the tarball; extracted flat under target (dirs kept as dirs)
        layout = {source.files[role]: PurePosixPath(source.files[role]).name
                  + ("/" if source.files[role].endswith("/") else "")
                  for role in keys.values()}
        stamp = {"package": source.package, "version": source.version, "sha256": source.sha256,
                 "files": layout}
        stamp_path = target / ".installed"
        installed = None
        if stamp_path.exists():
            try:
                installed = json.loads(stamp_path.read_text(encoding="utf-8"))
            except ValueError:
                installed = None
        complete = all((target / rel).exists() for rel in layout.values())
        if installed != stamp or not complete:
            tarball = fetch_package(name)
            _extract(tarball, layout, target)
            stamp_path.write_text(json.dumps(stamp, indent=1), encoding="utf-8")
            log.info("Installed %s %s into %s", source.package, source.version, target)
        for key, role in keys.items():
            urls[key] = f"{STATIC_URL}/vendor/{folder}/{layout[source.files[role]]}"
    return urls
