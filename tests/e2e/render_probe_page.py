"""A Streamlit page that only draws render.charts (run by test_render_browser.py)."""

import pandas as pd
import streamlit as st

from render import charts

st.title("Graphiques")
evolution = pd.DataFrame({"trimestre": ["2026-T3", "2026-T4", "2027-T1"] * 2,
                          "territoire": ["Côte-d'Or"] * 3 + ["Bourgogne-Franche-Comté"] * 3,
                          "valeur": [1234.5, 1250.25, 1301.0, 1100.0, 1125.5, 1180.75]})
st.altair_chart(charts.evolution_chart(evolution, measure_label="Structures",
                                       unit="pour 10 000 hab."))
split = pd.DataFrame({"categorie": ["Association", "Coopérative"], "valeur": [2977.0, 199.0]})
st.altair_chart(charts.split_chart(split, category_label="Famille de l'ESS"))
