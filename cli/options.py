"""Options shared by several commands: ``--serie``, non-empty codes, output files."""

from __future__ import annotations

import argparse
from pathlib import Path

from observatory.vocabulary import DEFAULT_SERIE, SERIES

__all__ = ["add_serie", "code", "density", "output_path"]


def add_serie(parser, *, required: bool = False) -> None:
    """``--serie NAME`` (default ``ess``): the series of snapshots the command works on."""
    parser.add_argument(
        "--serie", choices=tuple(SERIES), default=None if required else DEFAULT_SERIE,
        required=required,
        help="series of snapshots: " + "; ".join(f"{k} = {v}" for k, v in SERIES.items())
        + f" (default {DEFAULT_SERIE})")


def code(text: str) -> str:
    """argparse type of a territory code: refuses an empty or blank value (``--departement
    ""`` must not silently mean all of France)."""
    value = str(text).strip()
    if not value or any(c.isspace() for c in value):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a territory code / code de territoire invalide (e.g. 21, 2A, "
            "974); leave the option out to cover all of France")
    return value


def output_path(path: str | Path) -> Path:
    """An output file outside the snapshot store, its folder created (like ``export``)."""
    from observatory.storage import check_outside_store

    out = check_outside_store(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def density(communes, grid_path: Path | None = None):
    """Density levels of ``communes``: the INSEE grid file when given (communes missing from
    it approximated), else the approximation from population per km² (labelled
    ``source = "approximation"``), as in the app."""
    from geodata import density_grid

    grid = density_grid.read_density_grid(grid_path) if grid_path is not None else None
    return density_grid.density_levels(communes, grid)
