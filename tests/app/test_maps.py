"""Map builders, tested on their rendered HTML: layers, legend, tooltips, escaping, no CDN."""

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from render import maps

XSS = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")
CDN = re.compile(r"cdn|jsdelivr|unpkg|cloudflare|bootstrapcdn|code\.jquery|googleapis",
                 re.IGNORECASE)


@pytest.fixture
def territories():
    # 4 squares; values 1, 2.5, missing, 10; the first name is a script injection attempt.
    return gpd.GeoDataFrame(
        {"nom": [XSS[0], "Beaune", "Semur", XSS[1]], "v": [1.0, 2.5, np.nan, 10.0],
         "structures": [3, 5, 0, 12], "population": [1000, 2000, 3000, 12000]},
        geometry=[box(4 + i * 0.1, 47, 4.1 + i * 0.1, 47.1) for i in range(4)],
        index=pd.Index(["21001", "21002", "21003", "21004"], name="code"), crs=4326)


@pytest.fixture
def structures():
    return pd.DataFrame({
        "latitude": [47.05, 47.06, np.nan], "longitude": [4.05, 4.15, 4.2],
        "nom": [XSS[1], XSS[0], "Sans coordonnées"],
        "famille_ess": ["association", "cooperative", "mutuelle"],
        "naf_libelle": ["Aide à domicile", "Commerce <b>gras</b>", None],
        "adresse": ["1 rue A", None, "3 rue C"], "siret": ["1" * 14, "2" * 14, "3" * 14],
        "location_precision": ["geoloc_insee", "centroide_commune", "ban_adresse"],
    })


def _assert_safe(html_text: str) -> None:
    for probe in XSS:
        assert probe not in html_text
    assert "<b>gras</b>" not in html_text
    assert "onerror=alert" not in html_text.replace("onerror=alert(1)\\u0026gt;", "") \
        or "\\u0026lt;img" in html_text


def _assets(html_text: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html_text)


def _embedded(html_text: str, start: str) -> object:
    """Decode the JSON literal following ``start`` in the page."""
    i = html_text.index(start) + len(start)
    return json.JSONDecoder().raw_decode(html_text[i:].lstrip())[0]


def test_classify_quantiles_and_labels():
    cls = maps.classify([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "quantiles", k=5)
    assert len(cls.labels) == 5 and len(cls.colours) == 5
    assert cls.labels[0] == "de 1,0 à 2,8"
    assert cls.counts == (2, 2, 2, 2, 2)
    assert cls.classes.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]


def test_classify_jenks_separates_obvious_groups():
    cls = maps.classify([1, 1.1, 1.2, 10, 10.5, 11, 50, 51], "jenks", k=3)
    assert cls.classes.tolist() == [0, 0, 0, 1, 1, 1, 2, 2]


def test_classify_manual_adds_maximum_and_flags_missing():
    cls = maps.classify([1, 6, 12, None], "manuel", thresholds=[5, 10])
    assert cls.bins == (5.0, 10.0, 12.0)
    assert cls.classes.tolist() == [0, 1, 2, -1]
    assert cls.labels[1] == "plus de 5,0 à 10,0"


def test_classify_errors_are_explicit():
    with pytest.raises(ValueError, match="Valid schemes"):
        maps.classify([1, 2], "equal")
    with pytest.raises(ValueError, match="thresholds"):
        maps.classify([1, 2], "manuel")


def test_classify_few_distinct_values_does_not_fail():
    cls = maps.classify([0, 0, 0, 1], "quantiles", k=5)
    assert set(cls.classes.tolist()) <= {0, 1}


