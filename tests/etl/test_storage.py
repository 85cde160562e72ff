"""Snapshot store: quarters, atomic writes, replace, 20 % drop check, killed writers."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from observatory import storage
from observatory.errors import ConfigurationError, SnapshotError
from observatory.schema import empty_rejects, empty_structures

REPO = Path(__file__).resolve().parents[2]


def _frame(n: int) -> gpd.GeoDataFrame:
    base = empty_structures()
    rows = pd.DataFrame({"siret": [f"{i:014d}" for i in range(n)],
                         "commune": "21104", "etat_administratif": "A",
                         "longitude": 5.05, "latitude": 47.35,
                         "location_precision": "geoloc_insee"})
    frame = pd.concat([base, rows], ignore_index=True).astype(base.dtypes.to_dict())
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["longitude"],
                                                               frame["latitude"]),
                            crs="EPSG:4326")


def _manifest(quarter: str, n: int, territoire: str = "departement:21") -> dict:
    return {"quarter": quarter, "territoire": territoire, "demo": False,
            "accounting": {"sirene": {"read": n, "kept": n, "rejected": 0}}}


def _tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(("quarter", "previous"), [
    ("2026-T4", "2026-T3"), ("2026-T2", "2026-T1"), ("2026-T1", "2025-T4")])
def test_previous_quarter(quarter, previous):
    assert storage.previous_quarter(quarter) == previous


@pytest.mark.parametrize("bad", ["2026-Q4", "2026-T5", "26-T1", "2026T1", "", None])
def test_quarter_validation(bad):
    with pytest.raises(ConfigurationError, match="YYYY-T1"):
        storage.validate_quarter(bad)


def test_write_list_load_roundtrip(data_dir):
    structures = _frame(5)
    rejects = pd.concat([empty_rejects(), pd.DataFrame(
        {"source": ["sirene"], "ligne": [3], "siret": ["x"], "raison": ["siret_invalide: x"],
         "donnees": ["{}"]})], ignore_index=True)
    path = storage.write_snapshot(structures, rejects, _manifest("2026-T3", 6))
    assert path == data_dir / "snapshots" / "2026-T3"
    listed = storage.list_snapshots()
    assert [m["quarter"] for m in listed] == ["2026-T3"]
    assert listed[0]["rows"] == {"structures": 5, "rejects": 1}
    snap = storage.load_snapshot()
    assert snap.quarter == "2026-T3" and len(snap.structures) == 5
    assert isinstance(snap.structures, gpd.GeoDataFrame)
    assert snap.structures.crs.to_epsg() == 4326
    assert str(snap.structures["siret"].dtype) == "string"
    assert snap.rejects["raison"].tolist() == ["siret_invalide: x"]
    import pyarrow.parquet as pq

    geo = json.loads(pq.read_schema(path / "structures.parquet").metadata[b"geo"])
    assert geo["primary_column"] == "geometry"


def test_existing_quarter_refused_without_replace(data_dir):
    storage.write_snapshot(_frame(5), empty_rejects(), _manifest("2026-T3", 5))
    before = _tree_digest(data_dir / "snapshots")
    with pytest.raises(SnapshotError, match="--replace"):
        storage.write_snapshot(_frame(6), empty_rejects(), _manifest("2026-T3", 6))
    assert _tree_digest(data_dir / "snapshots") == before
    storage.write_snapshot(_frame(6), empty_rejects(), _manifest("2026-T3", 6), replace=True)
    assert storage.load_snapshot("2026-T3").manifest["rows"]["structures"] == 6
    assert [p.name for p in (data_dir / "snapshots").iterdir()] == ["2026-T3"]


def test_drop_of_more_than_20_percent_refused_then_forced(data_dir):
    storage.write_snapshot(_frame(100), empty_rejects(), _manifest("2026-T3", 100))
    with pytest.raises(SnapshotError, match="--force"):
        storage.write_snapshot(_frame(79), empty_rejects(), _manifest("2026-T4", 79))
    assert not (data_dir / "snapshots" / "2026-T4").exists()
    storage.write_snapshot(_frame(80), empty_rejects(), _manifest("2026-T4", 80))  # 20 %: ok
    # another territory is not compared
    storage.write_snapshot(_frame(10), empty_rejects(),
                           _manifest("2027-T1", 10, territoire="departement:75"))
    with pytest.raises(SnapshotError):
        storage.write_snapshot(_frame(50), empty_rejects(), _manifest("2027-T2", 50))
    path = storage.write_snapshot(_frame(50), empty_rejects(), _manifest("2027-T2", 50),
                                  force=True)
    assert json.loads((path / "manifest.json").read_text())["previous"] == {
        "quarter": "2026-T4", "structures": 80}


def test_validation_failure_leaves_store_intact(data_dir):
    storage.write_snapshot(_frame(5), empty_rejects(), _manifest("2026-T3", 5))
    before = _tree_digest(data_dir / "snapshots")
    bad = _manifest("2026-T3", 5)
    bad["accounting"]["sirene"]["read"] = 9  # 9 != 5 + 0
    with pytest.raises(SnapshotError, match="read 9"):
        storage.write_snapshot(_frame(5), empty_rejects(), bad, replace=True)
    assert _tree_digest(data_dir / "snapshots") == before


def test_leftovers_ignored_and_cleaned(data_dir):
    root = data_dir / "snapshots"
    storage.write_snapshot(_frame(5), empty_rejects(), _manifest("2026-T3", 5))
    dead = root / ".tmp-2026-T4-999999999"
    dead.mkdir()
    (dead / "structures.parquet").write_bytes(b"partial")
    incomplete = root / "2026-T2"
    incomplete.mkdir()  # a folder without manifest is not a snapshot
    assert [m["quarter"] for m in storage.list_snapshots()] == ["2026-T3"]
    storage.write_snapshot(_frame(5), empty_rejects(), _manifest("2026-T4", 5))
    assert not dead.exists()


def test_interrupted_replace_is_repaired(data_dir):
    root = data_dir / "snapshots"
    storage.write_snapshot(_frame(5), empty_rejects(), _manifest("2026-T3", 5))
    before = _tree_digest(root / "2026-T3")
    (root / "2026-T3").rename(root / ".old-2026-T3-999999999")  # killed between renames
    assert [m["quarter"] for m in storage.list_snapshots()] == ["2026-T3"]  # readers repair
    assert _tree_digest(root / "2026-T3") == before
    (root / "2026-T3").rename(root / ".old-2026-T3-999999999")
    storage.write_snapshot(_frame(5), empty_rejects(), _manifest("2026-T4", 5))
    assert _tree_digest(root / "2026-T3") == before


_WRITER = textwrap.dedent("""
    import sys
    sys.path[:0] = [{repo!r}, {tests!r}]
    from test_storage import _frame, _manifest
    from observatory.schema import empty_rejects
    from observatory import storage
    storage.write_snapshot(_frame({n}), empty_rejects(), _manifest({quarter!r}, {n}),
                           replace={replace})
    print("done")
