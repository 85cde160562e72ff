"""Command line of the observatory: ``python -m observatory <command> ...``.

Each group of commands lives in its own module under the ``cli`` package
and exposes ``register(subparsers)``; this file only assembles them.  The command
names are a contract that observatory staff script against: keep them.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

__all__ = ["main"]

# Modules providing ``register(subparsers)``; each adds its own sub-commands.
COMMAND_MODULES = (
    "cli.geo",        # geo info | geo build
    "cli.etl",        # refresh | snapshots | export | diff
    "cli.demo",       # demo
    "cli.download",   # download <source>
    "cli.indicators", # indicators
    "cli.zones",      # zones (communes en zone blanche of a département)
)


def build_parser() -> argparse.ArgumentParser:
    """Assemble the parser from every command module that is present."""
    parser = argparse.ArgumentParser(
        prog="python -m observatory",
        description="Observatoire territorial de l'ESS: reference geography, ETL, indicators.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a command group not written yet
            if exc.name != name:
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (ValueError, KeyError, OSError, RuntimeError) as exc:
        # Our errors carry what/why/how: show them without a traceback.
        print(f"Erreur / error: {exc}", file=sys.stderr)
        if args.verbose:
            raise
        return 1
