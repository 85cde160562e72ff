"""``etl.insertion.ensure_insertion`` end to end: the shipped real lists and the embedded
reference, through the real refresh, into a temporary data folder.

Expected figures: ``real_data/insertion/PROVENANCE.md`` (3 846 SIAE/GEIQ rows, 1 504 ESAT) and
the raw CSV counted with pandas; never the job's own output."""

from __future__ import annotations

import json

import pandas as pd

from etl.insertion import QUARTER, REAL_DATA_DIR, ensure_insertion


def test_ensure_insertion_builds_the_real_snapshot_once(reference, data_dir):
    from observatory import storage

    said: list[str] = []
    quarters = ensure_insertion(reference, out=said.append)
    assert quarters == [QUARTER]
    snap = storage.load_snapshot(serie="insertion")
    assert snap.path == data_dir / "snapshots" / "insertion" / QUARTER  # the series' folder
    m = snap.manifest
    assert (m["serie"], m["territoire"], m["demo"]) == ("insertion", "france", False)
    assert {k: v["vintage"] for k, v in m["sources"].items()} == {
        "liste_siae_geiq": "fiches 2019-2021", "liste_esat": "liste officielle 2026"}
    acc = m["accounting"]
    assert acc["liste_siae_geiq"]["read"] == 3846 and acc["liste_esat"]["read"] == 1504
    for source in ("liste_siae_geiq", "liste_esat", "assignation"):
        assert acc[source]["read"] == acc[source]["kept"] + acc[source]["rejected"]
    lists_kept = acc["liste_siae_geiq"]["kept"] + acc["liste_esat"]["kept"]
    assert acc["assignation"]["read"] == lists_kept  # nothing merged between the lists
    s = snap.structures
    assert len(s) == 3846 + 1504 - len(snap.rejects)
    # types of the kept rows against the raw files, less the rejected rows of each type
    siae_raw = pd.read_csv(REAL_DATA_DIR / "siae_geiq_2021.csv", dtype=str)
    field = {"liste_siae_geiq": "type", "assignation": "type_structure"}  # raw row / structure
    rejected = pd.Series([json.loads(d).get(field.get(src, ""), "ESAT")
                          for src, d in zip(snap.rejects["source"], snap.rejects["donnees"],
                                            strict=True)], dtype="string")
    expected = pd.concat([siae_raw["type"], pd.Series(["ESAT"] * 1504)]).value_counts()
    expected = expected.sub(rejected.value_counts(), fill_value=0)
    assert s["type_structure"].value_counts().sort_index().to_dict() == \
        expected.astype(int).sort_index().to_dict()
    assert s["commune"].notna().all() and s.geometry.notna().all()
    assert set(s["location_precision"]) == {"coordonnees_source", "centroide_commune"}
    assert s.loc[s["type_structure"] == "ESAT", "location_precision"].eq(
        "centroide_commune").all()
    assert storage.list_snapshots(serie="ess") == []  # the ess store is untouched
    assert said[-1].startswith("Couche insertion prête")
    # idempotent: the second call does nothing and leaves the snapshot as it was
    created = m["created_at"]
    assert ensure_insertion(reference, out=said.append) == [QUARTER]
    assert said[-1].startswith("Couche insertion (données réelles) déjà présente")
    assert storage.load_snapshot(serie="insertion").manifest["created_at"] == created
