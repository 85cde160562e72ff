"""Scratch space (issue 14: "kill -9 leaks the scratch folder with the extracted stock CSV:
314 MB in the test, several GB with the real national files").

A refresh reading SIRENE zips is killed with SIGKILL while its extracted CSV sits in the
scratch folder: the folder is under ``<data dir>/tmp`` and the next run removes it; a run
still at work is never swept.  The pause is injected by the test (the child process wraps
``duckdb.connect``, called right after the extraction), not by the production code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sirene_fixtures import establishment, unit, write_sirene

REPO = Path(__file__).resolve().parents[2]

CHILD = """
import sys, time
import duckdb
sys.path.insert(0, {fixtures!r})
real = duckdb.connect
def paused(*args, **kwargs):  # called once the zips are extracted: wait to be killed
    print("EXTRACTED", flush=True)
    time.sleep(600)
    return real(*args, **kwargs)
duckdb.connect = paused
from etl.sirene import read_sirene
read_sirene({folder!r}, progress=False)
"""


def _start(folder: Path, data: Path) -> subprocess.Popen:
    env = {**os.environ, "OBSERVATOIRE_DATA_DIR": str(data), "PYTHONPATH": str(REPO)}
    code = CHILD.format(fixtures=str(Path(__file__).parent), folder=str(folder))
    child = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = child.stdout.readline()  # blocks until the child has extracted the zips
    if line.strip() != "EXTRACTED":
        _kill(child)
        pytest.fail(f"child did not reach the pause: {line!r}")
    return child


def _kill(child: subprocess.Popen) -> int:
    """SIGKILL, as ``kill -9``; the child's pipes are drained and closed."""
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    return child.returncode


def _leftovers(data: Path) -> list[Path]:
    return sorted((data / "tmp").glob("sirene-*/*.csv")) if (data / "tmp").is_dir() else []


def test_killed_run_leaves_its_scratch_under_the_data_dir_and_the_next_run_removes_it(
        tmp_path, monkeypatch):
    from etl.scratch import sweep_scratch
    from etl.sirene import read_sirene

    folder = write_sirene(tmp_path / "s", [unit("100000001")],
                          [establishment("100000001", f"{i:05d}") for i in range(1, 2001)],
                          fmt="zip")
    data = tmp_path / "data"
    monkeypatch.setenv("OBSERVATOIRE_DATA_DIR", str(data))
    child = _start(folder, data)
    try:
        extracted = _leftovers(data)
        assert {p.name for p in extracted} == {"StockUniteLegale_utf8.csv",
                                               "StockEtablissement_utf8.csv"}
        assert sweep_scratch() == []  # the live run's folder is not swept
        assert _leftovers(data) == extracted
    finally:
        code = _kill(child)
    assert code == -signal.SIGKILL
    assert _leftovers(data) == extracted  # kill -9 could not clean up...
    result = read_sirene(folder, progress=False)  # ...the next run does
    assert result.read == 2000
    assert _leftovers(data) == []
    assert list((data / "tmp").iterdir()) == []  # lock files gone too


def test_refresh_sweeps_at_its_start(tmp_path, monkeypatch, tiny_reference):
    from etl.refresh import RefreshOptions, run_refresh

    folder = write_sirene(tmp_path / "s", [unit("100000001")],
                          [establishment("100000001", "00011")], fmt="zip")
    data = tmp_path / "data"
    monkeypatch.setenv("OBSERVATOIRE_DATA_DIR", str(data))
    _kill(_start(folder, data))
    assert _leftovers(data)
    actors = tmp_path / "acteurs.csv"  # a refresh without SIRENE cleans up all the same
    actors.write_text("Nom;Code INSEE\nA;21101\n", encoding="utf-8")
    started = time.monotonic()
    run_refresh(RefreshOptions(quarter="2026-T4", actors_file=actors, geocode=False),
                reference=tiny_reference, progress=False)
    assert _leftovers(data) == [] and time.monotonic() - started < 120
