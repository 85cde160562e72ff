"""Errors on a page: a French message for users, the details in the server log.

``client.showErrorDetails = "none"`` (``.streamlit/config.toml``) already keeps tracebacks
out of the browser; :func:`guard` goes further: users read a French sentence with a short
reference, and the server log keeps the traceback under the same reference, so that staff
can find it.  ``st.stop`` and reruns are not errors (they are not ``Exception``\\ s).
"""

from __future__ import annotations

import contextlib
import logging
import uuid

import streamlit as st

from app_pages import loaders

__all__ = ["guard"]

log = logging.getLogger("observatoire.app")


@contextlib.contextmanager
def guard(page: str):
    """Run a page; turn any exception into a French message (details in the log)."""
    try:
        yield
    except loaders.DataUnavailableError as exc:
        st.error(str(exc), icon=":material/cloud_off:")
    except Exception:
        reference = uuid.uuid4().hex[:8]
        log.exception("page %s failed (reference %s)", page, reference)
        st.error("Une erreur est survenue et cette partie de la page n'a pas pu être affichée. "
                 "Réessayez ou changez de choix ; si l'erreur persiste, signalez-la à "
                 f"l'équipe de l'observatoire avec la référence **{reference}** (le détail "
                 "est enregistré dans le journal du serveur).", icon=":material/error:")
