"""Charts (render.charts): French labels and number formats in the Vega-Lite spec, quarters
written « T4 2026 » in time order, and the table alternative of every chart."""

import pandas as pd
import pytest

from render import charts


@pytest.fixture
def evolution():
    # quarters given out of order, across a year: the axis must read T4 2026 then T1 2027
    return pd.DataFrame({
        "trimestre": ["2027-T1", "2026-T3", "2026-T4"] * 2,
        "territoire": ["Côte-d'Or"] * 3 + ["Bourgogne-Franche-Comté"] * 3,
        "valeur": [1301.0, 1234.5, 1250.25, 1180.75, 1100.0, 1125.5],
    })


def _spec(chart) -> dict:
    return chart.to_dict()


def test_french_locale_is_in_the_chart_itself(evolution):
    spec = _spec(charts.evolution_chart(evolution, measure_label="Structures pour 10 000 "
                                        "habitants", unit="pour 10 000 hab."))
    number = spec["config"]["locale"]["number"]
    assert number["decimal"] == "," and number["thousands"] == "\u00a0"
    assert spec["config"]["locale"]["time"]["months"][10] == "novembre"


def test_evolution_chart_axes_quarters_and_formats(evolution):
    spec = _spec(charts.evolution_chart(evolution, measure_label="Structures",
                                        unit="pour 10 000 hab."))
    x, y = spec["encoding"]["x"], spec["encoding"]["y"]
    assert x["title"] == "Trimestre"
    assert x["sort"] == ["T3 2026", "T4 2026", "T1 2027"]  # time order, French writing
    assert y["title"] == ["Structures", "(pour 10 000 hab.)"]
    assert y["axis"]["format"] == ",.1~f"  # decimals present: one shown, French locale
    assert spec["encoding"]["color"]["title"] == "Territoire"
    assert spec["encoding"]["color"]["sort"] == ["Côte-d'Or", "Bourgogne-Franche-Comté"]
    titles = [t["title"] for t in spec["encoding"]["tooltip"]]
    assert titles == ["Territoire", "Trimestre", "Structures (pour 10 000 hab.)"]
    values = next(iter(spec["datasets"].values()))
    assert {r["periode"] for r in values} == {"T3 2026", "T4 2026", "T1 2027"}


def test_split_chart_largest_first_and_whole_numbers():
    frame = pd.DataFrame({"categorie": ["Mutuelle", "Association", "Coopérative"],
                          "valeur": [47.0, 2977.0, 199.0]})
    spec = _spec(charts.split_chart(frame, category_label="Famille de l'ESS"))
    assert spec["encoding"]["y"]["sort"] == ["Association", "Coopérative", "Mutuelle"]
    assert spec["encoding"]["y"]["title"] is None  # the page's heading names the split
    assert spec["encoding"]["tooltip"][0]["title"] == "Famille de l'ESS"
    assert spec["encoding"]["x"]["axis"]["format"] == ",d"
    assert spec["encoding"]["x"]["title"] == "Nombre de structures"


def test_split_chart_per_territory_side_by_side():
    frame = pd.DataFrame({"categorie": ["Association", "Mutuelle"] * 2,
                          "valeur": [10.0, 2.0, 30.0, 1.0],
                          "territoire": ["Dijon", "Dijon", "Côte-d'Or", "Côte-d'Or"]})
    spec = _spec(charts.split_chart(frame, category_label="Famille"))
    assert spec["encoding"]["yOffset"]["field"] == "territoire"
    assert spec["encoding"]["color"]["sort"] == ["Dijon", "Côte-d'Or"]


def test_chart_table_of_an_evolution(evolution):
    table = charts.chart_table(evolution)
    assert list(table.columns) == ["Trimestre", "Côte-d'Or", "Bourgogne-Franche-Comté"]
    assert table["Trimestre"].tolist() == ["T3 2026", "T4 2026", "T1 2027"]
    assert table["Côte-d'Or"].tolist() == [1234.5, 1250.25, 1301.0]  # numbers, sortable
    assert pd.api.types.is_float_dtype(table["Bourgogne-Franche-Comté"])


def test_chart_table_of_a_split():
    frame = pd.DataFrame({"categorie": ["Mutuelle", "Association"], "valeur": [47.0, 2977.0]})
    table = charts.chart_table(frame)
    assert table.to_dict("list") == {"Catégorie": ["Association", "Mutuelle"],
                                     "Valeur": [2977.0, 47.0]}
    wide = charts.chart_table(frame.assign(territoire="Dijon"))
    assert list(wide.columns) == ["Catégorie", "Dijon"]


def test_missing_columns_are_explained():
    with pytest.raises(ValueError, match="trimestre, territoire, valeur"):
        charts.evolution_chart(pd.DataFrame({"x": [1]}), measure_label="x")
