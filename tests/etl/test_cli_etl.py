"""The ETL commands through ``cli.main.main`` (refresh, snapshots, export, diff)."""

from __future__ import annotations

import io
import json

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
from export_reader import read_csv_export
from sirene_fixtures import establishment, geoloc, unit, write_sirene

from cli.main import main


def _sirene(folder, moved: bool = False, closed: bool = False, extra: bool = False):
    units = [unit("100029172"), unit("100070044", categorieJuridiqueUniteLegale="5710")]
    ets = [establishment("100029172", "00011", "21105" if moved else "21104"),  # new address
           establishment("100029172", "00029", "21100",
                         etatAdministratifEtablissement="F" if closed else "A"),
           establishment("100070044", "00013", "21101"),
           establishment("100070044", "00021", "97411")]
    if extra:
        ets.append(establishment("100070044", "00039", "21102"))
    geo = [geoloc("10002917200011", 5.15 if moved else 5.05, 47.35)]
    return write_sirene(folder, units, ets, geo)


@pytest.fixture
def two_quarters(tmp_path, data_dir, reference_dir, capsys):
    a = _sirene(tmp_path / "a")
    b = _sirene(tmp_path / "b", moved=True, closed=True, extra=True)
    assert main(["refresh", "--sirene-dir", str(a), "--quarter", "2026-T3", "--quiet"]) == 0
    assert main(["refresh", "--sirene-dir", str(b), "--quarter", "2026-T4", "--quiet"]) == 0
    return data_dir


def test_refresh_prints_summary_and_snapshots_lists(two_quarters, capsys):
    out = capsys.readouterr().out
    assert "sirene: read/lues 4" in out and "Location precision" in out
    assert main(["snapshots"]) == 0
    listing = capsys.readouterr().out
    assert "2026-T3" in listing and "2026-T4" in listing
    assert main(["snapshots", "--json"]) == 0
    manifests = json.loads(capsys.readouterr().out)
    assert [m["quarter"] for m in manifests] == ["2026-T3", "2026-T4"]
    assert manifests[1]["rows"]["structures"] == 5


def test_refresh_refuses_existing_quarter_then_replaces(two_quarters, tmp_path, capsys):
    a = tmp_path / "a"
    assert main(["refresh", "--sirene-dir", str(a), "--quarter", "2026-T3", "--quiet"]) == 1
    assert "--replace" in capsys.readouterr().err
    assert main(["refresh", "--sirene-dir", str(a), "--quarter", "2026-T3", "--quiet",
                 "--replace"]) == 0


def test_refresh_bad_quarter_and_missing_dir(data_dir, reference_dir, tmp_path, capsys):
    assert main(["refresh", "--sirene-dir", str(tmp_path), "--quarter", "2026-T9"]) == 1
    assert "YYYY-T1" in capsys.readouterr().err
    assert main(["refresh", "--sirene-dir", str(tmp_path / "no"), "--quarter", "2026-T4",
                 "--quiet"]) == 1
    assert "does not exist" in capsys.readouterr().err


def _read_export(path):
    """The table of an export (render.exports): CSV after its « À propos » block (which ends
    at the first empty line), the first XLSX sheet, or the first GIS layer."""
    if path.suffix == ".csv":
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        lines = raw.decode("utf-8-sig").split("\r\n")
        assert lines[0] == "À propos;Information"
        return pd.read_csv(io.StringIO("\r\n".join(lines[lines.index("") + 1:])), sep=";",
                           dtype=str)
    if path.suffix == ".xlsx":
        return pd.read_excel(path, dtype=str)
    if path.suffix == ".gpkg":  # the data layer, then the « a_propos » table
        return gpd.read_file(path, layer=str(pyogrio.list_layers(path)[0][0]))
    return gpd.read_file(path)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".geojson", ".gpkg"])
def test_export_structures(two_quarters, tmp_path, suffix):
    out = tmp_path / f"structures{suffix}"
    assert main(["export", "structures", "--snapshot", "2026-T3", "--output", str(out)]) == 0
    frame = _read_export(out)
    if suffix not in (".csv", ".xlsx"):
        assert (frame.geometry.geom_type == "Point").all()
    # the export model of render.exports (French headers, labels beside codes)
    required = ["SIRET", "SIREN", "Nom", "Famille ESS (code)", "Famille ESS", "Code commune",
                "Commune", "Code EPCI", "EPCI", "Code département", "Département",
                "Code région", "Région", "Longitude", "Latitude"]
    assert list(frame.columns[:15]) == required
    assert len(frame) == 4
    assert set(frame["SIRET"].astype(str)) == {"10002917200011", "10002917200029",
                                               "10007004400013", "10007004400021"}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".gpkg"])
