"""Structures without SIRET, end to end (issue 14, probe 1): an actors list whose rows have no
SIRET goes through the real refresh, the indicators, the diff and every app page.

Before the ``identifiant`` column, two such rows made a snapshot that nothing could read
("Some SIRET appear more than once ... Offenders (1): nan").

Lists (separator ``;``, no address, no SIRET), on the synthetic world of app_synthetic.py:

    2026-T3: Association A 21101, Association B 21101, Association D 21103
    2026-T4: Association A 21101, Association B 21101, Association C 21102,
             "association  a" 21101 again (same structure as A once normalised: rejected)

Expected by hand: commune 21101 holds 2 structures in both quarters; the diff follows A and B
(unchanged), C is new, D is closed (absent from T4); the identifier of A is the documented
hash ``liste_acteurs:#`` + sha256("liste_acteurs␟association a␟21101␟␟")[:16] (observatory.schema,
*Identifiers*: source, name, commune code, address, type; U+001F between the parts).
"""

from __future__ import annotations

import hashlib

import pandas as pd
import pytest
from app_synthetic import PAGES, REPO, build_reference
from streamlit.testing.v1 import AppTest

T3 = "Nom;Code INSEE\nAssociation A;21101\nAssociation B;21101\nAssociation D;21103\n"
T4 = ("Nom;Code INSEE\nAssociation A;21101\nAssociation B;21101\nAssociation C;21102\n"
      "association  a;21101\n")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """(reference, data dir) with the two snapshots written by the real refresh."""
    from etl.refresh import RefreshOptions, run_refresh

    reference = build_reference()
    reference.code_changes = pd.DataFrame({"ancien_code": [], "code": [], "nature": []},
                                          dtype="string")
    data = tmp_path_factory.mktemp("sans_siret")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OBSERVATOIRE_DATA_DIR", str(data))
        for quarter, text in (("2026-T3", T3), ("2026-T4", T4)):
            path = data / f"acteurs_{quarter}.csv"
            path.write_text(text, encoding="utf-8")
            run_refresh(RefreshOptions(quarter=quarter, actors_file=path, geocode=False),
                        reference=reference, progress=False)
    return reference, data


@pytest.fixture
def snapshots(store, monkeypatch):
    from observatory import storage

    reference, data = store
    monkeypatch.setenv("OBSERVATOIRE_DATA_DIR", str(data))
    return {q: storage.load_snapshot(q) for q in ("2026-T3", "2026-T4")}


def test_identifiers_are_stable_unique_and_documented(snapshots):
    t3, t4 = (snapshots[q].structures.set_index("nom") for q in ("2026-T3", "2026-T4"))
    assert t3["siret"].isna().all() and t4["siret"].isna().all()  # siret keeps real SIRET only
    assert t4["identifiant"].is_unique and t4["identifiant"].notna().all()
    by_hand = hashlib.sha256("\x1f".join(("liste_acteurs", "association a", "21101", "", ""))
                             .encode()).hexdigest()[:16]
    assert t3.loc["Association A", "identifiant"] == f"liste_acteurs:#{by_hand}"
    for name in ("Association A", "Association B"):  # same row content: same identifier
        assert t3.loc[name, "identifiant"] == t4.loc[name, "identifiant"]
    rejects = snapshots["2026-T4"].rejects
    assert rejects["raison"].tolist() == [
        "structure_dupliquee: deja ligne 2 (même nom, commune et adresse)"]
    assert rejects["ligne"].tolist() == [5]


def test_indicators_and_diff_accept_them(store, snapshots):
    from cli.etl import diff_table
    from indicators.change import structure_changes
    from indicators.table import indicator_table

    reference, _ = store
    old, new = snapshots["2026-T3"].structures, snapshots["2026-T4"].structures
    table = indicator_table(new, reference.communes, "commune")
    assert table.loc["21101", "structures"] == 2 and table.loc["21102", "structures"] == 1
    names = pd.concat([old, new]).drop_duplicates("identifiant").set_index("identifiant")["nom"]
    status = structure_changes(old, new)["statut"].rename(index=names).astype(str).to_dict()
    assert status == {"Association A": "inchange", "Association B": "inchange",
                      "Association C": "nouveau", "Association D": "ferme"}
    diff = diff_table(old, new, "commune")
    assert diff.loc["21102", "nouveaux"] == 1 and diff.loc["21103", "fermes"] == 1
    assert diff.loc["21101", ["structures_avant", "structures_apres"]].tolist() == [2, 2]


@pytest.fixture
def actors_app(store, snapshots, monkeypatch):
    """Page loaders answer from the two snapshots written above."""
    import streamlit as st

    from app_pages import loaders
    from observatory import storage

    reference, _ = store
    st.cache_data.clear()
    st.cache_resource.clear()
    monkeypatch.setenv("OBSERVATOIRE_OFFLINE", "1")
    monkeypatch.setenv("OBSERVATOIRE_NO_WARMUP", "1")
    manifests = storage.list_snapshots()  # every series (the loaders' contract)
    monkeypatch.setattr(loaders, "_ensure_data", lambda: manifests)
    monkeypatch.setattr(loaders, "load_reference", lambda: reference)
    monkeypatch.setattr(loaders, "load_snapshot", lambda serie, quarter: snapshots[quarter])

    def light(serie, quarter, columns=loaders.LIGHT_COLUMNS, active_only=False):
        frame = snapshots[quarter].structures
        if active_only:
            frame = frame[(frame["etat_administratif"] == "A").to_numpy(dtype=bool)]
        return frame[[c for c in columns if c in frame]]

    monkeypatch.setattr(loaders, "light_structures", light)
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders(actors_app, page):
    at = AppTest.from_file(str(REPO / "navigation.py"), default_timeout=120)
    at.run()
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert [t.value for t in at.title] == [PAGES[page]]
