"""Snapshot store: series, quarters, atomic writes, replace, 20 % drop check, the legacy
layout, the writers' lock (concurrent writers, readers and live temporary folders), killed
writers.  Delays are injected from the tests (a writer script wraps
``storage.validate_written``); the production write path has no test hook."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
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


def _manifest(quarter: str, n: int, territoire: str = "departement:21",
              serie: str | None = None) -> dict:
    manifest = {"quarter": quarter, "territoire": territoire, "demo": False,
                "accounting": {"sirene": {"read": n, "kept": n, "rejected": 0}}}
    if serie is not None:
        manifest["serie"] = serie
    return manifest


def _tree_digest(root: Path) -> dict[str, str]:
    """sha256 of every file of the store but the lock files (who held them last)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".lock-")}


@pytest.mark.parametrize(("quarter", "previous"), [
    ("2026-T4", "2026-T3"), ("2026-T2", "2026-T1"), ("2026-T1", "2025-T4")])
def test_previous_quarter(quarter, previous):
    assert storage.previous_quarter(quarter) == previous


@pytest.mark.parametrize("bad", ["2026-Q4", "2026-T5", "26-T1", "2026T1", "", None,
                                 "2026-T4\n", " 2026-T4", "2026-T4 ", "x2026-T4"])
def test_quarter_validation(bad):
    with pytest.raises(ConfigurationError, match="YYYY-T1"):
        storage.validate_quarter(bad)


def test_write_list_load_roundtrip(data_dir):
    structures = _frame(5)
    rejects = pd.concat([empty_rejects(), pd.DataFrame(
        {"source": ["sirene"], "ligne": [3], "siret": ["x"], "raison": ["siret_invalide: x"],
         "donnees": ["{}"]})], ignore_index=True)
    path = storage.write_snapshot(structures, rejects, _manifest("2026-T3", 6))
    assert path == data_dir / "snapshots" / "ess" / "2026-T3"
    listed = storage.list_snapshots()
    assert [m["quarter"] for m in listed] == ["2026-T3"]
    assert listed[0]["serie"] == "ess" and listed[0]["demo"] is False
    assert listed[0]["rows"] == {"structures": 5, "rejects": 1}
    snap = storage.load_snapshot()
    assert snap.quarter == "2026-T3" and len(snap.structures) == 5 and snap.serie == "ess"
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
    assert [p.name for p in (data_dir / "snapshots" / "ess").iterdir()
            if not p.name.startswith(".lock-")] == ["2026-T3"]


def test_drop_of_more_than_20_percent_refused_then_forced(data_dir):
    storage.write_snapshot(_frame(100), empty_rejects(), _manifest("2026-T3", 100))
    with pytest.raises(SnapshotError, match="--force"):
        storage.write_snapshot(_frame(79), empty_rejects(), _manifest("2026-T4", 79))
    assert not (data_dir / "snapshots" / "ess" / "2026-T4").exists()
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
    """A temporary folder whose lock is free (its writer is gone) is stale: removed."""
    root = data_dir / "snapshots" / "ess"
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
    root = data_dir / "snapshots" / "ess"
    storage.write_snapshot(_frame(5), empty_rejects(), _manifest("2026-T3", 5))
    before = _tree_digest(root / "2026-T3")
    (root / "2026-T3").rename(root / ".old-2026-T3-999999999")  # killed between renames
    assert [m["quarter"] for m in storage.list_snapshots()] == ["2026-T3"]  # readers repair
    assert _tree_digest(root / "2026-T3") == before
    (root / "2026-T3").rename(root / ".old-2026-T3-999999999")
    storage.write_snapshot(_frame(5), empty_rejects(), _manifest("2026-T4", 5))
    assert _tree_digest(root / "2026-T3") == before




