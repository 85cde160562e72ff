"""Navigation of the app (the script every session runs; ``app.py`` serves it).

The pages live in ``app_pages/``.  Each keeps its whole view in the URL (``st.query_params``,
see ``app_pages/urlstate.py``) so that a link sent by e-mail opens the same screen; every
page has its own address (``/comparer``, ``/mon-territoire``...) and the root address opens
Comparer with the parameters it was given.  The perimeter (``?serie=``) is chosen in the
sidebar of every page.  A page that fails shows a French message; the details go to the
server log (``app_pages/errors.py``).
"""

from pathlib import Path

import streamlit as st

from app_pages import common, errors, french_ui, loaders, perimetre

PAGES = Path(__file__).resolve().parent / "app_pages"

st.set_page_config(page_title="Observatoire de l'ESS", layout="wide")  # default icon: no CDN
french_ui.install()

comparer = st.Page(PAGES / "comparer.py", title="Comparer les territoires", url_path="comparer")


def _accueil() -> None:
    """The root address: Comparer, with the view the address carries."""
    st.switch_page(comparer, query_params=st.query_params.to_dict())


navigation = st.navigation({
    "Explorer": [
        comparer,
        st.Page(PAGES / "mon_territoire.py", title="Mon territoire", url_path="mon-territoire"),
        st.Page(PAGES / "zones_blanches.py", title="Zones blanches", url_path="zones-blanches"),
        st.Page(PAGES / "concentrations.py", title="Concentrations", url_path="concentrations"),
        st.Page(PAGES / "annuaire.py", title="Annuaire des acteurs", url_path="annuaire"),
    ],
    "L'observatoire": [
        st.Page(PAGES / "qualite.py", title="Actualisation et qualité", url_path="qualite"),
        st.Page(PAGES / "methode.py", title="Méthode et sources", url_path="methode"),
        st.Page(_accueil, title="Accueil", url_path="accueil", default=True,
                visibility="hidden"),
    ],
})
with errors.guard(navigation.title):
    perimetre.choose()
    navigation.run()
common.warm_up()  # after the page is drawn: prepare the other pages in the background
loaders.release_memory()  # what this run freed goes back to the system (~0.1 ms)
