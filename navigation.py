"""Navigation of the app (the script every session runs; ``app.py`` serves it).

The pages live in ``app_pages/``.  Each page keeps its state in the URL
(``st.query_params``) so that a link sent by e-mail opens the same view.
"""

from pathlib import Path

import streamlit as st

from app_pages import common

PAGES = Path(__file__).resolve().parent / "app_pages"

st.set_page_config(page_title="Observatoire de l'ESS", layout="wide")  # default icon: no CDN

navigation = st.navigation({
    "Explorer": [
        st.Page(PAGES / "comparer.py", title="Comparer les territoires",
                url_path="comparer", default=True),
        st.Page(PAGES / "mon_territoire.py", title="Mon territoire", url_path="mon-territoire"),
        st.Page(PAGES / "zones_blanches.py", title="Zones blanches", url_path="zones-blanches"),
        st.Page(PAGES / "concentrations.py", title="Concentrations", url_path="concentrations"),
        st.Page(PAGES / "annuaire.py", title="Annuaire des acteurs", url_path="annuaire"),
    ],
    "L'observatoire": [
        st.Page(PAGES / "qualite.py", title="Actualisation et qualité", url_path="qualite"),
        st.Page(PAGES / "methode.py", title="Méthode et sources", url_path="methode"),
    ],
})
navigation.run()
common.warm_up()  # after the page is drawn: prepare the other pages in the background
