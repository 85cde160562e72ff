"""``indicators`` command: the indicator table of a snapshot, one row per territory.

``python -m observatory indicators [--serie ess] --snapshot 2026-T4
--level commune|epci|departement|region [--territory CODE [--territory-level LEVEL]]
[--density-grid FILE | --density-approx] --output FILE`` (``.csv``: ``;``, decimal comma,
UTF-8 with BOM; or ``.xlsx``).

``--territory 21 --level commune`` writes the communes of département 21; ``--territory 27
--territory-level region --level departement`` the départements of région 27.

Figures are computed on the part of France the snapshot covers (its ``territoire``,
:mod:`indicators.scope`), as in the app: a territory partly covered (an EPCI across the edge
of a département snapshot) is computed on its covered part and labelled in the column
``couverture`` ("complète" or "partielle (85,9 % de la population)", with
``population_territoire``, the whole territory's population); a territory without any covered
commune is left out, and so are structures located outside the coverage (both are reported).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from cli.options import add_serie, code, density, output_path
from observatory.errors import ConfigurationError, explain
from observatory.vocabulary import LEVELS, SERIES

__all__ = ["cmd_indicators", "register"]

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    """Add the ``indicators`` command."""
    p = subparsers.add_parser(
        "indicators", help="indicator table of a snapshot per territory (CSV or XLSX)")
    add_serie(p)
    p.add_argument("--snapshot", help="quarter, e.g. 2026-T4 (default: the latest)")
    p.add_argument("--level", required=True, choices=LEVELS, help="one row per territory of")
    p.add_argument("--territory", type=code,
                   help="keep the territories inside this code (e.g. 21)")
    p.add_argument("--territory-level", choices=LEVELS,
                   help="level of --territory when the code is ambiguous (région 27 / dép. 27)")
    density = p.add_mutually_exclusive_group()
    density.add_argument("--density-grid", type=Path,
                         help="INSEE grille communale de densité file (.xlsx)")
    density.add_argument("--density-approx", action="store_true",
                         help="add density classes approximated from population per km²")
    p.add_argument("--output", type=Path, required=True, help="output file: .csv or .xlsx")
    p.set_defaults(func=cmd_indicators)


def _density(args, communes):
    if args.density_grid is None and not args.density_approx:
        return None
    return density(communes, args.density_grid)


def _output(path) -> Path:
    output = Path(path)
    suffix = output.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ConfigurationError(explain(
            f"Cannot write {str(output)!r}: unknown extension {suffix or '(none)'!r}.",
            "The indicator table is written as CSV (; and UTF-8 BOM, for Excel in French) or "
            "XLSX.", "Name the output file with .csv or .xlsx."))
    return output_path(output)


def _with_coverage(table, coverage):
    """Add ``couverture``, ``population_territoire`` and ``part_territoire_couverte``
    (before ``motif_na``)."""
    from render import fr

    cov = coverage.reindex(table.index)
    labels = [
        "complète" if bool(complete) else
        f"partielle ({fr.pourcentage(share, 1, ratio=False)} de la population)"
        for complete, share in zip(cov["complet"], cov["part_territoire_couverte"], strict=True)]
    out = table.drop(columns="motif_na")
    out["couverture"] = pd.array(labels, dtype="string")
    out["population_territoire"] = cov["population_territoire"].astype("Int64")
    out["part_territoire_couverte"] = cov["part_territoire_couverte"].astype("Float64")
    out["motif_na"] = table["motif_na"]
    out.attrs = dict(table.attrs)
    return out


def _select(args, reference, coverage, territoire):
    """Territory codes to write (covered ones only) and those left out (no coverage)."""
    from indicators.table import territory_codes

    if not args.territory:
        return list(coverage.index), []
    wanted = territory_codes(reference.communes, args.level, args.territory,
                             args.territory_level)
    kept = [c for c in wanted if c in coverage.index]
    if not kept:
        raise ConfigurationError(explain(
            f"Territory {args.territory!r} is outside the coverage of the snapshot "
            f"({territoire}) / territoire hors de la couverture de l'instantané.",
            "Figures are only computed where the snapshot has data; elsewhere they would be "
            "zeros that nobody measured.",
            f"Choose a territory inside {territoire}, or another snapshot or --serie "
            "(python -m observatory snapshots --all-series)."))
    return kept, [c for c in wanted if c not in coverage.index]


def cmd_indicators(args) -> int:
    """Compute the table on the snapshot's coverage and write it; return the exit code."""
    from geodata.reference import load_reference
    from indicators.scope import coverage_by_territory, covered_communes, structures_inside
    from indicators.table import indicator_table
    from observatory.storage import load_snapshot

    output = _output(args.output)
    snapshot = load_snapshot(args.snapshot, serie=args.serie)
    reference = load_reference()
    territoire = snapshot.manifest.get("territoire") or "france"
    covered = covered_communes(reference.communes, territoire, snapshot.structures)
    structures, elsewhere = structures_inside(snapshot.structures, reference.communes,
                                              covered)
    coverage = coverage_by_territory(reference.communes, covered.index, args.level)
    territories, left_out = _select(args, reference, coverage, territoire)
    names = None if args.level == "commune" else reference.layer(args.level)["nom"]
    table = indicator_table(
        structures, covered, args.level, territories=territories,
        density=_density(args, covered), names=names,
        structures_cog=snapshot.manifest.get("cog"),
        reference_cog=reference.vintages.get("cog"))
    table = _with_coverage(table, coverage)
    _write(output, table, args, snapshot, reference, territoire)
    print(f"{len(table)} territoire(s) écrit(s) dans {output} (série {snapshot.serie}, "
          f"instantané {snapshot.quarter}, niveau {args.level}, couverture {territoire}).")
    partial = int((table["couverture"] != "complète").sum())
    if partial:
        print(f"{partial} territoire(s) partiellement couvert(s) : calculé(s) sur la partie "
              "couverte (colonne couverture).")
    if left_out:
        print(f"{len(left_out)} territoire(s) hors de la couverture, non écrit(s) : "
              f"{', '.join(left_out[:10])}{' ...' if len(left_out) > 10 else ''}.")
    if elsewhere:
        print(f"{elsewhere} structure(s) localisée(s) hors de la couverture ({territoire}), "
              "non comptée(s).")
    return 0


def _write(output: Path, table, args, snapshot, reference, territoire: str) -> None:
    from render.exports import csv_bytes, xlsx_bytes

    if output.suffix.lower() == ".csv":
        output.write_bytes(csv_bytes(table))
        return
    about = {
        "Série": f"{snapshot.serie} ({SERIES.get(snapshot.serie, '')})",
        "Instantané": snapshot.quarter,
        "Données de démonstration": "oui" if snapshot.manifest.get("demo") else "non",
        "Couverture de l'instantané": f"{territoire} ; territoires partiellement couverts "
                                      "calculés sur leur partie couverte (colonne couverture)",
        "Géographie": str(reference.vintages.get("cog", "")),
        "Population": str(reference.vintages.get("population_libelle",
                                                 reference.vintages.get("population", ""))),
        "Niveau": args.level,
        "Territoire": args.territory or "France entière",
        "Emplois": "estimation à partir des tranches d'effectif SIRENE (milieu de tranche, "
                   "bornes basse et haute) ; année des tranches dans annee_effectifs",
        "Grille de densité": ("approximation (densité de population au km²)"
                              if args.density_approx else
                              str(args.density_grid or "non utilisée")),
    }
    output.write_bytes(xlsx_bytes(table, sheet_name="Indicateurs", about=about))
