"""The layers' data are written into the page after branca's two Jinja passes
(render.map_payload): never read as a template, escaped for a <script>, all in place."""

import json
import re

import folium
import pandas as pd

from render import map_layers, maps
from render.map_payload import render_page, script_json


def test_script_json_escapes_like_tojson_with_compact_separators():
    # derived by hand: < > & ' as \u escapes (Jinja's htmlsafe_json_dumps), no spaces
    assert script_json({"a": "</script>&'", "b": [1, 2.5]}) == \
        '{"a":"\\u003c/script\\u003e\\u0026\\u0027","b":[1,2.5]}'


def _page_with_labels(rows) -> str:
    m = folium.Map(tiles=None)
    map_layers.LabelsLayer(rows).add_to(m)
    return render_page(m)


def test_data_are_not_read_as_a_template():
    """A text that is Jinja code reaches the page as that text: before, the second Jinja
    pass evaluated it (« 49 »)."""
    page = _page_with_labels([[47.0, 4.0, "{{ 7*7 }}", "", 1]])
    assert '"{{ 7*7 }}"' in page
    assert '"49"' not in page


def test_every_token_is_replaced_and_data_shaped_like_a_token_stay_text():
    page = _page_with_labels([[47.0, 4.0, "__donnees_faux_rows__", "", 1]])
    rows = re.search(r"var rows = (\[.*?\]);", page).group(1)
    assert json.loads(rows) == [[47.0, 4.0, "__donnees_faux_rows__", "", 1]]
    assert not re.search(r"__donnees_labelslayer_[0-9a-f]+_rows__", page)


def test_a_structures_map_carries_its_rows_as_json():
    structures = pd.DataFrame({
        "latitude": [47.05, 47.06], "longitude": [4.05, 4.15], "nom": ["Un", "Deux"],
        "famille_ess": ["association", "cooperative"], "naf_libelle": ["A", "B"],
        "adresse": ["1 rue A", "2 rue B"], "siret": ["1" * 14, "2" * 14],
        "location_precision": ["geoloc_insee", "centroide_commune"]})
    page = maps.map_html(maps.structures_map(structures))
    rows = json.loads(re.search(r"var rows = (\[\[.*?\]\]);", page).group(1))
    assert [(r[0], r[1], r[3]) for r in rows] == [(47.05, 4.05, "Un"), (47.06, 4.15, "Deux")]
    assert "__donnees_" not in page