def test_choropleth_html_layers_legend_tooltips(territories):
    m = maps.choropleth_map(territories, "v", label="Structures pour 10 000 habitants",
                            unit="pour 10 000 hab.", k=3, highlight=["21002"],
                            extra_fields={"structures": "Structures"})
    html_text = maps.map_html(m)
    _assert_safe(html_text)
    assert not [u for u in _assets(html_text) if CDN.search(u)]
    assert "/app/static/vendor/leaflet/leaflet.js" in _assets(html_text)
    assert "tile.openstreetmap" not in html_text and "L.tileLayer" not in html_text
    # legend: title, one line per class, missing data, selected territory
    assert 'class="legende-carte"' in html_text
    assert "Structures pour 10 000 habitants</summary>" in html_text
    assert "Donnée manquante" in html_text and "Territoire choisi" in html_text
    geojson = _embedded(html_text, "L.geoJSON(")
    props = {f["properties"]["code"]: f["properties"] for f in geojson["features"]}
    assert set(props) == set(territories.index)
    assert props["21001"]["_t"].startswith("<b>&lt;script&gt;alert(1)&lt;/script&gt;</b>")
    assert "Classe : 1 sur 3" in props["21001"]["_t"]
    assert "Structures : 3" in props["21001"]["_t"]
    assert "donnée manquante" in props["21003"]["_t"]
    assert props["21003"]["_f"] == maps.MISSING_COLOUR
    assert props["21002"]["_w"] > props["21001"]["_w"]  # the chosen territory stands out


def test_choropleth_coordinates_are_rounded(territories):
    shifted = territories.copy()
    shifted.geometry = shifted.geometry.translate(1.234567891, 0)
    html_text = maps.map_html(maps.choropleth_map(shifted, "v", label="x"))
    assert "1.234567891" not in html_text and "5.23457" in html_text


def test_structures_map_clusters_escaped_popups(territories, structures):
    m = maps.structures_map(structures, background=territories, background_column="v",
                            background_label="Densité")
    html_text = maps.map_html(m)
    _assert_safe(html_text)
    urls = _assets(html_text)
    assert not [u for u in urls if CDN.search(u)]
    assert any(u.endswith("leaflet.markercluster.js") for u in urls)
    assert "L.markerClusterGroup" in html_text
    rows = _embedded(html_text, "var rows =")
    assert len(rows) == 2  # the row without coordinates is not drawn
    assert rows[0][3] == "&lt;img src=x onerror=alert(1)&gt;"
    sectors = _embedded(html_text, "var sect =")
    assert sectors[rows[1][4]] == "Commerce &lt;b&gt;gras&lt;/b&gt;"
    families = _embedded(html_text, "var fam =")
    assert families[rows[1][2]][0] == "Coopérative"
    precisions = _embedded(html_text, "var prec =")
    assert precisions[rows[1][7]].startswith("Approximation")
    for field in ("Famille : ", "Secteur : ", "Adresse : ", "SIRET : ", "Localisation : "):
        assert field in html_text
    # legend names every family with its letter (colour is not the only carrier)
    assert "A = Association" in html_text and "C = Coopérative" in html_text
    assert "Communes" in html_text  # layer control name of the background


def test_zones_map_marks_zones_with_dashes(territories, structures):
    flags = pd.Series([False, True, True, False], index=territories.index)
    territories["distance_structure_km"] = [1.0, 12.5, np.nan, 3.0]
    m = maps.zones_map(territories, flags, distance_column="distance_structure_km",
                       structures=structures.dropna(subset=["latitude"]))
    html_text = maps.map_html(m)
    _assert_safe(html_text)
    props = {f["properties"]["code"]: f["properties"]
             for f in _embedded(html_text, "L.geoJSON(")["features"]}
    assert props["21002"]["_d"] == "5 4" and props["21001"]["_d"] is None
    assert "Zone blanche : oui" in props["21002"]["_t"]
    assert "12,5 km" in props["21002"]["_t"]
    assert "Zone blanche (bordure en tirets)" in html_text
    assert not [u for u in _assets(html_text) if CDN.search(u)]


def test_assets_follow_observatory_assets_paths():
    urls = maps.map_assets({"leaflet": "/app/static/vendor/leaflet@1.9.4/dist/leaflet.js",
                            "leaflet_css": "/app/static/vendor/leaflet@1.9.4/dist/leaflet.css",
                            "markercluster": "/app/static/vendor/mc/leaflet.markercluster.js"})
    assert urls["leaflet_js"].endswith("leaflet@1.9.4/dist/leaflet.js")
    assert urls["leaflet_css"].endswith("leaflet@1.9.4/dist/leaflet.css")
    assert urls["markercluster_js"] == "/app/static/vendor/mc/leaflet.markercluster.js"


def test_tiles_only_when_given(territories):
    spec = maps.TileSpec("https://tiles.example/{z}/{x}/{y}.png", "© exemple")
    html_text = maps.map_html(maps.choropleth_map(territories, "v", label="x", tiles=spec))
    assert "https://tiles.example/{z}/{x}/{y}.png" in html_text


