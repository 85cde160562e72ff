"""``indicators`` command: the indicator table of a snapshot, one row per territory.

``python -m observatory indicators --snapshot 2026-T4 --level commune|epci|departement|region
[--territory CODE [--territory-level LEVEL]] [--density-grid FILE | --density-approx]
--output FILE`` (``.csv``: ``;``, decimal comma, UTF-8 with BOM; or ``.xlsx``).

``--territory 21 --level commune`` writes the communes of département 21; ``--territory 27
--territory-level region --level departement`` the départements of région 27.
"""

from __future__ import annotations

import logging
from pathlib import Path

from observatory.errors import ConfigurationError, explain
from observatory.vocabulary import LEVELS

__all__ = ["cmd_indicators", "register"]

log = logging.getLogger(__name__)


def register(subparsers) -> None:
    """Add the ``indicators`` command."""
    p = subparsers.add_parser(
        "indicators", help="indicator table of a snapshot per territory (CSV or XLSX)")
    p.add_argument("--snapshot", help="quarter, e.g. 2026-T4 (default: the latest)")
    p.add_argument("--level", required=True, choices=LEVELS, help="one row per territory of")
    p.add_argument("--territory", help="keep the territories inside this code (e.g. 21)")
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
    from geodata import density_grid  # written with the reference geography

    if args.density_grid is not None:
        return density_grid.load_density_grid(args.density_grid)
    return density_grid.approximate_density_levels(communes)


def cmd_indicators(args) -> int:
    """Compute the table and write it; return the exit code."""
    from geodata.reference import load_reference
    from indicators.table import indicator_table, territory_codes
    from observatory.storage import load_snapshot
    from render.exports import csv_bytes, xlsx_bytes

    output = Path(args.output)
    suffix = output.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ConfigurationError(explain(
            f"Cannot write {str(output)!r}: unknown extension {suffix or '(none)'!r}.",
            "The indicator table is written as CSV (; and UTF-8 BOM, for Excel in French) or "
            "XLSX.", "Name the output file with .csv or .xlsx."))
    snapshot = load_snapshot(args.snapshot)
    reference = load_reference()
    communes = reference.communes
    density = _density(args, communes)
    territories = None
    if args.territory:
        territories = territory_codes(communes, args.level, args.territory,
                                      args.territory_level)
    names = None if args.level == "commune" else reference.layer(args.level)["nom"]
    table = indicator_table(
        snapshot.structures, communes, args.level, territories=territories, density=density,
        names=names, structures_cog=snapshot.manifest.get("cog"),
        reference_cog=reference.vintages.get("cog"))
    output.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        output.write_bytes(csv_bytes(table))
    else:
        about = {
            "Instantané": snapshot.quarter,
            "Données de démonstration": "oui" if snapshot.manifest.get("demo") else "non",
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
    print(f"{len(table)} territoire(s) écrit(s) dans {output} "
          f"(instantané {snapshot.quarter}, niveau {args.level}).")
    return 0