""")


def _start_writer(tmp_path, data_dir, quarter, n, replace) -> subprocess.Popen:
    script = tmp_path / f"writer_{quarter}.py"
    script.write_text(_WRITER.format(repo=str(REPO), tests=str(Path(__file__).parent),
                                     n=n, quarter=quarter, replace=replace))
    env = dict(os.environ, OBSERVATOIRE_DATA_DIR=str(data_dir),
               **{storage.SLEEP_ENV: "300"})
    return subprocess.Popen([sys.executable, str(script)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_tmp(root: Path, proc: subprocess.Popen, timeout: float = 180) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [p for p in root.glob(".tmp-*") if (p / "manifest.json").exists()]
        if found:
            return found[0]
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode())
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the writer never reached the rename")


@pytest.mark.slow
@pytest.mark.parametrize(("quarter", "replace"), [("2026-T4", False), ("2026-T3", True)])
def test_killed_writer_leaves_previous_snapshots_identical(tmp_path, data_dir, quarter,
                                                           replace):
    root = data_dir / "snapshots"
    storage.write_snapshot(_frame(5), empty_rejects(), _manifest("2026-T2", 5))
    storage.write_snapshot(_frame(6), empty_rejects(), _manifest("2026-T3", 6))
    before = _tree_digest(root)
    proc = _start_writer(tmp_path, data_dir, quarter, 7, replace)
    tmp = _wait_for_tmp(root, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)  # reaps the process and closes its pipes
    assert proc.returncode == -signal.SIGKILL
    after = {k: v for k, v in _tree_digest(root).items() if not k.startswith(".tmp-")}
    assert after == before
    assert [m["quarter"] for m in storage.list_snapshots()] == ["2026-T2", "2026-T3"]
    assert storage.load_snapshot("2026-T3").manifest["rows"]["structures"] == 6
    # the next write cleans the dead temporary folder
    storage.write_snapshot(_frame(6), empty_rejects(), _manifest("2027-T1", 6))
    assert not tmp.exists()


@pytest.mark.slow
def test_killed_refresh_command_leaves_store_identical(tmp_path, data_dir):
    """``python -m observatory refresh`` killed (SIGKILL) after writing, before the rename."""
    from sirene_fixtures import establishment, unit, write_sirene, write_tiny_reference

    reference = write_tiny_reference(tmp_path / "reference")
    folder = write_sirene(tmp_path / "sirene", [unit("100000001")],
                          [establishment("100000001", f"{i:05d}", "21104") for i in range(1, 6)])
    env = dict(os.environ, OBSERVATOIRE_DATA_DIR=str(data_dir),
               OBSERVATOIRE_REFERENCE_DIR=str(reference))
    command = [sys.executable, "-m", "observatory", "refresh", "--sirene-dir", str(folder),
               "--quiet"]
    subprocess.run(command + ["--quarter", "2026-T3"], env=env, cwd=REPO, check=True,
                   capture_output=True)
    root = data_dir / "snapshots"
    before = _tree_digest(root)
    for extra in (["--quarter", "2026-T4"], ["--quarter", "2026-T3", "--replace"]):
        proc = subprocess.Popen(command + extra, cwd=REPO, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env={**env, storage.SLEEP_ENV: "300"})
        _wait_for_tmp(root, proc)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        after = {k: v for k, v in _tree_digest(root).items() if not k.startswith(".tmp-")}
        assert after == before
    assert [m["quarter"] for m in storage.list_snapshots()] == ["2026-T3"]
    assert len(storage.load_snapshot("2026-T3").structures) == 5