# --------------------------------------------------------------------------- series
def test_series_side_by_side(data_dir):
    root = data_dir / "snapshots"
    storage.write_snapshot(_frame(100), empty_rejects(), _manifest("2026-T3", 100))
    # another series: never compared with the ess one (10 is not a 90 % drop of ess)
    path = storage.write_snapshot(_frame(10), empty_rejects(),
                                  _manifest("2026-T4", 10, serie="insertion"))
    assert path == root / "insertion" / "2026-T4"
    assert storage.list_series() == ["ess", "insertion"]
    assert [(m["serie"], m["quarter"]) for m in storage.list_snapshots()] == [
        ("ess", "2026-T3"), ("insertion", "2026-T4")]
    assert [m["quarter"] for m in storage.list_snapshots(serie="insertion")] == ["2026-T4"]
    assert storage.load_snapshot().quarter == "2026-T3"  # default series: ess
    snap = storage.load_snapshot(serie="insertion")
    assert (snap.serie, snap.quarter, len(snap.structures)) == ("insertion", "2026-T4", 10)
    assert snap.manifest["serie"] == "insertion"
    assert json.loads((path / "manifest.json").read_text())["serie"] == "insertion"
    with pytest.raises(SnapshotError, match="2026-T4"):
        storage.load_snapshot("2026-T3", serie="insertion")
    assert storage.snapshot_path("2026-T4", serie="insertion") == path


def test_unknown_serie_refused(data_dir):
    with pytest.raises(ConfigurationError, match="insertion"):
        storage.write_snapshot(_frame(5), empty_rejects(), _manifest("2026-T3", 5, serie="x"))
    with pytest.raises(ConfigurationError, match="Unknown series"):
        storage.list_snapshots(serie="../ess")
    assert not (data_dir / "snapshots" / "x").exists()


def _legacy_store(data_dir) -> Path:
    """A store written before the series: ``snapshots/<quarter>/`` without ``serie``."""
    root = data_dir / "snapshots"
    for quarter, n in (("2026-T2", 5), ("2026-T3", 6)):
        storage.write_snapshot(_frame(n), empty_rejects(), _manifest(quarter, n))
    for quarter in ("2026-T2", "2026-T3"):
        folder = root / "ess" / quarter
        manifest = json.loads((folder / "manifest.json").read_text())
        del manifest["serie"]
        (folder / "manifest.json").write_text(json.dumps(manifest))
        folder.rename(root / quarter)
    shutil.rmtree(root / "ess")
    return root


def test_legacy_layout_read_as_ess_then_migrated(data_dir):
    root = _legacy_store(data_dir)
    before = _tree_digest(root)
    listed = storage.list_snapshots()
    assert [(m["serie"], m["quarter"]) for m in listed] == [("ess", "2026-T2"),
                                                            ("ess", "2026-T3")]
    assert storage.list_series() == ["ess"]
    assert len(storage.load_snapshot("2026-T3").structures) == 6
    assert storage.snapshot_path("2026-T3") == root / "2026-T3"
    assert _tree_digest(root) == before  # readers do not move anything
    # the next write moves each legacy snapshot, unchanged, into the ess series
    storage.write_snapshot(_frame(6), empty_rejects(), _manifest("2026-T4", 6))
    assert not (root / "2026-T2").exists() and not (root / "2026-T3").exists()
    moved = {k.removeprefix("ess/"): v for k, v in _tree_digest(root).items()
             if not k.startswith("ess/2026-T4")}
    assert moved == before
    assert [m["quarter"] for m in storage.list_snapshots(serie="ess")] == [
        "2026-T2", "2026-T3", "2026-T4"]
    # the drop check saw the legacy 2026-T3 as the previous ess snapshot
    assert storage.load_snapshot("2026-T4").manifest["previous"] == {
        "quarter": "2026-T3", "structures": 6}


def test_legacy_interrupted_replace_restored_then_migrated(data_dir):
    root = _legacy_store(data_dir)
    before = _tree_digest(root / "2026-T3")
    (root / "2026-T3").rename(root / ".old-2026-T3-999999999")  # a killed replace, old code
    assert [m["quarter"] for m in storage.list_snapshots()] == ["2026-T2", "2026-T3"]
    assert _tree_digest(root / "2026-T3") == before
    (root / "2026-T3").rename(root / ".old-2026-T3-999999999")
    storage.write_snapshot(_frame(6), empty_rejects(), _manifest("2026-T4", 6))
    assert _tree_digest(root / "ess" / "2026-T3") == before
    assert not list(root.glob(".old-*"))