def test_jenks_breaks_match_mapclassify_fisher_jenks():
    import mapclassify

    values = np.random.default_rng(3).lognormal(size=60)
    expected = sorted(mapclassify.FisherJenks(values, k=4).bins)
    assert np.allclose(maps.jenks_breaks(values, 4), expected)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_classes_match_mapclassify(seed):
    import mapclassify

    values = np.round(np.random.default_rng(seed).lognormal(size=80), 2)
    ours = maps.classify(values, "quantiles", k=5)
    theirs = mapclassify.Quantiles(values, k=5)
    assert np.allclose(ours.bins, theirs.bins)
    assert ours.classes.tolist() == theirs.yb.tolist()
    ours = maps.classify(values, "jenks", k=4)
    theirs = mapclassify.FisherJenks(values, k=4)
    assert np.allclose(ours.bins, theirs.bins)
    assert ours.classes.tolist() == theirs.yb.tolist()
    ours = maps.classify(values, "manuel", thresholds=[0.5, 1, 2])
    theirs = mapclassify.UserDefined(values, [0.5, 1, 2])
    assert np.allclose(ours.bins, theirs.bins)
    assert ours.classes.tolist() == theirs.yb.tolist()


def test_structures_map_over_plain_outlines(territories, structures):
    html_text = maps.map_html(maps.structures_map(structures, background=territories,
                                                  background_label="Limites des EPCI"))
    _assert_safe(html_text)
    props = [f["properties"] for f in _embedded(html_text, "L.geoJSON(")["features"]]
    assert {p["_f"] for p in props} == {"#ffffff"}
    assert props[0]["_t"] == "<b>&lt;script&gt;alert(1)&lt;/script&gt;</b> (21001)"
    assert "Limites des EPCI" in html_text  # layer control name


# --------------------------------------------------------------------------- issue 13 §3
def test_scale_is_metric_only_and_map_fits_the_data_beside_the_legend(territories):
    html_text = maps.map_html(maps.choropleth_map(territories, "v", label="x"))
    assert "imperial: false" in html_text and "metric: true" in html_text
    assert "L.control.scale()" not in html_text  # folium's default (miles and feet)
    # fitted to the territories, with the legend's width kept free on the right
    assert "paddingBottomRight: [right, 24]" in html_text
    assert "legend.offsetWidth" in html_text
    bounds = _embedded(html_text, "L.latLngBounds(")
    assert bounds == [[47.0, 4.0], [47.1, 4.4]]
    assert '<details open class="legende-carte"' in html_text  # foldable


def test_manual_thresholds_below_the_data_are_said_plainly():
    """Issue 13: « 5 ; 10 ; 20 » on EPCI from 61,3 to 127,8 gave « de 61,3 à 5,0 (0 terr.) »."""
    values = [61.3, 80.0, 99.9, 127.8]
    cls = maps.classify(values, "manuel", thresholds=[20, 5, 10])
    assert cls.bins == (5.0, 10.0, 20.0, 127.8)
    assert cls.labels[0] == "jusqu’à 5,0"  # never « de 61,3 à 5,0 »
    assert cls.counts == (0, 0, 0, 4)
    assert "ordre croissant" in cls.notes[0]
    assert "tous les territoires sont dans la même classe" in cls.notes[1]
    assert "de 61,3 à 127,8" in cls.notes[1]


def test_legend_says_empty_classes_and_alerts(territories):
    """Values 1 and 2,5 (≤ 5), 10 (5 to 50), none from 50 to 100: that class is empty."""
    html_text = maps.map_html(maps.choropleth_map(
        territories, "v", label="x", scheme="manuel", thresholds=[5, 50, 100], noun="commune"))
    assert ('<div class="vide"><span class="cle" style="background:#081d58"></span>'
            "plus de 50,0 à 100,0 <small>(aucune commune)</small></div>") in html_text
    assert "de 1,0 à 5,0 <small>(2 communes)</small>" in html_text
    assert "plus de 5,0 à 50,0 <small>(1 commune)</small>" in html_text
    assert '<div class="alerte">1 classe vide (aucune commune)' in html_text


