"""Plain functions behind the pages, on the synthetic world (answers derived by hand)."""

import pandas as pd
import pytest

from app_pages import coverage, logic, tables
from render import fr


@pytest.fixture(scope="module")
def ref_snap(world):
    reference, snapshots = world
    return reference, snapshots["2026-T4"]


def test_scope_follows_the_manifest_territory(ref_snap):
    reference, snap = ref_snap
    assert len(logic.scope_communes(reference, snap)) == 16  # "region:27"
    snap_dep = type(snap)(**{**vars(snap), "manifest": {**snap.manifest,
                                                        "territoire": "departement:21"}})
    scope = logic.scope_communes(reference, snap_dep)
    assert sorted(scope["departement"].unique()) == ["21"] and len(scope) == 8
    assert "L'instantané couvre le département Côte-d'Or (21)" in logic.coverage_text(
        reference, snap_dep)
    assert logic.covers_text(reference, snap_dep) == "le département Côte-d'Or (21)"


def test_members_and_peers(ref_snap):
    reference, _ = ref_snap
    assert sorted(logic.members(reference, "epci", "departement", "21")) == [
        "200000001", "200000002"]
    assert len(logic.members(reference, "commune", "epci", "200000003")) == 4
    assert sorted(logic.peers_of(reference, "commune", "21104")) == sorted(
        reference.communes.index[reference.communes["departement"] == "21"])
    assert list(logic.peers_of(reference, "region", "27")) == ["27"]


def _index(reference, covered):
    cov = {level: coverage.coverage_table(reference.communes, covered, level)
           for level in ("commune", "epci", "departement", "region")}
    return logic.territory_index(reference, cov)


def test_search_ignores_accents_case_and_finds_codes(ref_snap):
    reference, snap = ref_snap
    index = _index(reference, logic.scope_communes(reference, snap).index)
    assert len(index) == 16 + 4 + 2 + 1
    found = logic.search_territories(index, "saint-etienne")
    assert found.iloc[0]["code"] == "21104"
    assert logic.search_territories(index, "COTE D'OR").iloc[0]["niveau"] == "departement"
    assert logic.search_territories(index, "200000003").iloc[0]["niveau"] == "epci"
    assert logic.search_territories(index, "   ").empty
    assert index.set_index("code").at["200000003", "libelle"] == "CC numéro 711 (EPCI, 200000003)"


def test_search_finds_territories_outside_the_coverage_and_says_so(ref_snap):
    """The search covers all of France: a territory the snapshot does not cover is found and
    marked « absent » (never replaced by another); covered ones come first."""
    reference, _ = ref_snap
    covered = reference.communes.index[reference.communes["departement"] == "21"]
    index = _index(reference, covered)
    states = index.set_index(["niveau", "code"])["couverture"]
    assert states[("departement", "71")] == "absent"
    assert states[("region", "27")] == "partiel"
    assert states[("commune", "21104")] == "complet"
    found = logic.search_territories(index, "commune")  # every commune's name
    assert found["couverture"].iloc[0] != "absent"
    assert "71101" in set(logic.search_territories(index, "71101")["code"])


def test_rank_in_ties_missing_and_direction():
    values = pd.Series([5, 9, 5, None], index=["a", "b", "c", "d"])
    peers = pd.Index(["a", "b", "c", "d"])
    assert logic.rank_in(values, "b", peers) == (1, 3)
    assert logic.rank_in(values, "a", peers) == (2, 3)
    assert logic.rank_in(values, "a", peers, ascending=True) == (1, 3)
    assert logic.rank_in(values, "d", peers) == (None, 3)


def test_key_figures_value_rank_change():
    from indicators.registry import INDICATORS

    now = pd.DataFrame({"structures": [10, 4], "structures_per_10k": [12.345, 3.0]},
                       index=["x", "y"])
    before = pd.DataFrame({"structures": [8, 4], "structures_per_10k": [10.0, 3.0]},
                          index=["x", "y"])
    figures = logic.key_figures(now, before, "x", pd.Index(["x", "y"]), INDICATORS)
    row = figures.set_index("indicateur").loc["structures_per_10k"]
    assert row["Valeur"] == "12,3 " + INDICATORS["structures_per_10k"].unit_fr
    assert row["Rang"] == "1er sur 2"
    assert row["Évolution depuis le trimestre précédent"] == "+2,3"
    assert figures.set_index("indicateur").loc["structures", "Valeur"] == "10"


def test_small_populations_are_flagged_and_not_ranked_for_rates():
    """A commune of 12 inhabitants with one structure (833,3 per 10 000) is flagged « faible
    effectif »; among peers of at least 1 000 inhabitants, a 2 000-inhabitant commune with 4
    structures (20 per 10 000) is first of 2, ahead of 5 000 inhabitants with 5 (10)."""
    from indicators.registry import INDICATORS

    table = pd.DataFrame({"population": [12, 2000, 5000], "structures": [1, 4, 5],
                          "structures_per_10k": [833.3, 20.0, 10.0]},
                         index=pd.Index(["tiny", "mid", "big"]))
    peers = table.index
    assert logic.small_population(table).tolist() == [True, False, False]
    plain = logic.key_figures(table, None, "mid", peers, INDICATORS).set_index("indicateur")
    assert plain.at["structures_per_10k", "Rang"] == "2e sur 3"
    kept = logic.key_figures(table, None, "mid", peers, INDICATORS,
                             exclude_small=True).set_index("indicateur")
    assert kept.at["structures_per_10k", "Rang"] == "1er sur 2"
    assert kept.at["structures", "Rang"] == "2e sur 3"  # a count is not a rate: all ranked
    tiny = logic.key_figures(table, None, "tiny", peers, INDICATORS,
                             exclude_small=True).set_index("indicateur")
    assert tiny.at["structures_per_10k", "Rang"] == "–"
    assert tiny.at["structures_per_10k", "remarque"].startswith("faible effectif")
    assert tiny.at["structures", "remarque"] == ""