def test_export_rejects(tmp_path, data_dir, reference_dir, suffix):
    folder = _sirene(tmp_path / "s")
    path = folder / "StockEtablissement_utf8.csv"
    path.write_text(path.read_text() + path.read_text().splitlines()[1] + "\n",
                    encoding="utf-8")  # a duplicated SIRET
    assert main(["refresh", "--sirene-dir", str(folder), "--quarter", "2026-T1",
                 "--quiet"]) == 0
    out = tmp_path / f"rejects{suffix}"
    assert main(["export", "rejects", "--snapshot", "2026-T1", "--output", str(out)]) == 0
    frame = _read_export(out)
    assert list(frame.columns[:4]) == ["Source", "Ligne dans la source", "SIRET",
                                       "Motif du rejet"]
    assert frame["Motif du rejet"].str.startswith("siret_en_double").tolist() == [True]


def test_export_errors(two_quarters, tmp_path, capsys):
    assert main(["export", "rejects", "--output", str(tmp_path / "r.geojson")]) == 1
    assert "GeoJSON" in capsys.readouterr().err
    assert main(["export", "structures", "--output", str(tmp_path / "r.txt")]) == 1
    assert ".csv" in capsys.readouterr().err
    assert main(["export", "structures", "--snapshot", "2020-T1",
                 "--output", str(tmp_path / "r.csv")]) == 1
    assert "2026-T3" in capsys.readouterr().err