def test_parse_and_default_thresholds():
    assert maps.parse_thresholds("20 ; 5 ; 10,5 ; 5")[0] == [5.0, 10.5, 20.0]
    values, notes = maps.parse_thresholds("5 ; abc")
    assert values == [] and "« abc » n’est pas un nombre" in notes[0]
    assert maps.parse_thresholds("1\u00a0000 ; 2")[0] == [2.0, 1000.0]
    # quantile breaks of 1..10 in 5 classes, without the maximum: 2,8 ; 4,6 ; 6,4 ; 8,2
    assert maps.default_thresholds(range(1, 11), 5) == "2,8 ; 4,6 ; 6,4 ; 8,2"


def test_clusters_are_neutral_grey(territories, structures):
    html_text = maps.map_html(maps.structures_map(structures, background=territories))
    assert "iconCreateFunction" in html_text and "ess-cluster" in html_text
    assert "rgba(45,45,45,.82)" in html_text
    assert not any(u.endswith("MarkerCluster.Default.css") for u in _assets(html_text))


def test_names_of_main_territories_and_grey_context(territories):
    context = gpd.GeoDataFrame(
        {"nom": ["Voisin <b>Est</b>", "Lointain"], "population": [10, 10]},
        geometry=[box(4.4, 47, 4.6, 47.1), box(9, 40, 9.1, 40.1)],
        index=pd.Index(["21999", "2A001"], name="code"), crs=4326)
    html_text = maps.map_html(maps.choropleth_map(territories, "v", label="x", labels=2,
                                                  context=context))
    _assert_safe(html_text)
    rows = _embedded(html_text, "var rows =")
    names = [r[2] for r in rows if r[3] == ""]
    # the two most populated territories (12 000 then 3 000 inhabitants), escaped
    assert names == ["&lt;img src=x onerror=alert(1)&gt;", "Semur"]
    grey = [r[2] for r in rows if r[3] == "contexte"]
    assert grey == ["Voisin &lt;b&gt;Est&lt;/b&gt;"]  # the far one is not drawn
    assert "interactive: false" in html_text and "#e2e2e2" in html_text
    ctx = _embedded(html_text, "L.geoJSON(")  # drawn first, below the data
    assert len(ctx["features"]) == 1 and ctx["features"][0]["properties"] == {}


def test_zone_identifiers_on_the_map_and_in_tooltips(territories):
    flags = pd.Series([False, True, True, False], index=territories.index)
    ids = pd.Series(["Z002", "Z002"], index=["21002", "21003"])
    html_text = maps.map_html(maps.zones_map(territories, flags, zone_ids=ids))
    props = {f["properties"]["code"]: f["properties"]
             for f in _embedded(html_text, "L.geoJSON(")["features"]}
    assert "Zone blanche : oui — zone Z002" in props["21002"]["_t"]
    assert props["21002"]["zone"] == "Z002" and props["21001"]["zone"] is None
    rows = _embedded(html_text, "var rows =")
    assert [r[2] for r in rows if r[3] == "zone"] == ["Z002"]  # one label per zone
    assert "identifiant de la zone" in html_text


def test_change_map_diverging_classes_centred_on_zero(territories):
    """Changes -5, -1, 0, +6: the bounds are the 33rd and 67th percentiles of the non-zero
    |change| = 1, 5, 6 (linear: 1 + 2/3 × 4 = 3.67 -> 4; 5 + 1/3 × 1 = 5.33 -> 5), the same
    for falls and rises; 0 is « Stable »."""
    change = pd.Series([-5, -1, 0, 6], index=territories.index)
    cls = maps.diverging_classes(change, relative=False)
    assert cls.bins == (4.0, 5.0)
    assert cls.labels == ("Baisse de plus de 5 structures", "Baisse de 5 structures",
                          "Baisse de 1 à 4 structures", "Stable", "Hausse de 1 à 4 structures",
                          "Hausse de 5 structures", "Hausse de plus de 5 structures")
    assert cls.classes.tolist() == [1, 2, 3, 6]
    m = maps.change_map(territories, change, relative=False,
                        label="Évolution du nombre de structures")
    props = {f["properties"]["code"]: f["properties"]
             for f in _embedded(maps.map_html(m), "L.geoJSON(")["features"]}
    assert props["21004"]["_f"] == "#2166ac" and props["21002"]["_f"] == "#fddbc7"
    assert props["21003"]["_f"] == "#f7f7f7"
    assert "Évolution du nombre de structures : +6" in props["21004"]["_t"]
    assert "Évolution du nombre de structures : \u22125" in props["21001"]["_t"]