def test_no_test_hook_in_production_code():
    """The sleep hook left the write path: delays are injected by the tests."""
    offenders = [str(p.relative_to(REPO)) for pkg in ("observatory", "etl", "cli", "demo")
                 for p in (REPO / pkg).rglob("*.py")
                 if "OBSERVATOIRE_TEST" in p.read_text(encoding="utf-8")]
    assert offenders == []
    assert not hasattr(storage, "SLEEP_ENV")


# --------------------------------------------------------------------------- writers' lock
_WRITER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    sys.path[:0] = [{repo!r}, {tests!r}]
    from test_storage import _frame, _manifest
    from observatory.schema import empty_rejects
    from observatory import storage

    if {fake_pid}:  # a PID that means nothing to the reader (another PID namespace)
        os.getpid = lambda: {fake_pid}
    original = storage.validate_written

    def slow_validate(folder, manifest):  # the delay, injected before the rename
        original(folder, manifest)
        print("validated", flush=True)
        gate, deadline = Path({gate!r}), time.monotonic() + {delay}
        while not gate.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    storage.validate_written = slow_validate
    storage.LOCK_WAIT_S = {lock_wait}
    storage.write_snapshot(_frame({n}), empty_rejects(),
                           _manifest({quarter!r}, {n}, serie={serie!r}), replace={replace})
    print("done", flush=True)
