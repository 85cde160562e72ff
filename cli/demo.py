"""``python -m observatory demo [--departement 21] [--force]``: the embedded default.

Builds both series of the embedded default (:func:`demo.job.ensure_default`): the ``ess``
demonstration (all of France without ``--departement``) and the real ``insertion`` layer
(SIAE, GEIQ, ESAT lists shipped in ``real_data/insertion``); this module only parses and
prints.
"""

from __future__ import annotations

import time

from demo.job import ensure_default, prepare_map_assets

__all__ = ["demo_command", "register"]


def register(subparsers) -> None:
    """Add the ``demo`` command."""
    parser = subparsers.add_parser(
        "demo", help="build the embedded default: the ess demonstration (synthetic data, "
                     "real geography; all France by default) and the real insertion layer")
    parser.add_argument("--departement", default=None,
                        help="build the demo of this département only (e.g. 21, Côte-d'Or) "
                             "instead of all France")
    parser.add_argument("--force", action="store_true",
                        help="rebuild the demo snapshots even if they exist")
    parser.set_defaults(func=demo_command)


def demo_command(args) -> int:
    """CLI entry: build the demo if needed, print the measured duration; exit code 0."""
    started = time.perf_counter()
    built = ensure_default(departement=args.departement, force=args.force)
    prepare_map_assets()
    print(f"demo (ess): {', '.join(built['ess']) or 'non construite (données réelles présentes)'}"
          f" ; insertion (données réelles): {', '.join(built['insertion']) or '–'} "
          f"({time.perf_counter() - started:.1f} s)")
    return 0