def test_relative_change_from_zero_is_not_computable(territories):
    change = pd.Series([-50.0, np.nan, 12.5, 0.0], index=territories.index)
    html_text = maps.map_html(maps.change_map(territories, change, relative=True,
                                              label="Évolution"))
    props = {f["properties"]["code"]: f["properties"]
             for f in _embedded(html_text, "L.geoJSON(")["features"]}
    assert "non calculable" in props["21002"]["_t"]
    assert props["21002"]["_f"] == maps.MISSING_COLOUR
    assert "+12,5\u00a0%" in props["21003"]["_t"]
    assert "Non calculable (aucune structure au départ)" in html_text


def _layers_json(html_text: str) -> tuple[list, list, list]:
    """(every ``L.geoJSON(...)`` literal, the structures' rows, the labels' rows) of a page."""
    layers = [json.JSONDecoder().raw_decode(html_text[m.end():])[0]
              for m in re.finditer(r"L\.geoJSON\(", html_text)]
    rows = [json.JSONDecoder().raw_decode(html_text[m.end():].lstrip())[0]
            for m in re.finditer(r"var rows =", html_text)]
    return layers, rows[0], rows[-1]


def test_a_backdrop_made_once_draws_what_plain_outlines_draw(territories, structures):
    """The directory makes the outlines, neighbours and names of a place once and reuses them
    for every filter: the map is the one drawn from ``background`` itself.  Neighbour
    21999 touches the window, 2A001 is far away (not drawn)."""
    context = gpd.GeoDataFrame(
        {"nom": ["Voisin", "Lointain"], "population": [10, 10]},
        geometry=[box(4.4, 47, 4.6, 47.1), box(9, 40, 9.1, 40.1)],
        index=pd.Index(["21999", "2A001"], name="code"), crs=4326)
    direct = maps.map_html(maps.structures_map(structures, background=territories,
                                               background_label="Limites des EPCI",
                                               context=context, labels=2))
    made = maps.backdrop(territories, name="Limites des EPCI", context=context, labels=2)
    first, second = (maps.map_html(maps.structures_map(s, backdrop_made=made))
                     for s in (structures, structures.iloc[:1]))
    layers, points, labels = _layers_json(direct)
    assert _layers_json(first) == (layers, points, labels)
    assert _layers_json(second)[0] == layers and _layers_json(second)[2] == labels
    context_layer, outlines = layers
    assert [f["properties"]["code"] for f in outlines["features"]] == list(territories.index)
    assert len(context_layer["features"]) == 1  # 21999 only
    # names: the two most populated territories, then the neighbour in grey
    assert [r[2] for r in labels] == ["&lt;img src=x onerror=alert(1)&gt;", "Semur", "Voisin"]
    assert [r[0] for r in points] == [47.05, 47.06]  # the row without coordinates skipped
    assert [r[0] for r in _layers_json(second)[1]] == [47.05]
    assert "Limites des EPCI" in second  # the layer's name in the layer control


#: Template code in a name: branca renders every layer's output a second time with Jinja.
SSTI = ('{{ "EVAL" ~ "UATED" }} {{ "PID" ~ cycler.__init__.__globals__.os.getpid() }} '
        "{% x %} {# c #}")


def test_names_holding_template_code_are_text(territories, structures):
    """A structure or territory named with Jinja syntax is shown as written: never evaluated
    on the server (the first expression would read EVALUATED, the second the server's pid),
    never breaking the page (``{% x %}`` is not a tag)."""
    import os

    territories = territories.assign(nom=[SSTI, "Beaune", "Semur", "Dijon"])
    structures = structures.assign(nom=[SSTI, "B", "C"], naf_libelle=[SSTI, "x", None])
    pages = [
        maps.map_html(maps.structures_map(structures, background=territories,
                                          background_label="Limites")),
        maps.map_html(maps.choropleth_map(territories, "v", label='{{ "LA" ~ "BEL" }}')),
        maps.map_html(maps.zones_map(territories, pd.Series(True, index=territories.index),
                                     structures=structures)),
    ]
    for page in pages:
        assert "EVALUATED" not in page and f"PID{os.getpid()}" not in page
        # kept as text (escaped for HTML, then for JSON by tojson: & is \u0026)
        assert "\\u0026#123;\\u0026#123; \\u0026quot;EVAL\\u0026quot;" in page
    assert "LABEL" not in pages[1]
    assert "&#123;&#123; &quot;LA&quot; ~ &quot;BEL&quot; &#125;&#125;" in pages[1]  # legend