""")


def _start_writer(tmp_path, data_dir, quarter, n, replace=False, *, delay=300.0,
                  gate=None, fake_pid=0, lock_wait=10.0, serie="ess", name=None):
    script = tmp_path / f"writer_{name or quarter}_{n}.py"
    script.write_text(_WRITER.format(
        repo=str(REPO), tests=str(Path(__file__).parent), n=n, quarter=quarter,
        replace=replace, delay=delay, gate=str(gate or tmp_path / "never"),
        fake_pid=fake_pid, lock_wait=lock_wait, serie=serie))
    env = dict(os.environ, OBSERVATOIRE_DATA_DIR=str(data_dir))
    return subprocess.Popen([sys.executable, str(script)], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _wait_for_tmp(root: Path, proc: subprocess.Popen, timeout: float = 180) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [p for p in root.rglob(".tmp-*") if (p / "manifest.json").exists()]
        if found:
            return found[0]
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read())
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the writer never reached the rename")


@pytest.mark.slow
def test_two_concurrent_writers_of_one_quarter(tmp_path, data_dir):
    """Both start at once, without replace: exactly one writes, the other fails clearly."""
    root = data_dir / "snapshots"
    procs = [_start_writer(tmp_path, data_dir, "2026-T4", n, delay=1.0) for n in (5, 6)]
    results = [(p.wait(timeout=180), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], results
    winner = next(i for i, (code, _, _) in enumerate(results) if code == 0)
    loser_err = next(err for code, _, err in results if code != 0)
    assert "SnapshotError" in loser_err
    assert "already exists" in loser_err or "being written by another process" in loser_err
    assert "--replace" in loser_err
    snap = storage.load_snapshot("2026-T4")
    assert len(snap.structures) == (5, 6)[winner]
    assert [m["quarter"] for m in storage.list_snapshots()] == ["2026-T4"]
    assert not list(root.rglob(".tmp-*"))


@pytest.mark.slow
def test_second_writer_fails_while_the_first_holds_the_lock(tmp_path, data_dir):
    gate = tmp_path / "gate"
    first = _start_writer(tmp_path, data_dir, "2026-T4", 5, gate=gate)
    _wait_for_tmp(data_dir / "snapshots", first)
    second = _start_writer(tmp_path, data_dir, "2026-T4", 6, lock_wait=0.5, delay=0)
    _, err = second.communicate(timeout=120)
    assert second.returncode == 1
    assert "being written by another process" in err and "en cours d'écriture" in err
    assert f"pid {first.pid}" in err
    # another series, or another quarter, is not blocked
    other = _start_writer(tmp_path, data_dir, "2026-T4", 7, delay=0, serie="insertion")
    _, err = other.communicate(timeout=120)
    assert other.returncode == 0, err
    gate.touch()
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert len(storage.load_snapshot("2026-T4").structures) == 5
    assert len(storage.load_snapshot("2026-T4", serie="insertion").structures) == 7


def _hold_lock(path: Path) -> subprocess.Popen:
    """Another process holding a lock, until its stdin is closed."""
    code = ("import fcntl, os, sys\n"
            f"fd = os.open({str(path)!r}, os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('locked', flush=True)\nsys.stdin.read()\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_readers_and_writers_keep_a_locked_temporary_folder(data_dir):
    """A writer in another PID namespace: its PID does not exist here, its lock is held."""
    root = data_dir / "snapshots" / "ess"
    storage.write_snapshot(_frame(5), empty_rejects(), _manifest("2026-T3", 5))
    live = root / ".tmp-2026-T4-999999999"
    live.mkdir()
    (live / "structures.parquet").write_bytes(b"being written")
    holder = _hold_lock(root / ".lock-2026-T4")
    try:
        assert [m["quarter"] for m in storage.list_snapshots()] == ["2026-T3"]
        storage.write_snapshot(_frame(5), empty_rejects(), _manifest("2027-T1", 5))
        assert live.exists() and (live / "structures.parquet").read_bytes() == b"being written"
        with pytest.raises(SnapshotError, match="being written by another process"), \
                storage.writer_lock("2026-T4", wait=0.2):
            pass
    finally:
        holder.communicate(timeout=30)  # closes its stdin: it exits, the kernel frees the lock
    # the writer is gone (lock free): the folder is stale, removed at the next write
    storage.write_snapshot(_frame(5), empty_rejects(), _manifest("2027-T2", 5))
    assert not live.exists()


@pytest.mark.slow
def test_live_writer_with_foreign_pid_survives_readers(tmp_path, data_dir):
    """The probe of issue 14: readers used to delete the folder of a writer whose PID they
    could not see, and the writer then failed with [Errno 2]."""
    gate = tmp_path / "gate"
    storage.write_snapshot(_frame(5), empty_rejects(), _manifest("2026-T3", 5))
    writer = _start_writer(tmp_path, data_dir, "2026-T4", 6, gate=gate, fake_pid=999999999)
    tmp = _wait_for_tmp(data_dir / "snapshots", writer)
    assert tmp.name == ".tmp-2026-T4-999999999"
    for _ in range(3):
        assert [m["quarter"] for m in storage.list_snapshots()] == ["2026-T3"]
    storage.write_snapshot(_frame(5), empty_rejects(), _manifest("2027-T1", 5))
    assert tmp.exists()
    gate.touch()
    out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    assert len(storage.load_snapshot("2026-T4").structures) == 6


def test_lock_is_reentrant_and_released(data_dir):
    lock = data_dir / "snapshots" / "ess" / ".lock-2026-T4"
    with storage.writer_lock("2026-T4"), storage.writer_lock("2026-T4", wait=0):
        fd = os.open(lock, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    fd = os.open(lock, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- store checks
def test_full_store_detected_before_work(data_dir, monkeypatch):
    monkeypatch.setattr(storage.shutil, "disk_usage",
                        lambda path: shutil._ntuple_diskusage(10**9, 10**9 - 2**20, 2**20))
    with pytest.raises(SnapshotError, match="est plein") as info:
        storage.check_writable("2026-T4")
    assert "1 MB free" in str(info.value)


def test_read_only_store_detected_before_work(data_dir, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(storage.tempfile, "mkstemp", read_only)
    with pytest.raises(SnapshotError, match="lecture seule"):
        storage.check_writable("2026-T4")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permission bits")
def test_read_only_folder_detected(data_dir):
    folder = data_dir / "snapshots" / "ess"
    folder.mkdir(parents=True)
    folder.chmod(0o555)
    try:
        with pytest.raises(SnapshotError, match="cannot be written"):
            storage.check_writable("2026-T4")
    finally:
        folder.chmod(0o755)


def test_existing_quarter_refused_before_work(data_dir):
    storage.write_snapshot(_frame(5), empty_rejects(), _manifest("2026-T3", 5))
    with pytest.raises(SnapshotError, match="--replace"):
        storage.check_writable("2026-T3")
    assert storage.check_writable("2026-T3", replace=True) == (
        data_dir / "snapshots" / "ess" / "2026-T3")
    assert storage.check_writable("2026-T3", serie="insertion") == (
        data_dir / "snapshots" / "insertion" / "2026-T3")


def test_outputs_refused_inside_the_store(data_dir, tmp_path):
    root = data_dir / "snapshots"
    for inside in (root / "x.csv", root / "2026-T5" / "x.csv", root / "ess" / ".." / "y.csv"):
        with pytest.raises(ConfigurationError, match="inside the snapshot store"):
            storage.check_outside_store(inside)
    assert storage.check_outside_store(tmp_path / "out" / "x.csv") == tmp_path / "out" / "x.csv"
    assert storage.check_outside_store(data_dir / "exports" / "x.csv")


# --------------------------------------------------------------------------- killed writers
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
    after = {k: v for k, v in _tree_digest(root).items() if "/.tmp-" not in k}
    assert after == before
    assert [m["quarter"] for m in storage.list_snapshots()] == ["2026-T2", "2026-T3"]
    assert storage.load_snapshot("2026-T3").manifest["rows"]["structures"] == 6
    # the kernel released the dead writer's lock: the next write cleans its folder
    storage.write_snapshot(_frame(6), empty_rejects(), _manifest("2027-T1", 6))
    assert not tmp.exists()


_REFRESH = textwrap.dedent("""
    import sys, time
    sys.path[:0] = [{repo!r}]
    from observatory import storage
    from cli.main import main

    original = storage.validate_written

    def slow_validate(folder, manifest):  # the delay, injected before the rename
        original(folder, manifest)
        time.sleep(300)

    storage.validate_written = slow_validate
    sys.exit(main(sys.argv[1:]))
