"""``python -m observatory demo [--departement 21] [--force]``: the embedded demonstration.

Without ``--departement`` the demo covers all of France; the job itself is
:func:`demo.job.ensure_demo`; this module only parses and prints.
"""

from __future__ import annotations

import time

from demo.job import ensure_demo, prepare_map_assets

__all__ = ["demo_command", "register"]


def register(subparsers) -> None:
    """Add the ``demo`` command."""
    parser = subparsers.add_parser(
        "demo", help="build the demonstration snapshots (synthetic data, real geography; "
                     "all France by default)")
    parser.add_argument("--departement", default=None,
                        help="build the demo of this département only (e.g. 21, Côte-d'Or) "
                             "instead of all France")
    parser.add_argument("--force", action="store_true",
                        help="rebuild the demo snapshots even if they exist")
    parser.set_defaults(func=demo_command)


def demo_command(args) -> int:
    """CLI entry: build the demo if needed, print the measured duration; exit code 0."""
    started = time.perf_counter()
    quarters = ensure_demo(departement=args.departement, force=args.force)
    prepare_map_assets()
    print(f"demo: {', '.join(quarters) or 'non construite (données réelles présentes)'} "
          f"({time.perf_counter() - started:.1f} s)")
    return 0
