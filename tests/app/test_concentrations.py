"""The « Concentrations » page: a concentration planted around a city is seen (hot spot,
quotient), the maps say it, and the page renders with its explanations (AppTest)."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
from app_synthetic import REPO
from shapely.geometry import box
from streamlit.testing.v1 import AppTest

from app_pages import concentration_logic as conc
from indicators.hotspots import hot_spots
from render import concentration_maps, maps

N = 9  # a 9 × 9 grid of communes; the « city » is the centre one
CITY = "90404"


def _code(r: int, c: int) -> str:
    return f"90{r}0{c}"


@pytest.fixture(scope="module")
def planted():
    """Communes of 1 000 inhabitants with 2 associations each, except the city (20
    associations + 40 cooperatives) and its 8 neighbours (10 + 10 each)."""
    rows = []
    for r in range(N):
        for c in range(N):
            ring = max(abs(r - 4), abs(c - 4))
            assoc, coop = {0: (20, 40), 1: (10, 10)}.get(ring, (2, 0))
            rows.append({"code": _code(r, c), "nom": "Ville" if ring == 0 else f"C{r}{c}",
                         "departement": "90", "population": 1000,
                         "structures": assoc + coop, "n_association": assoc,
                         "n_cooperative": coop, "n_mutuelle": 0, "n_fondation": 0,
                         "n_societe_commerciale_ess": 0, "n_autre": 0,
                         "geometry": box(c * 0.05, -r * 0.05, (c + 1) * 0.05,
                                         -(r - 1) * 0.05)})
    grid = gpd.GeoDataFrame(pd.DataFrame(rows).set_index("code"), crs=4326)
    table = pd.DataFrame(grid.drop(columns=["geometry", "nom", "departement"]))
    return grid, table


def test_planted_concentration_is_a_hot_spot(planted):
    grid, table = planted
    values = conc.hotspot_values(table, "famille_ess", None, "structures")
    result = hot_spots(grid[["nom", "geometry"]], values)
    hot = set(result.index[result["gi_classe"] == "point chaud"])
    ring = {_code(r, c) for r in (3, 4, 5) for c in (3, 4, 5)}
    assert CITY in hot and len(hot & ring) >= 5  # the city and most of its neighbours
    # nothing farther than two communes from the city
    assert all(max(abs(int(h[2]) - 4), abs(int(h[4]) - 4)) <= 2 for h in hot)
    assert result.loc[_code(0, 0), "gi_classe"] != "point chaud"  # a far corner
    # the same city stands out per 10 000 inhabitants (equal populations here)
    per_10k = conc.hotspot_values(table, "famille_ess", None, "per_10k")
    assert per_10k[CITY] == 600.0 and per_10k[_code(0, 0)] == 20.0
    spots = conc.hotspot_table(result, grid["nom"], 0)
    assert spots.iloc[0]["resultat"] == "Point chaud"
    assert "Ville" in set(spots["nom"])


def test_planted_quotients_hand_computed(planted):
    """Reference: 120 cooperatives among 364 structures (72 × 2 + 60 + 8 × 20).
    City: (40 / 60) / (120 / 364) = 2.022; neighbour: (10 / 20) / (120 / 364) = 1.517;
    communes with 2 structures: below 5, not shown."""
    grid, table = planted
    lq = conc.quotients(table, grid.index, "famille_ess", "cooperative")
    assert lq.loc[CITY, "quotient"] == pytest.approx((40 / 60) / (120 / 364))
    assert lq.loc[_code(3, 3), "quotient"] == pytest.approx((10 / 20) / (120 / 364))
    assert pd.isna(lq.loc[_code(0, 0), "quotient"])
    assert lq.loc[_code(0, 0), "motif"] == "effectif trop faible : 2 structures (moins de 5)"
    assert concentration_maps.quotient_classes(lq["quotient"])[
        list(lq.index).index(CITY)] == 4  # « nettement sur-représentée »
    rows = conc.quotient_rows(lq, grid["nom"])
    assert rows.iloc[0]["nom"] == "Ville" and rows["quotient"].isna().sum() == 72


def test_hotspot_map_shows_the_city(planted):
    grid, table = planted
    result = hot_spots(grid[["nom", "geometry"]],
                       conc.hotspot_values(table, "famille_ess", None, "structures"))
    html = maps.map_html(concentration_maps.hotspot_map(
        grid, result, label="Nombre de structures", decimales=0,
        threshold_text=conc.threshold_text(result.attrs)))
    i = html.index("L.geoJSON(") + len("L.geoJSON(")
    features = json.JSONDecoder().raw_decode(html[i:])[0]["features"]
    city = next(f["properties"] for f in features if f["properties"]["code"] == CITY)
    assert city["_f"] == concentration_maps.HOTSPOT_CLASSES["point chaud"][0]
    assert "Résultat : Point chaud" in city["_t"] and "Score z (Gi*)" in city["_t"]
    assert "Point chaud : valeurs élevées regroupées" in html
    assert "Seuil de significativité" in html


def test_threshold_text_says_the_threshold_in_french():
    text = conc.threshold_text({"seuil_p_gi": 0.0045, "alpha": 0.05, "fdr": True,
                                "permutations": 999})
    assert "au plus de 0,0045" in text and "5\u00a0%" in text and "999 fois" in text
    # Gi* draws ceil(2 n / alpha) placements (8 900 for 445 communes), not the 999
    # permutations of local Moran's I: the text says the draws Gi* used
    gi = conc.threshold_text({"seuil_p_gi": 0.0001, "alpha": 0.05, "fdr": True,
                              "permutations": 999, "tirages_gi": 17_800})
    assert "17\u00a0800 fois" in gi and "999" not in gi
    plain = conc.threshold_text({"seuil_p_gi": 0.05, "alpha": 0.05, "fdr": False})
    assert "risque d'erreur de 5\u00a0%" in plain
    assert "Aucun test" in conc.threshold_text({"seuil_p_gi": None})


def _open(**params) -> AppTest:
    at = AppTest.from_file(str(REPO / "navigation.py"), default_timeout=120)
    at.run()
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page("app_pages/concentrations.py").run()
    return at


def test_page_renders_maps_and_explanations(synthetic_app):
    at = _open()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Concentrations"]
    text = "\n".join(m.value for m in at.markdown)
    assert "avec ses communes voisines" in text  # what a hot spot is
    assert "Seuil de significativité" in text  # the threshold used
    assert "quotient de localisation" in text
    iframes = at.get("iframe")
    assert len(iframes) == 2  # quotient map and hot spot map
    assert at.query_params["par"] == "famille_ess" and at.query_params["niveau"] == \
        "departement"


def test_page_permalink_round_trip(synthetic_app):
    at = _open(niveau="region", code="27", par="secteur_ess", categorie="action_sociale",
               champ="categorie", mesure="per_10k")
    assert not at.exception, [e.value for e in at.exception]
    assert at.radio(key="niveau_conc").value == "region"
    assert at.selectbox(key="code_conc").value == "27"
    assert at.selectbox(key="categorie_conc").value == "action_sociale"
    assert at.radio(key="mesure_conc").value == "per_10k"
    assert at.radio(key="champ_conc").value == "categorie"
    assert at.query_params["categorie"] == "action_sociale"


