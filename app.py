"""Observatoire territorial de l'ESS: Streamlit entry point.

``streamlit run app.py`` serves ``navigation.py`` (the navigation and the pages),
and, before the server answers, loads once per process what the first page needs: the heavy
imports, the reference geography, the latest snapshot (``app_pages.loaders.preload``).
"""

from contextlib import asynccontextmanager

import streamlit as st


@asynccontextmanager
async def _lifespan(_app):
    from app_pages.loaders import preload

    preload()
    yield


app = st.App("navigation.py", lifespan=_lifespan)
