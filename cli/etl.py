"""``refresh``, ``snapshots``, ``export`` and ``diff`` commands (names are a contract).

* ``python -m observatory refresh --sirene-dir DIR --quarter 2026-T4 [--serie ess]
  [--departement 21] [--region 27] [--replace] [--force] [--from-api]
  [--actors-file FILE [--actors-mapping FILE]] [--ess-list FILE] [--demo]``
* ``python -m observatory snapshots [--serie ess | --all-series] [--json]``
* ``python -m observatory export structures|rejects [--serie ess] --snapshot 2026-T4
  --output FILE``
* ``python -m observatory diff 2026-T3 2026-T4 [--serie ess] [--level epci]
  [--json | --output FILE]``

``--serie`` defaults to ``ess`` everywhere (:data:`observatory.vocabulary.SERIES`).  Output
files are refused inside the snapshot store; their folders are created.
"""

from __future__ import annotations

import json
from pathlib import Path

from cli.options import add_serie, code, output_path

__all__ = ["cmd_diff", "cmd_export", "cmd_refresh", "cmd_snapshots", "diff_table", "register"]


def register(subparsers) -> None:
    """Add the ETL commands."""
    refresh = subparsers.add_parser(
        "refresh", help="build a quarterly snapshot of located ESS structures")
    refresh.add_argument("--sirene-dir", type=Path,
                         help="folder with the SIRENE stock files as published (zip/csv/parquet)")
    refresh.add_argument("--quarter", required=True, help="snapshot label, e.g. 2026-T4")
    add_serie(refresh)
    refresh.add_argument("--departement", type=code,
                         help="restrict to one département (e.g. 21, 2A, 974)")
    refresh.add_argument("--region", type=code,
                         help="restrict to one region (INSEE code, e.g. 27)")
    refresh.add_argument("--replace", action="store_true",
                         help="replace an existing snapshot of the same quarter")
    refresh.add_argument("--force", action="store_true",
                         help="accept a drop of more than 20%% of structures, or an empty "
                         "result")
    refresh.add_argument("--from-api", action="store_true",
                         help="read the API Recherche d'entreprises for the territory")
    refresh.add_argument("--actors-file", type=Path, help="CSV/XLSX list of actors to geocode")
    refresh.add_argument("--actors-mapping", type=Path, help="column mapping of the actors file")
    refresh.add_argument("--actors-dir", type=Path,
                         help="folder of actor lists, each <name>.csv/.xlsx beside its "
                         "<name>.mapping.yaml (e.g. real_data/insertion)")
    refresh.add_argument("--from-inclusion-api", action="store_true",
                         help="SIAE from the API of Les emplois de l'inclusion (by département)")
    refresh.add_argument("--no-geocode", action="store_true",
                         help="never call the BAN: rows without a plausible point of their own "
                         "are placed at their declared commune")
    refresh.add_argument("--ess-list", type=Path, help="ESS France list (CSV)")
    refresh.add_argument("--demo", action="store_true", help="mark the snapshot as demonstration")
    refresh.add_argument("--quiet", action="store_true", help="no progress bars")
    refresh.set_defaults(func=cmd_refresh)

    snaps = subparsers.add_parser("snapshots", help="list the stored snapshots")
    which = snaps.add_mutually_exclusive_group()
    add_serie(which)
    which.add_argument("--all-series", action="store_true", help="list every series")
    snaps.add_argument("--json", action="store_true",
                       help="print the manifests as JSON (each with serie, quarter, demo)")
    snaps.set_defaults(func=cmd_snapshots)

    export = subparsers.add_parser("export", help="export a snapshot table to a file")
    export.add_argument("table", choices=("structures", "rejects"))
    add_serie(export)
    export.add_argument("--snapshot", help="quarter (default: the latest)")
    export.add_argument("--output", type=Path, required=True,
                        help="file: .csv (; and BOM), .xlsx, .geojson or .gpkg")
    export.set_defaults(func=cmd_export)

    diff = subparsers.add_parser("diff", help="changes between two snapshots per territory")
    diff.add_argument("a", help="older quarter")
    diff.add_argument("b", help="newer quarter")
    add_serie(diff)
    diff.add_argument("--level", default="commune",
                      choices=("commune", "epci", "departement", "region"))
    group = diff.add_mutually_exclusive_group()
    group.add_argument("--json", action="store_true", help="print the table as JSON")
    group.add_argument("--output", type=Path, help="write the table (.csv, .xlsx)")
    diff.set_defaults(func=cmd_diff)


