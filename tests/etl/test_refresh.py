"""The refresh job end to end on tiny official-format files and the tiny reference."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest
from sirene_fixtures import establishment, geoloc, unit, write_sirene

from etl.refresh import RefreshOptions, combine_sources, run_refresh
from observatory import storage
from observatory.errors import ConfigurationError, DataValidationError, SnapshotError
from observatory.schema import SourceResult, empty_rejects, empty_structures


def _files(folder, n_extra: int = 0, fmt: str = "csv"):
    units = [unit("100029172"), unit("100070044", categorieJuridiqueUniteLegale="5710"),
             unit("200000001", economieSocialeSolidaireUniteLegale="N")]
    ets = [establishment("100029172", "00011", "21104"),
           establishment("100029172", "00029", "21100"),
           establishment("100070044", "00013", "75101"),
           establishment("100070044", "00021", "97411"),
           establishment("100070044", "00039", "12345"),      # unknown commune, no point
           establishment("100070044", "00039", "21104"),      # duplicated SIRET
           establishment("200000001", "00011", "21104")]      # not ESS
    ets += [establishment("100029172", f"{100 + i:05d}", "21105") for i in range(n_extra)]
    geo = [geoloc("10002917200011", 4.95, 47.35),           # declared 21104, point 3.8 km off
           geoloc("10007004400013", 2.33, 48.86, qualite="33")]
    return write_sirene(folder, units, ets, geo, fmt=fmt)


def _tree(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.startswith(".lock-")}  # locks: who held them last


def test_refresh_end_to_end(tmp_path, data_dir, tiny_reference):
    folder = _files(tmp_path / "sirene")
    result = run_refresh(RefreshOptions(quarter="2026-T3", sirene_dir=folder, demo=True),
                         reference=tiny_reference, progress=False)
    assert result.path == data_dir / "snapshots" / "ess" / "2026-T3"
    acc = result.accounting
    assert acc["sirene"] == {"read": 6, "kept": 5, "rejected": 1,
                             "by_reason": {"siret_en_double": 1}, "filtered": 1, "merged": 0}
    assert acc["assignation"]["read"] == 5 and acc["assignation"]["rejected"] == 1
    assert acc["assignation"]["by_reason"] == {"commune_inconnue": 1}
    assert result.rows == {"structures": 4, "rejects": 2}
    assert sum(result.location_precision.values()) == 4
    # the géolocalisé point of ...011 lies in 21103, 3.8 km from its declared commune 21104:
    # implausible, no Lambert coordinates -> centroid of 21104
    assert result.location_precision == {"centroide_commune": 3, "commune_aleatoire": 1}
    snap = storage.load_snapshot("2026-T3")
    s = snap.structures.set_index("siret")
    assert s.loc["10002917200011", "commune"] == "21104"
    assert not bool(s.loc["10002917200011", "commune_desaccord"])
    assert s.loc["10007004400013", "commune"] == "75056"
    assert s.loc["10007004400021", "region"] == "04"
    assert set(snap.rejects["source"]) == {"sirene", "assignation"}
    m = snap.manifest
    assert m["demo"] is True and m["territoire"] == "france" and m["cog"] == "COG test"
    assert m["code_version"]
    assert set(m["sources"]["sirene"]["sha256"]) == {
        "StockUniteLegale_utf8.csv", "StockEtablissement_utf8.csv",
        "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.csv"}
    assert m["sources"]["sirene"]["vintage"].startswith("SIRENE stock ")
    located = m["sources"]["sirene"]["notes"]["localisation"]
    assert (located["geolocalise_implausible"], located["centroide_apres_point_implausible"],
            located["point_geolocalise"]) == (1, 1, 1)
    summary = result.summary()
    assert "lignes par source" in summary and "siret_en_double: 1" in summary
    assert json.loads(s.loc["10002917200011", "millesimes"])["sirene"] == m["sources"][
        "sirene"]["vintage"]


def test_refresh_departement(tmp_path, data_dir, tiny_reference):
    folder = _files(tmp_path / "sirene")
    result = run_refresh(RefreshOptions(quarter="2026-T3", sirene_dir=folder,
                                        departement="21"),
                         reference=tiny_reference, progress=False)
    snap = storage.load_snapshot()
    assert set(snap.structures["departement"]) == {"21"}
    assert result.territoire == "departement:21"
    assert result.accounting["sirene"]["read"] == 3  # 00011, 00029, dup 00039 (21104)
    with pytest.raises(ConfigurationError, match="Unknown département"):
        run_refresh(RefreshOptions(quarter="2026-T4", sirene_dir=folder, departement="99"),
                    reference=tiny_reference, progress=False)


def test_refresh_region_uses_its_departements(tmp_path, data_dir, tiny_reference):
    folder = _files(tmp_path / "sirene")
    result = run_refresh(RefreshOptions(quarter="2026-T3", sirene_dir=folder, region="04"),
                         reference=tiny_reference, progress=False)
    assert result.territoire == "region:04"
    assert storage.load_snapshot().structures["commune"].tolist() == ["97411"]


def test_broken_input_leaves_snapshots_intact(tmp_path, data_dir, tiny_reference):
    folder = _files(tmp_path / "sirene")
    run_refresh(RefreshOptions(quarter="2026-T3", sirene_dir=folder),
                reference=tiny_reference, progress=False)
    before = _tree(data_dir / "snapshots")
    broken = folder / "StockEtablissement_utf8.csv"
    broken.write_bytes(broken.read_bytes()[:40])  # truncated download: header cut
    for options in (RefreshOptions(quarter="2026-T4", sirene_dir=folder),
                    RefreshOptions(quarter="2026-T3", sirene_dir=folder, replace=True)):
        with pytest.raises(DataValidationError):
            run_refresh(options, reference=tiny_reference, progress=False)
    assert _tree(data_dir / "snapshots") == before


def test_existing_quarter_and_drop_check(tmp_path, data_dir, tiny_reference):
    run_refresh(RefreshOptions(quarter="2026-T3", sirene_dir=_files(tmp_path / "a", 20)),
                reference=tiny_reference, progress=False)
    small = _files(tmp_path / "b", 0)
    with pytest.raises(SnapshotError, match="already exists"):
        run_refresh(RefreshOptions(quarter="2026-T3", sirene_dir=small),
                    reference=tiny_reference, progress=False)
    with pytest.raises(SnapshotError, match="--force"):
        run_refresh(RefreshOptions(quarter="2026-T4", sirene_dir=small),
                    reference=tiny_reference, progress=False)
    assert [m["quarter"] for m in storage.list_snapshots()] == ["2026-T3"]
    run_refresh(RefreshOptions(quarter="2026-T4", sirene_dir=small, force=True),
                reference=tiny_reference, progress=False)
    assert [m["quarter"] for m in storage.list_snapshots()] == ["2026-T3", "2026-T4"]


def test_no_source_is_a_configuration_error(data_dir, tiny_reference):
    with pytest.raises(ConfigurationError, match="--sirene-dir"):
        run_refresh(RefreshOptions(quarter="2026-T3"), reference=tiny_reference)
    with pytest.raises(ConfigurationError, match="YYYY-T1"):
        run_refresh(RefreshOptions(quarter="T3-2026", sirene_dir="x"), reference=tiny_reference)


def _source(name, rows):
    base = empty_structures()
    frame = pd.concat([base, pd.DataFrame(rows)], ignore_index=True).astype(
        base.dtypes.to_dict())
    return SourceResult(name, frame, empty_rejects(), read=len(frame))


def test_combine_sources_keeps_richest_and_joins_sources():
    sirene = _source("sirene", [
        {"siret": "10002917200011", "nom": "A", "naf": "88.99B", "adresse": "1 RUE X",
         "location_precision": "geoloc_insee", "sources": "sirene",
         "millesimes": '{"sirene": "2026-10"}', "flag_sirene_ess": True,
         "liste_ess_france": False},
        {"siret": "10002917200029", "nom": "B", "location_precision": "centroide_commune",
         "sources": "sirene", "millesimes": '{"sirene": "2026-10"}', "flag_sirene_ess": True}])
    api = _source("api_recherche_entreprises", [
        {"siret": "10002917200011", "nom": "A", "location_precision": "api_recherche",
         "sources": "api_recherche_entreprises", "millesimes": '{"api": "2026-11-01"}',
         "liste_ess_france": True, "esus": True},
        {"siret": None, "nom": "sans siret", "sources": "api_recherche_entreprises",
         "millesimes": "{}"}])
    out, merged = combine_sources([sirene, api])
    assert len(out) == 3 and merged == {"sirene": 0, "api_recherche_entreprises": 1}
    row = out.set_index("siret").loc["10002917200011"]
    assert row["adresse"] == "1 RUE X" and row["location_precision"] == "geoloc_insee"
    assert row["sources"] == "api_recherche_entreprises|sirene"
    assert json.loads(row["millesimes"]) == {"api": "2026-11-01", "sirene": "2026-10"}
    assert bool(row["liste_ess_france"]) and bool(row["esus"]) and bool(row["flag_sirene_ess"])


@pytest.mark.integration
def test_refresh_against_the_real_reference(tmp_path, data_dir, reference):
    """Points at well-known places land in their real communes (COG codes)."""
    units = [unit("100029172")]
    places = {"00011": ("21231", 5.0415, 47.3220),   # Dijon, place de la Libération
              "00029": ("75101", 2.3364, 48.8625),   # Paris 1er -> Paris 75056
              "00037": ("2A004", 8.7369, 41.9192),   # Ajaccio
              "00045": ("97411", 55.4481, -20.8789)}  # Saint-Denis (La Réunion)
    ets = [establishment("100029172", nic, code) for nic, (code, _, _) in places.items()]
    geo = [geoloc(f"100029172{nic}", lon, lat) for nic, (_, lon, lat) in places.items()]
    run_refresh(RefreshOptions(quarter="2026-T4", sirene_dir=write_sirene(
        tmp_path / "s", units, ets, geo)), reference=reference, progress=False)
    s = storage.load_snapshot().structures.set_index("nic")
    assert s["commune"].to_dict() == {"00011": "21231", "00029": "75056", "00037": "2A004",
                                      "00045": "97411"}
    assert not s["commune_desaccord"].any()
    assert s.loc["00011", "epci"] == reference.communes.loc["21231", "epci"]
    assert s.loc["00037", "departement"] == "2A" and s.loc["00045", "region"] == "04"


def test_empty_result_refused_unless_forced(tmp_path, data_dir, tiny_reference):
    folder = write_sirene(tmp_path / "s", [unit("100000001")], [])  # header-only stock
    options = RefreshOptions(quarter="2026-T3", sirene_dir=folder)
    with pytest.raises(DataValidationError, match="no ESS establishment"):
        run_refresh(options, reference=tiny_reference, progress=False)
    assert storage.list_snapshots() == []
    options.force = True
    result = run_refresh(options, reference=tiny_reference, progress=False)
    assert result.rows == {"structures": 0, "rejects": 0}
    assert len(storage.load_snapshot("2026-T3").structures) == 0
