"""Charts of the observatory (Altair / Vega-Lite, drawn by Streamlit's bundled Vega: no
network), in French: axis titles, quarters written « T4 2026 », numbers ``1 234,5``.

French number formats come from the chart's own Vega **format locale** (``config.locale``:
decimal comma, no-break space between thousands, as :func:`render.fr.nombre` writes them),
so that axis labels and tooltips are French in any browser, without loading a locale file.

Every chart has its table alternative (« Voir le tableau »): :func:`chart_table` gives the
same data as a French table whose numbers stay numbers (sortable).
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from render import fr

__all__ = ["FR_LOCALE", "chart_table", "evolution_chart", "number_format", "split_chart"]

#: Vega format locale of the observatory (d3-format / d3-time-format definitions).
FR_LOCALE = {
    "number": {"decimal": ",", "thousands": fr.NBSP, "grouping": [3],
               "currency": ["", f"{fr.NBSP}€"], "percent": f"{fr.NBSP}%",
               "minus": "\u2212", "nan": "–"},
    "time": {
        "dateTime": "%A %e %B %Y à %X", "date": "%d/%m/%Y", "time": "%H:%M:%S",
        "periods": ["AM", "PM"],
        "days": ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"],
        "shortDays": ["dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."],
        "months": list(fr.MOIS[1:]),
        "shortMonths": ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août",
                        "sept.", "oct.", "nov.", "déc."],
    },
}
_FONT = "Marianne, Arial, sans-serif"
_BLUE = "#000091"  # the French State's blue: one series
#: Colour-blind safe categorical colours (Okabe-Ito), the territory first.
_SERIES_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9"]


def number_format(values: pd.Series, *, axis: bool = False) -> str:
    """d3 format of the values: whole numbers ``,d`` (``1 234``), else one decimal
    ``,.1f`` (``1 234,5``), French through :data:`FR_LOCALE`.  Axis ticks drop a trailing
    ``,0`` (``,.1~f``: ``500`` but ``2,5``)."""
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    whole = len(numbers) == 0 or bool((numbers.round() == numbers).all())
    return ",d" if whole else (",.1~f" if axis else ",.1f")


def _configured(chart: alt.Chart, *, height: int) -> alt.Chart:
    # fit-x: the width follows the page, the height stays that of the plot (Streamlit's
    # default « fit » squeezes the plot under long axis titles and the legend)
    return chart.properties(
        height=height, width="container",
        autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
    ).configure(locale=FR_LOCALE, font=_FONT).configure_axis(
        labelFontSize=12, titleFontSize=12, labelLimit=320, titleLimit=400,
    ).configure_legend(labelFontSize=12, titleFontSize=12, labelLimit=320, orient="top",
                       direction="horizontal")


def _check(frame: pd.DataFrame, needed: tuple[str, ...], name: str) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{name} needs the columns {', '.join(needed)}; missing: {', '.join(missing)}. "
            f"Columns given: {list(frame.columns)}. How to fix: rename the columns "
            "(see docs/architecture.md, rendering).")


def _quarters(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    data = frame.copy()
    data["trimestre"] = data["trimestre"].astype(str)
    order = sorted(data["trimestre"].unique())  # "2026-T3" < "2026-T4" < "2027-T1"
    data["periode"] = data["trimestre"].map(fr.trimestre_court)
    return data, [fr.trimestre_court(q) for q in order]


def evolution_chart(frame: pd.DataFrame, *, measure_label: str, unit: str = "") -> alt.Chart:
    """One line per territory over the quarters (the territory and its reference).

    Parameters
    ----------
    frame : DataFrame
        ``trimestre`` ("2026-T4"), ``territoire`` (display name), ``valeur`` (float).
    measure_label : str
        What is measured (« Structures de l'ESS actives »): the y-axis title.
    unit : str
        Unit written after the title (« pour 10 000 hab. »).
    """
    _check(frame, ("trimestre", "territoire", "valeur"), "evolution_chart")
    data, order = _quarters(frame)
    data["valeur"] = pd.to_numeric(data["valeur"], errors="coerce").astype("float64")
    fmt = number_format(data["valeur"])
    title = fr.avec_unite(measure_label, unit)
    # two lines when the unit is added (« pour 10 000 hab. » is never written twice)
    axis_title = measure_label if title == measure_label else [measure_label, f"({unit})"]
    territories = list(dict.fromkeys(data["territoire"].astype(str)))
    chart = alt.Chart(data[["periode", "territoire", "valeur"]]).mark_line(
        point=alt.OverlayMarkDef(size=60, filled=True), strokeWidth=2.5,
    ).encode(
        x=alt.X("periode:O", sort=order, title="Trimestre",
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y("valeur:Q", title=axis_title,
                axis=alt.Axis(format=number_format(data["valeur"], axis=True), tickCount=5),
                scale=alt.Scale(zero=False, nice=True)),
        color=alt.Color("territoire:N", title="Territoire", sort=territories,
                        scale=alt.Scale(domain=territories,
                                        range=_SERIES_COLOURS[:len(territories)])),
        tooltip=[alt.Tooltip("territoire:N", title="Territoire"),
                 alt.Tooltip("periode:O", title="Trimestre"),
                 alt.Tooltip("valeur:Q", title=title, format=fmt)],
    )
    return _configured(chart, height=300)


def split_chart(frame: pd.DataFrame, *, category_label: str) -> alt.Chart:
    """Horizontal bars of a split (by family, by sector), largest first; side by side per
    territory when the frame has a ``territoire`` column.

    Parameters
    ----------
    frame : DataFrame
        ``categorie`` (French label), ``valeur`` (float), optional ``territoire``.
    category_label : str
        What the categories are (« Famille de l'ESS »), in the tooltip.  The y axis has no
        title: the page's heading above the chart names the split, and beside long labels
        (« Groupement d'employeurs pour l'insertion et la qualification ») in a half-width
        column a vertical title was drawn over them.
    """
    _check(frame, ("categorie", "valeur"), "split_chart")
    data = frame.copy()
    data["valeur"] = pd.to_numeric(data["valeur"], errors="coerce").astype("float64")
    data["categorie"] = data["categorie"].astype(str)
    first = data["territoire"].iloc[0] if "territoire" in data and len(data) else None
    ranking = data if first is None else data[data["territoire"] == first]
    order = list(ranking.sort_values("valeur", ascending=False, kind="stable")["categorie"])
    order += [c for c in dict.fromkeys(data["categorie"]) if c not in order]
    fmt = number_format(data["valeur"])
    tooltip = [alt.Tooltip("categorie:N", title=category_label),
               alt.Tooltip("valeur:Q", title="Valeur", format=fmt)]
    encoding = {
        "y": alt.Y("categorie:N", sort=order, title=None),
        "x": alt.X("valeur:Q", title="Nombre de structures" if fmt == ",d" else "Valeur",
                   axis=alt.Axis(format=number_format(data["valeur"], axis=True),
                                 tickCount=5)),
    }
    if "territoire" in data:
        territories = list(dict.fromkeys(data["territoire"].astype(str)))
        encoding["yOffset"] = alt.YOffset("territoire:N", sort=territories)
        encoding["color"] = alt.Color("territoire:N", title="Territoire", sort=territories,
                                      scale=alt.Scale(domain=territories,
                                                      range=_SERIES_COLOURS[:len(territories)]))
        tooltip.insert(0, alt.Tooltip("territoire:N", title="Territoire"))
        chart = alt.Chart(data).mark_bar().encode(**encoding, tooltip=tooltip)
    else:
        chart = alt.Chart(data).mark_bar(color=_BLUE).encode(**encoding, tooltip=tooltip)
    n_territories = data["territoire"].nunique() if "territoire" in data else 1
    height = max(120, 22 * len(order) * max(1, n_territories))
    return _configured(chart, height=height)


def chart_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The data of a chart as a French table (« Voir le tableau »); numbers stay numbers.

    * evolution frame (``trimestre``): one row per quarter (« T4 2026 », oldest first), one
      column per territory;
    * split frame (``categorie``): one row per category, one column per territory (or
      « Valeur »), largest first.
    """
    if "trimestre" in frame.columns:
        data, order = _quarters(frame)
        table = data.pivot_table(index="periode", columns="territoire", values="valeur",
                                 aggfunc="first", sort=False)
        territories = list(dict.fromkeys(data["territoire"]))
        table = table.reindex(index=order, columns=territories)
        table.columns.name = None
        return table.rename_axis("Trimestre").reset_index()
    _check(frame, ("categorie", "valeur"), "chart_table")
    if "territoire" in frame.columns:
        table = frame.pivot_table(index="categorie", columns="territoire", values="valeur",
                                  aggfunc="first", sort=False)
        table = table.reindex(columns=list(dict.fromkeys(frame["territoire"])))
        table = table.sort_values(table.columns[0], ascending=False, kind="stable")
        table.columns.name = None
        return table.rename_axis("Catégorie").reset_index()
    table = frame[["categorie", "valeur"]].sort_values("valeur", ascending=False,
                                                       kind="stable")
    return table.rename(columns={"categorie": "Catégorie", "valeur": "Valeur"}) \
        .reset_index(drop=True)