def test_diff_per_territory(two_quarters, tmp_path, capsys):
    capsys.readouterr()
    assert main(["diff", "2026-T3", "2026-T4", "--level", "commune", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    totals = payload["totals"]
    # T3 -> T4: one new (00039 in 21102), one closed (00029), one moved (00011, 21104->21105)
    assert totals["nouveaux"] == 1 and totals["fermes"] == 1 and totals["deplaces"] == 1
    rows = {r["code"]: r for r in payload["territories"]}
    assert rows["21102"]["nouveaux"] == 1 and rows["21100"]["fermes"] == 1
    assert rows["21105"]["deplaces"] == 1
    assert main(["diff", "2026-T3", "2026-T4", "--level", "departement"]) == 0
    text = capsys.readouterr().out
    assert "21" in text and "Total" in text
    out = tmp_path / "diff.csv"
    assert main(["diff", "2026-T3", "2026-T4", "--level", "epci", "--output", str(out)]) == 0
    table = read_csv_export(out)[1]
    assert table["nouveaux"].sum() == 1
    # the project's CSV convention (render.exports.csv_bytes): decimal comma, like every other CSV
    raw = read_csv_export(out, numbers=False)[1]
    assert raw["taux_evolution"].tolist() == ["0,0", "0,0", "0,0"]
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")


def test_refresh_with_ess_france_list(tmp_path, data_dir, reference_dir, capsys):
    units = [unit("100029172"), unit("200000001", economieSocialeSolidaireUniteLegale="N"),
             unit("300000001", economieSocialeSolidaireUniteLegale="N")]
    ets = [establishment("100029172", "00011", "21104"),
           establishment("200000001", "00011", "21105"),
           establishment("300000001", "00011", "21105")]
    folder = write_sirene(tmp_path / "s", units, ets)
    ess_list = tmp_path / "liste_ess.csv"
    ess_list.write_text(
        "SIREN,Nom ou raison sociale de l'entreprise,Famille juridique de l'entreprise,"
        "Code postal,Libellé de la commune de l'établissement,"
        "Code du département de l'établissement,Département de l'établissement,"
        "Région de l'établissement\n"
        "200000001,COOPERATIVE DEMO,Coopératives,21000,DIJON,21,Côte-d'Or,"
        "Bourgogne-Franche-Comté\n"
        "100029172,JUNIOR ISEN,Associations,21000,DIJON,21,Côte-d'Or,Bourgogne-Franche-Comté\n"
        "12AB,ILLISIBLE,Associations,21000,DIJON,21,Côte-d'Or,Bourgogne-Franche-Comté\n",
        encoding="utf-8")
    assert main(["refresh", "--sirene-dir", str(folder), "--quarter", "2026-T4",
                 "--ess-list", str(ess_list), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["snapshots", "--json"]) == 0
    manifest = json.loads(capsys.readouterr().out)[0]
    assert manifest["accounting"]["ess_france"] == {
        "read": 3, "kept": 2, "rejected": 1, "by_reason": {"siren_invalide": 1}}
    assert manifest["accounting"]["sirene"]["read"] == 2  # 300000001 is neither flagged nor listed
    assert "liste_ess.csv" in manifest["sources"]["ess_france"]["sha256"]
    from observatory.storage import load_snapshot

    snap = load_snapshot("2026-T4")
    s = snap.structures.set_index("siren")
    assert bool(s.loc["200000001", "liste_ess_france"]) and not bool(
        s.loc["200000001", "flag_sirene_ess"])
    assert s.loc["100029172", "sources"] == "sirene|ess_france"
    assert snap.rejects["source"].tolist() == ["ess_france"]


def test_refresh_option_errors(data_dir, reference_dir, tmp_path, capsys):
    assert main(["refresh", "--quarter", "2026-T4", "--from-api", "--quiet"]) == 1
    assert "needs a territory" in capsys.readouterr().err
    assert main(["refresh", "--quarter", "2026-T4", "--sirene-dir", str(tmp_path),
                 "--departement", "21", "--region", "27", "--quiet"]) == 1
    assert "only one" in capsys.readouterr().err
    assert main(["refresh", "--quarter", "2026-T4", "--quiet"]) == 1
    assert "--sirene-dir" in capsys.readouterr().err


# --------------------------------------------------------------------------- series, bounds
def test_series_through_the_commands(tmp_path, data_dir, reference_dir, capsys):
    a = _sirene(tmp_path / "a")
    b = _sirene(tmp_path / "b", moved=True, closed=True, extra=True)
    assert main(["refresh", "--sirene-dir", str(a), "--quarter", "2026-T3", "--quiet"]) == 0
    for folder, quarter in ((a, "2026-T3"), (b, "2026-T4")):
        assert main(["refresh", "--serie", "insertion", "--sirene-dir", str(folder),
                     "--quarter", quarter, "--quiet", "--demo"]) == 0
    assert (data_dir / "snapshots" / "insertion" / "2026-T4" / "manifest.json").is_file()
    capsys.readouterr()
    assert main(["snapshots", "--json"]) == 0  # default series: ess
    listed = json.loads(capsys.readouterr().out)
    assert [(m["serie"], m["quarter"], m["demo"]) for m in listed] == [
        ("ess", "2026-T3", False)]
    assert main(["snapshots", "--serie", "insertion", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(m["serie"], m["quarter"], m["demo"]) for m in listed] == [
        ("insertion", "2026-T3", True), ("insertion", "2026-T4", True)]
    assert all(m["territoire"] == "france" for m in listed)
    assert main(["snapshots", "--all-series", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3
    assert main(["snapshots", "--all-series"]) == 0
    text = capsys.readouterr().out
    assert "série" in text and "insertion" in text and "ess" in text
    out = tmp_path / "ins.csv"
    assert main(["export", "structures", "--serie", "insertion", "--output", str(out)]) == 0
    assert len(read_csv_export(out, numbers=False)[1]) == 5  # 2026-T4
    capsys.readouterr()
    assert main(["diff", "2026-T3", "2026-T4", "--serie", "insertion", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["nouveaux"] == 1
    assert main(["diff", "2026-T3", "2026-T4", "--json"]) == 1  # no ess 2026-T4
    assert "2026-T3" in capsys.readouterr().err


def test_quarter_with_a_newline_refused(two_quarters, tmp_path, capsys):
    """Issue 14: ``--quarter $'2026-T4\\n'`` wrote a second 2026-T4 without --replace."""
    capsys.readouterr()
    assert main(["refresh", "--sirene-dir", str(tmp_path / "a"), "--quarter", "2026-T4\n",
                 "--quiet"]) == 1
    assert "YYYY-T1" in capsys.readouterr().err
    assert sorted(p.name for p in (two_quarters / "snapshots" / "ess").iterdir()
                  if not p.name.startswith(".")) == ["2026-T3", "2026-T4"]


@pytest.mark.parametrize("option", ["--departement", "--region"])
@pytest.mark.parametrize("value", ["", " ", "2 1"])
def test_empty_territory_refused(data_dir, reference_dir, tmp_path, capsys, option, value):
    """``--departement ""`` used to mean all of France, silently."""
    folder = _sirene(tmp_path / "a")
    with pytest.raises(SystemExit) as info:
        main(["refresh", "--sirene-dir", str(folder), "--quarter", "2026-T4", option, value,
              "--quiet"])
    assert info.value.code == 2
    assert "territory code" in capsys.readouterr().err
    assert not (data_dir / "snapshots" / "ess" / "2026-T4").exists()


def test_export_refused_inside_the_store(two_quarters, capsys):
    store = two_quarters / "snapshots"
    for target in (store / "2026-T1" / "structures.csv", store / "ess" / "x.csv",
                   store / "structures.gpkg"):
        assert main(["export", "structures", "--snapshot", "2026-T3", "--output",
                     str(target)]) == 1
        assert "inside the snapshot store" in capsys.readouterr().err
        assert not target.exists()
    assert main(["diff", "2026-T3", "2026-T4", "--output", str(store / "d.csv")]) == 1
    assert "inside the snapshot store" in capsys.readouterr().err
    assert main(["snapshots", "--json"]) == 0
    assert [m["quarter"] for m in json.loads(capsys.readouterr().out)] == [
        "2026-T3", "2026-T4"]  # no ghost quarter


def test_diff_output_creates_its_folder(two_quarters, tmp_path):
    out = tmp_path / "new" / "folder" / "diff.csv"
    assert main(["diff", "2026-T3", "2026-T4", "--level", "epci", "--output", str(out)]) == 0
    assert read_csv_export(out)[1]["nouveaux"].sum() == 1
    # the CSV convention of every other CSV: decimal comma (issue 11 item 10)
    raw = read_csv_export(out, numbers=False)[1]
    assert raw["taux_evolution"].str.fullmatch(r"-?\d+(,\d+)?").all(), raw["taux_evolution"]


def test_read_only_store_detected_before_the_work(data_dir, reference_dir, tmp_path, capsys,
                                                  monkeypatch):
    """A read-only store used to fail with a bare [Errno 30], after all the processing."""
    import errno
    import tempfile

    import etl.sirene

    folder = _sirene(tmp_path / "a")

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    def no_work(*args, **kwargs):
        raise AssertionError("the refresh started its work")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    monkeypatch.setattr(etl.sirene, "read_sirene", no_work)
    assert main(["refresh", "--sirene-dir", str(folder), "--quarter", "2026-T4",
                 "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "cannot be written" in err and "lecture seule" in err and "Read-only" in err


def test_full_store_detected_before_the_work(data_dir, reference_dir, tmp_path, capsys,
                                             monkeypatch):
    import shutil

    import etl.sirene
    from observatory import storage

    folder = _sirene(tmp_path / "a")

    def no_work(*args, **kwargs):
        raise AssertionError("the refresh started its work")

    monkeypatch.setattr(storage.shutil, "disk_usage",
                        lambda path: shutil._ntuple_diskusage(10**9, 10**9, 0))
    monkeypatch.setattr(etl.sirene, "read_sirene", no_work)
    assert main(["refresh", "--sirene-dir", str(folder), "--quarter", "2026-T4",
                 "--quiet"]) == 1
    assert "est plein" in capsys.readouterr().err


_SLOW_REFRESH = """
import sys, time
from pathlib import Path
sys.path[:0] = [{repo!r}]
from observatory import storage
from cli.main import main

original = storage.validate_written

def slow_validate(folder, manifest):  # the delay, injected by the test before the rename
    original(folder, manifest)
    gate, deadline = Path({gate!r}), time.monotonic() + 300
    while not gate.exists() and time.monotonic() < deadline:
        time.sleep(0.05)

storage.validate_written = slow_validate
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_two_concurrent_refreshes_of_one_quarter(tmp_path, data_dir, reference_dir, capsys,
                                                 monkeypatch):
    """Issue 14: both used to exit 0 and print "Snapshot ... written"; one replaced the
    other.  Now the second fails clearly and the first one's snapshot stays."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    from observatory import storage

    repo = Path(__file__).resolve().parents[2]
    first_dir = _sirene(tmp_path / "a")
    second_dir = _sirene(tmp_path / "b", extra=True)
    gate = tmp_path / "gate"
    script = tmp_path / "slow_refresh.py"
    script.write_text(_SLOW_REFRESH.format(repo=str(repo), gate=str(gate)))
    env = dict(os.environ, OBSERVATOIRE_DATA_DIR=str(data_dir),
               OBSERVATOIRE_REFERENCE_DIR=str(reference_dir))
    first = subprocess.Popen([sys.executable, str(script), "refresh", "--sirene-dir",
                              str(first_dir), "--quarter", "2026-T4", "--quiet"],
                             cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    root = data_dir / "snapshots" / "ess"
    deadline = time.monotonic() + 120
    while not list(root.glob(".tmp-2026-T4-*/manifest.json")):
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.1)
    monkeypatch.setattr(storage, "LOCK_WAIT_S", 0.5)
    assert main(["refresh", "--sirene-dir", str(second_dir), "--quarter", "2026-T4",
                 "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "being written by another process" in err and f"pid {first.pid}" in err
    gate.touch()
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert "Snapshot 2026-T4" in out
    assert len(storage.load_snapshot("2026-T4").structures) == 4  # the first one's
    # once it is done, a second run without --replace is refused, with --replace it replaces
    assert main(["refresh", "--sirene-dir", str(second_dir), "--quarter", "2026-T4",
                 "--quiet"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["refresh", "--sirene-dir", str(second_dir), "--quarter", "2026-T4",
                 "--quiet", "--replace"]) == 0
    assert len(storage.load_snapshot("2026-T4").structures) == 5