def test_legend_title_does_not_repeat_the_unit(territories):
    html_text = maps.map_html(maps.choropleth_map(
        territories, "v", label="Structures pour 10 000 habitants", unit="pour 10 000 hab."))
    assert "Structures pour 10 000 habitants</summary>" in html_text
    assert "(pour 10 000 hab.)" not in html_text


def test_insertion_structures_are_told_apart_by_type(structures):
    """Insertion perimeter: markers and legend by type (one ESAT and one ACI drawn; the
    second ESAT has no coordinates, so it is neither drawn nor counted), popups say
    « Type »."""
    frame = structures.assign(type_structure=["ESAT", "ACI", "ESAT"])
    html_text = maps.map_html(maps.structures_map(frame, kind_column="type_structure"))
    assert "Structures d&#x27;insertion et de travail protégé" in html_text \
        or "Structures d'insertion et de travail protégé" in html_text
    assert re.search(r"ESAT – Établissement et service d.{1,6}aide par le travail <small>"
                     r"\(1\)", html_text)
    assert re.search(r"ACI – Atelier et chantier d.{1,6}insertion <small>\(1\)", html_text)
    assert "A = Association" not in html_text
    assert "<br>Type : " in html_text and "<br>Famille : " not in html_text
    rows = json.loads(re.search(r"var rows = (\[\[.*?\]\]);", html_text).group(1))
    kinds = json.loads(re.search(r"var fam = (\[\[.*?\]\]);", html_text).group(1))
    assert [kinds[r[2]][2] for r in rows] == ["ESAT", "ACI"]


def test_a_sample_is_drawn_but_every_structure_is_counted():
    """30 structures with a position and 2 without, at most 10 drawn: 10 rows on the map,
    the legend counts the 30 (20 associations, 10 cooperatives), the same sample each time."""
    n = 32
    frame = pd.DataFrame({
        "latitude": [47.0 + i / 100 for i in range(30)] + [np.nan, np.nan],
        "longitude": [4.0 + i / 100 for i in range(30)] + [4.5, np.nan],
        "nom": [f"S{i}" for i in range(n)],
        "famille_ess": ["association"] * 20 + ["cooperative"] * 10 + ["mutuelle"] * 2,
        "naf_libelle": "x", "adresse": "a", "siret": [f"{i:014d}" for i in range(n)],
        "location_precision": "geoloc_insee"})
    pages = [maps.map_html(maps.structures_map(frame, max_points=10)) for _ in range(2)]
    rows = json.loads(re.search(r"var rows = (\[\[.*?\]\]);", pages[0]).group(1))
    assert len(rows) == 10 and all(r[3] in {f"S{i}" for i in range(30)} for r in rows)
    assert re.search(r"A = Association <small>\(20\)</small>", pages[0])
    assert re.search(r"C = Coopérative <small>\(10\)</small>", pages[0])
    assert re.search(r"M = Mutuelle <small>\(0\)</small>", pages[0])
    again = json.loads(re.search(r"var rows = (\[\[.*?\]\]);", pages[1]).group(1))
    assert again == rows


def test_a_map_of_france_with_overseas_opens_on_metropolitan_france():
    """Dijon (5.04, 47.32) and Brest (-4.49, 48.39) with Saint-Denis de La Réunion (55.45,
    -20.88): the view is Brest–Dijon; without Réunion, the same; Réunion alone, itself."""
    from render.map_layers import view_bounds

    x, y = [5.04, -4.49, 55.45], [47.32, 48.39, -20.88]
    assert view_bounds(x, y) == (-4.49, 47.32, 5.04, 48.39)
    assert view_bounds(x[:2], y[:2]) == (-4.49, 47.32, 5.04, 48.39)
    assert view_bounds(x[2:], y[2:]) == (55.45, -20.88, 55.45, -20.88)
    assert view_bounds([np.nan], [np.nan]) is None