""")


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
    script = tmp_path / "slow_refresh.py"
    script.write_text(_REFRESH.format(repo=str(REPO)))
    for extra in (["--quarter", "2026-T4"], ["--quarter", "2026-T3", "--replace"]):
        proc = subprocess.Popen([sys.executable, str(script), *command[3:], *extra], cwd=REPO,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        _wait_for_tmp(root, proc)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        after = {k: v for k, v in _tree_digest(root).items() if "/.tmp-" not in k}
        assert after == before
    assert [m["quarter"] for m in storage.list_snapshots()] == ["2026-T3"]
    assert len(storage.load_snapshot("2026-T3").structures) == 5


def test_load_snapshot_active_only_and_without_columns(data_dir):
    """Five structures, the 2nd and the 4th closed: read with ``active_only`` gives the 3
    others in their order; ``without`` geometry gives a plain frame without that column."""
    frame = _frame(5)
    frame.loc[[1, 3], "etat_administratif"] = "F"
    storage.write_snapshot(frame, empty_rejects(), _manifest("2026-T4", 5))
    whole = storage.load_snapshot("2026-T4")
    assert len(whole.structures) == 5 and isinstance(whole.structures, gpd.GeoDataFrame)
    light = storage.load_snapshot("2026-T4", active_only=True,
                                  without=("geometry", "millesimes"))
    assert light.structures["siret"].tolist() == [f"{i:014d}" for i in (0, 2, 4)]
    assert "geometry" not in light.structures and "millesimes" not in light.structures
    assert not isinstance(light.structures, gpd.GeoDataFrame)
    assert str(light.structures["siret"].dtype) == str(whole.structures["siret"].dtype)