def test_fr_table_formats_numbers_dates_booleans():
    df = pd.DataFrame({"n": [1234567], "x": [0.5], "d": pd.to_datetime(["2026-11-23"]),
                       "b": pd.array([True], dtype="boolean"), "s": ["<b>"]})
    out = logic.fr_table(df, {"n": "N", "x": "X", "d": "D", "b": "B", "s": "S"})
    assert out.iloc[0].tolist() == [f"1{fr.NBSP}234{fr.NBSP}567", "0,5", "23/11/2026", "oui",
                                    "<b>"]


def test_tables_filter_exactly_and_export_columns(ref_snap):
    _, snap = ref_snap
    structures = snap.structures
    only = tables.filter_structures(structures, "  STRUCTURE démo 01", kinds=["cooperative"])
    assert len(only) > 0
    assert set(only["famille_ess"]) == {"cooperative"}
    assert all("structure demo 01" in fr.normaliser(n) for n in only["nom"])
    in_epci = tables.filter_structures(structures, territory=("epci", "200000002"))
    assert len(in_epci) == int((structures["epci"] == "200000002").sum()) > 0
    haystack = tables.search_text(structures)
    assert len(tables.filter_structures(structures, "paix", haystack=haystack)) == len(
        tables.filter_structures(structures, "PAIX"))
    exported = tables.export_columns(only)
    assert list(exported.columns)[:3] == ["siret", "siren", "nom"]
    assert len(exported) == len(only)


def test_first_by_name_keeps_name_order_and_rows():
    """Alphabetical order with accents, case and punctuation ignored, derived by hand:
    « Abeille » (12), « abeille » (14, same folded name: kept after 12, stable),
    « L'abri » (13, folded « l abri »), « Zèbre » (10), missing name (11) last."""
    frame = pd.DataFrame({"nom": ["Zèbre", None, "Abeille", "L'abri", "abeille"],
                          "siret": ["1", "2", "3", "4", "5"]}, index=[10, 11, 12, 13, 14])
    top = tables.first_by_name(frame, 3)
    assert top["siret"].tolist() == ["3", "5", "4"]
    assert top.index.tolist() == [12, 14, 13]
    assert tables.first_by_name(frame, 10)["siret"].tolist() == ["3", "5", "4", "1", "2"]
    # a directory labelled by position, its ranks from the search text (name first), and
    # some of its rows: ranks 3 (Zèbre), 2 (L'abri), 1 (abeille) → abeille, L'abri
    directory = frame.reset_index(drop=True)
    rank = tables.name_rank(directory, key=tables.search_text(directory))
    assert rank.tolist() == [3, 4, 0, 2, 1]
    subset = directory.loc[[0, 3, 4]]
    assert tables.first_by_name(subset, 2, rank=rank)["siret"].tolist() == ["5", "4"]


def test_no_filter_gives_the_frame_itself(ref_snap):
    """Without any filter the directory keeps the frame (no copy of a national list)."""
    _, snap = ref_snap
    assert tables.filter_structures(snap.structures) is snap.structures


def test_tables_quality_numbers_stay_numbers(ref_snap):
    reference, snap = ref_snap
    acc = tables.accounting_table(snap.manifest)
    assert acc.iloc[0]["equilibre"] == "oui"
    assert acc.iloc[0]["lues"] == acc.iloc[0]["conservees"] + acc.iloc[0]["rejetees"]
    prec = tables.precision_table(snap.structures)
    assert prec.iloc[0]["precision"] == "Adresse (géolocalisation INSEE)"
    assert prec["structures"].sum() == len(snap.structures)
    assert prec["part"].sum() == pytest.approx(100.0)
    shots = tables.snapshots_table([snap.manifest])
    assert shots["lignes"].dtype.kind in "iu"
    assert tables.territoire_fr("departement:21") == "Département 21"
    limits = tables.geography_limits(reference)
    assert limits[0].startswith("1 contour de commune a été réparé")  # commune 71204


def test_geography_limits_name_the_communes_without_contour(reference):
    """On the embedded reference, the method page names every commune kept without a
    contour and the unattributed holes, as counted in the build manifest."""
    limits = " ".join(tables.geography_limits(reference))
    empty = reference.manifest["communes_sans_geometrie"]
    assert empty, "the embedded build keeps communes without contour"
    for code in empty:
        assert code in limits
    left = reference.manifest["repairs"]["by_rule"].get("aucun_voisin_candidat", 0)
    if left:
        assert f"{left} petits trous" in limits


def test_shared_ranks_say_ex_aequo():
    values = pd.Series([0.0, 0.0, 2.5], index=pd.Index(["A", "B", "C"], dtype="string"))
    peers = values.index
    assert logic._tied(values, 0.0, peers) is True
    assert logic._tied(values, 2.5, peers) is False
    assert logic._rank_text(1, 3, True) == "1er sur 3 (ex æquo)"
    assert logic._rank_text(3, 3, False) == "3e sur 3"
    assert logic._rank_text(1, 1, False) == "–"  # no peer to rank against


def test_among_is_isin_also_for_empty_and_missing_values():
    values = pd.Index(["21231", "21054", None], dtype="string")
    assert logic.among(values, ["21054", "99999"]).tolist() == [False, True, False]
    assert logic.among(values, pd.Index([], dtype="string")).tolist() == [False] * 3
    assert logic.among(pd.Index([], dtype="string"), ["1"]).tolist() == []