def cmd_refresh(args) -> int:
    """Run a refresh and print its summary."""
    from etl.refresh import RefreshOptions, run_refresh

    options = RefreshOptions(
        quarter=args.quarter, sirene_dir=args.sirene_dir, from_api=args.from_api,
        actors_file=args.actors_file, actors_mapping=args.actors_mapping,
        ess_list=args.ess_list, departement=args.departement, region=args.region,
        replace=args.replace, force=args.force, demo=args.demo, serie=args.serie,
        actors_dir=args.actors_dir, from_inclusion_api=args.from_inclusion_api,
        geocode=not args.no_geocode,
    )
    result = run_refresh(options, progress=not args.quiet)
    print(result.summary())
    return 0


def cmd_snapshots(args) -> int:
    """List the snapshots (oldest first)."""
    from observatory.storage import list_snapshots

    snapshots = list_snapshots(serie=None if args.all_series else args.serie)
    if args.json:
        print(json.dumps(snapshots, ensure_ascii=False, indent=2, default=str))
        return 0
    if not snapshots:
        print("Aucun instantané / no snapshot. Lancer / run: python -m observatory refresh ...")
        return 0
    print(f"{'série':<10} {'trimestre':<10} {'territoire':<16} {'structures':>10} "
          f"{'rejets':>8} {'démo':<5} créé le")
    for m in snapshots:
        rows = m.get("rows", {})
        print(f"{m['serie']:<10} {m['quarter']:<10} {m.get('territoire', ''):<16} "
              f"{rows.get('structures', ''):>10} {rows.get('rejects', ''):>8} "
              f"{'oui' if m.get('demo') else 'non':<5} {m.get('created_at', '')}")
    return 0


def cmd_export(args) -> int:
    """Export structures or rejects of a snapshot in the one export model of the app
    (:mod:`render.exports`: French headers, labels beside codes, « À propos »)."""
    from observatory.storage import load_snapshot
    from render.exports import snapshot_about, write_export

    output = output_path(args.output)
    snapshot = load_snapshot(args.snapshot, serie=args.serie)
    frame = snapshot.structures if args.table == "structures" else snapshot.rejects
    contenu = ("Établissements des structures de l'ESS (actifs et fermés)"
               if args.table == "structures" else "Lignes rejetées lors de l'actualisation")
    about = snapshot_about(snapshot.manifest, contenu=contenu)
    path = write_export(frame, output, kind=args.table, about=about)
    print(f"{len(frame)} lignes exportées / rows exported -> {path}")
    return 0


def _territory_map(*frames):
    """commune -> epci/departement/region as stored in the snapshots (newest first)."""
    import pandas as pd

    parts = [pd.DataFrame(f)[["commune", "epci", "departement", "region"]] for f in frames]
    table = pd.concat(parts, ignore_index=True).dropna(subset=["commune"])
    table = table.drop_duplicates("commune", keep="first").set_index("commune")
    table.index = table.index.astype("string").rename("code")
    return table.astype("string")


def diff_table(old, new, level: str):
    """Per-territory change table (:mod:`indicators.change`, the one change engine);
    ``modifies`` (descriptive changes) is added."""
    import pandas as pd

    from indicators.change import change_by_territory, structure_changes

    changes = structure_changes(old, new)
    communes = _territory_map(new, old)
    table = change_by_territory(old, new, level, communes, changes=changes)
    mapping = (pd.Series(communes.index, index=communes.index) if level == "commune"
               else communes[level])
    where = changes["commune_apres"].astype("string").map(mapping)
    modified = where[(changes["statut"] == "modifie").to_numpy()].value_counts()
    table["modifies"] = modified.reindex(table.index, fill_value=0).astype("int64")
    return table


def cmd_diff(args) -> int:
    """Counts of new, closed, moved and changed structures per territory."""
    from observatory.storage import load_snapshot

    out = output_path(args.output) if args.output else None
    a, b = load_snapshot(args.a, serie=args.serie), load_snapshot(args.b, serie=args.serie)
    table = diff_table(a.structures, b.structures, args.level)
    counts = table.select_dtypes("number")
    totals = {k: int(v) for k, v in counts.sum().items() if k != "taux_evolution"}
    if args.json:
        records = json.loads(table.reset_index().to_json(orient="records", force_ascii=False))
        print(json.dumps({"a": args.a, "b": args.b, "level": args.level,
                          "territories": records, "totals": totals},
                         ensure_ascii=False, indent=2))
    elif out is not None:
        if out.suffix.lower() == ".xlsx":
            table.reset_index().to_excel(out, index=False)
        else:
            from render.exports import csv_bytes  # ; BOM and decimal comma, as `indicators`

            out.write_bytes(csv_bytes(table.reset_index()))
        print(f"{len(table)} territoires -> {out}")
    else:
        print(table.to_string() if len(table) else "Aucun changement / no change.")
        print("Total: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    return 0
