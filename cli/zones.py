"""``zones`` command: the communes of a département en zone blanche, one row each.

``python -m observatory zones [--serie ess] [--snapshot 2026-T4] --departement 21
[--distance-km 10] [--famille F | --type T] [--density-grid FILE] --output F.csv``

The one implementation is :func:`indicators.zones.zones_blanches`, computed as the app does
over the whole coverage of the snapshot (so that structures across the département's border
count, and a zone crossing it keeps its full extent and rank), then restricted to the
communes of the département.  ``--type`` filters on the column ``type_structure`` (ACI, AI,
EI, ETTI, EITI, GEIQ, ESAT) of the ``insertion`` series.  Density: the INSEE grid when given,
else the approximation from population per km² (said in the column ``densite_source``).

Columns: ``code``, ``nom``, ``departement``, ``zone`` (Z001 = most populated zone),
``rang_zone``, ``distance_km`` (commune centre to the nearest structure of the kind),
``population``, ``population_zone``, ``nb_communes_zone``, ``structures_cherchees``,
``distance_seuil_km``, ``serie``, ``instantane``, ``nature_donnees`` (réelles / démonstration),
``densite_source``.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd

from cli.options import add_serie, code, density, output_path
from observatory.errors import ConfigurationError, explain
from observatory.schema import FAMILIES

__all__ = ["cmd_zones", "register", "zone_rows"]

TYPE_COLUMN = "type_structure"


def _distance(text: str) -> float:
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a distance in km / distance invalide (a positive number, e.g. 10)")
    return value


def register(subparsers) -> None:
    """Add the ``zones`` command."""
    p = subparsers.add_parser(
        "zones", help="communes of a département en zone blanche (CSV or XLSX)")
    add_serie(p)
    p.add_argument("--snapshot", help="quarter, e.g. 2026-T4 (default: the latest)")
    p.add_argument("--departement", type=code, required=True, help="département, e.g. 21")
    p.add_argument("--distance-km", type=_distance, default=10.0,
                   help="a commune is blanche beyond this distance (default 10)")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--famille", choices=FAMILIES, help="only structures of this ESS family")
    kind.add_argument("--type", dest="type_structure",
                      help="only structures of this type (ACI, AI, EI, ETTI, EITI, GEIQ, ESAT; "
                      "insertion series)")
    p.add_argument("--density-grid", type=Path,
                   help="INSEE grille communale de densité (.xlsx); default: approximation")
    p.add_argument("--output", type=Path, required=True, help="output file: .csv or .xlsx")
    p.set_defaults(func=cmd_zones)


def _of_type(active: pd.DataFrame, wanted: str, serie: str, quarter: str) -> pd.DataFrame:
    if TYPE_COLUMN not in active.columns or active[TYPE_COLUMN].isna().all():
        raise ConfigurationError(explain(
            f"--type {wanted} cannot be used: snapshot {serie} {quarter} has no column "
            f"{TYPE_COLUMN} / cet instantané n'a pas de type de structure.",
            "Structure types (ACI, AI, EI, ETTI, EITI, GEIQ, ESAT) come with the insertion "
            "series.", "Use --serie insertion, or --famille with the ess series."))
    types = active[TYPE_COLUMN].astype("string").str.strip().str.upper()
    present = sorted(set(types.dropna()))
    if wanted.strip().upper() not in present:
        raise ConfigurationError(explain(
            f"Unknown structure type {wanted!r} in snapshot {serie} {quarter}.",
            f"Its types are: {', '.join(present) or '(none)'}.", "Use one of them."))
    return active[(types == wanted.strip().upper()).fillna(False).to_numpy(dtype=bool)]


def _kind(args) -> str:
    if args.famille:
        return f"famille : {args.famille}"
    if args.type_structure:
        return f"type : {args.type_structure.strip().upper()}"
    return "toutes les structures"


def zone_rows(result, communes: pd.DataFrame, departement: str) -> pd.DataFrame:
    """One row per blanche commune of ``departement`` from a :class:`ZonesBlanches` computed
    over the whole coverage (zone ranks and sizes are those of the whole zone)."""
    members = result.communes
    inside = communes.index[(communes["departement"].astype("string") == departement)
                            .fillna(False).to_numpy(dtype=bool)]
    members = members[members.index.isin(inside)]
    zones = result.zones.reindex(members["zone"].astype(str))
    out = pd.DataFrame({
        "code": pd.array(members.index.astype(str), dtype="string"),
        "nom": communes["nom"].reindex(members.index).astype("string").to_numpy(),
        "departement": departement,
        "zone": members["zone"].astype("string").to_numpy(),
        "rang_zone": zones["rang"].astype("Int64").to_numpy(),
        "distance_km": members["distance_km"].astype("float64").round(1).to_numpy(),
        "population": members["population"].round().astype("int64").to_numpy(),
        "population_zone": zones["population"].astype("Int64").to_numpy(),
        "nb_communes_zone": zones["nb_communes"].astype("Int64").to_numpy(),
        "densite_source": zones["densite_source"].astype("string").to_numpy(),
    })
    return out.sort_values(["rang_zone", "code"], kind="stable").reset_index(drop=True)


def cmd_zones(args) -> int:
    """Compute the zones blanches over the coverage and write the département's communes."""
    from geodata.reference import load_reference
    from indicators.scope import covered_communes, structures_inside
    from indicators.zones import zones_blanches
    from observatory.storage import load_snapshot
    from render.exports import csv_bytes, xlsx_bytes

    output = Path(args.output)
    if output.suffix.lower() not in (".csv", ".xlsx"):
        raise ConfigurationError(explain(
            f"Cannot write {str(output)!r}: unknown extension {output.suffix or '(none)'!r}.",
            "The zones blanches are written as CSV (; and UTF-8 BOM) or XLSX.",
            "Name the output file with .csv or .xlsx."))
    output = output_path(output)
    snapshot = load_snapshot(args.snapshot, serie=args.serie)
    reference = load_reference()
    territoire = snapshot.manifest.get("territoire") or "france"
    covered = covered_communes(reference.communes, territoire, snapshot.structures)
    departement = args.departement.upper().zfill(2)
    if not (covered["departement"].astype("string") == departement).fillna(False).any():
        raise ConfigurationError(explain(
            f"Département {args.departement!r} is outside the coverage of snapshot "
            f"{snapshot.serie} {snapshot.quarter} ({territoire}) / département hors de la "
            "couverture de l'instantané.",
            "Zones blanches are computed only where the snapshot has data.",
            f"Choose a département inside {territoire}, or another --serie/--snapshot."))
    structures, _ = structures_inside(snapshot.structures, reference.communes, covered)
    active = structures[(structures["etat_administratif"] == "A").fillna(False)]
    if args.type_structure:
        active = _of_type(active, args.type_structure, snapshot.serie, snapshot.quarter)
    result = zones_blanches(covered, active, density(covered, args.density_grid),
                            distance_km=float(args.distance_km),
                            by="famille_ess" if args.famille else None,
                            category=args.famille or None)
    table = zone_rows(result, covered, departement)
    table["structures_cherchees"] = _kind(args)
    table["distance_seuil_km"] = float(args.distance_km)
    table["serie"] = snapshot.serie
    table["instantane"] = snapshot.quarter
    table["nature_donnees"] = ("fictives (démonstration)" if snapshot.manifest.get("demo")
                        else "réelles")
    if output.suffix.lower() == ".csv":
        output.write_bytes(csv_bytes(table))
    else:
        output.write_bytes(xlsx_bytes(table, sheet_name="Zones blanches"))
    print(f"{len(table)} commune(s) en zone blanche dans le département {departement} "
          f"({_kind(args)}, au-delà de {args.distance_km:g} km ; série {snapshot.serie}, "
          f"instantané {snapshot.quarter}) -> {output}")
    return 0
