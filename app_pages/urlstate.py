"""Permalinks: the whole view of a page lives in the URL (``st.query_params``).

How a widget is bound to a URL parameter (see :mod:`app_pages.widgets`):

1. before the widget is drawn, :func:`incoming` gives the URL value **if it changed since
   this session last wrote or read it** (a link just opened, an address edited by hand, the
   browser's back button); the value is checked, and seeded into ``st.session_state`` (the
   widget's state), or refused with a French notice and a default;
2. the widget is drawn with its key and no default of its own (the session state holds it);
3. :func:`write` puts the widget's value back in the URL (every parameter, defaults included,
   so that a link keeps its meaning when defaults change).

Parameters unknown to the page are reported and removed (:func:`begin`).  Widget keys are
prefixed by the page so that two pages using the same parameter name never share state.
"""

from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from app_pages import params

__all__ = ["GLOBAL", "begin", "incoming", "key", "notice", "page", "write"]

#: Parameters valid on every page (the perimeter).
GLOBAL = ("serie",)
_PAGE = "_url_page"
_SEEN = "_url_seen"


def page() -> str:
    """Name of the page being drawn (set by :func:`begin`)."""
    return str(st.session_state.get(_PAGE, ""))


def key(name: str) -> str:
    """Widget key of a parameter on the current page (global parameters are not prefixed)."""
    return name if name in GLOBAL else f"{page()}.{name}"


def _seen() -> dict[str, str]:
    if _SEEN not in st.session_state:
        st.session_state[_SEEN] = {}
    return st.session_state[_SEEN]


def begin(name: str, names: Iterable[str]) -> None:
    """Start drawing page ``name`` whose parameters are ``names``: forget what another page
    wrote, and report then drop parameters this page does not know."""
    if st.session_state.get(_PAGE) != name:
        st.session_state[_PAGE] = name
        seen = _seen()
        for stale in [k for k in seen if k not in GLOBAL]:
            del seen[stale]
    allowed = set(names) | set(GLOBAL)
    unknown = [k for k in st.query_params if k not in allowed]
    if unknown:
        notice(params.unknown_message(unknown))
        for k in unknown:
            del st.query_params[k]


def incoming(name: str) -> str | None:
    """The URL value of ``name`` when it is new to this session, else None."""
    raw = st.query_params.get(name)
    if raw is None:
        return None
    seen = _seen()
    if seen.get(name) == raw:
        return None
    seen[name] = raw
    return raw


def write(name: str, value: str | None) -> None:
    """Put ``value`` in the URL under ``name`` (None removes it)."""
    seen = _seen()
    if value is None:
        if name in st.query_params:
            del st.query_params[name]
        seen.pop(name, None)
        return
    text = str(value)
    if st.query_params.get(name) != text:
        st.query_params[name] = text
    seen[name] = text


def notice(text: str) -> None:
    """A French notice about the address (invalid or unknown parameter)."""
    st.warning(text, icon=":material/link_off:")
