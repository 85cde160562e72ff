"""Widgets bound to a URL parameter (see :mod:`app_pages.urlstate` for the mechanism).

Each function seeds the widget from the URL (checked; a French notice and the default when the
value cannot be used), draws it with French texts only (no Streamlit default placeholder,
no "Select all"), then writes its value back to the URL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from app_pages import params, urlstate

__all__ = ["checkbox", "multiselect", "pills", "radio", "selectbox", "slider", "text_input"]

Refuse = Callable[[str], str | None]
#: Longer option lists can be filtered by typing.
_FILTER_FROM = 12


def _seed(name: str, default: Any, valid: Callable[[Any], bool],
          parse: Callable[[str], Any], shown: Callable[[Any], str],
          refuse: Refuse | None = None) -> str:
    """Set the widget state of ``name`` from the URL, or keep it, or fall back to
    ``default``; return the widget key."""
    k = urlstate.key(name)
    raw = urlstate.incoming(name)
    if raw is not None:
        try:
            value = parse(raw)
        except params.BadParameterError as exc:
            message = (refuse(raw) if refuse else None) or str(exc)
            urlstate.notice(f"{message} La page affiche à la place : {shown(default)}.")
            value = default
        st.session_state[k] = value
    elif k not in st.session_state or not valid(st.session_state[k]):
        previous = st.session_state.get(k)
        message = refuse(str(previous)) if refuse and previous is not None else None
        if message:
            urlstate.notice(f"{message} La page affiche à la place : {shown(default)}.")
        st.session_state[k] = default
    return k


def selectbox(name: str, label: str, options: Sequence[str], *, default: str, what: str,
              format_func: Callable[[Any], str] = str, where=st, refuse: Refuse | None = None,
              help: str | None = None) -> str:
    """A select box over ``options`` (codes), bound to ``?name=code``."""
    options = list(options)
    if default not in options:
        default = options[0]
    k = _seed(name, default, lambda v: v in options,
              lambda raw: params.parse_choice(raw, options, what=what), format_func, refuse)
    value = where.selectbox(label, options, format_func=format_func, key=k, help=help,
                            filter_mode="contains" if len(options) > _FILTER_FROM else None)
    urlstate.write(name, value)
    return value


def radio(name: str, label: str, options: Sequence[str], *, default: str, what: str,
          format_func: Callable[[Any], str] = str, where=st, horizontal: bool = True,
          help: str | None = None) -> str:
    """Radio buttons over ``options``, bound to ``?name=option``."""
    options = list(options)
    k = _seed(name, default, lambda v: v in options,
              lambda raw: params.parse_choice(raw, options, what=what), format_func)
    value = where.radio(label, options, format_func=format_func, key=k,
                        horizontal=horizontal, help=help)
    urlstate.write(name, value)
    return value


def slider(name: str, label: str, lo: int, hi: int, *, default: int, what: str, where=st,
           help: str | None = None) -> int:
    """An integer slider, bound to ``?name=N`` (ASCII digits in [lo, hi] only)."""
    k = _seed(name, default, lambda v: isinstance(v, int) and lo <= v <= hi,
              lambda raw: params.parse_int(raw, lo, hi, what=what), str)
    value = int(where.slider(label, lo, hi, key=k, step=1, help=help))
    urlstate.write(name, str(value))
    return value


def text_input(name: str, label: str, *, where=st, placeholder: str | None = None,
               help: str | None = None, default: str = "") -> str:
    """Free text (a search), bound to ``?name=text`` (removed from the URL when empty)."""
    k = _seed(name, default, lambda v: isinstance(v, str), params.parse_text, repr)
    value = params.parse_text(where.text_input(label, key=k, placeholder=placeholder or "",
                                               help=help, max_chars=params.MAX_TEXT))
    urlstate.write(name, value or None)
    return value


def checkbox(name: str, label: str, *, default: bool, what: str, where=st,
             help: str | None = None) -> bool:
    """A check box, bound to ``?name=1`` or ``?name=0``."""
    k = _seed(name, default, lambda v: isinstance(v, bool),
              lambda raw: params.parse_flag(raw, what=what), lambda v: "oui" if v else "non")
    value = bool(where.checkbox(label, key=k, help=help))
    urlstate.write(name, "1" if value else "0")
    return value


def _seed_list(name: str, options: list[str], default: Sequence[str], what: str,
               format_func: Callable[[Any], str], limit: int | None) -> str:
    k = urlstate.key(name)
    raw = urlstate.incoming(name)
    if raw is not None:
        known, unknown = params.parse_list(raw, options, what=what)
        if unknown:
            urlstate.notice(f"{what.capitalize()} : « {', '.join(unknown)} » n'existe pas "
                            "ici ; ignoré.")
        if limit is not None and len(known) > limit:
            urlstate.notice(f"Au plus {limit} éléments pour {what} : les premiers sont gardés.")
            known = known[:limit]
        st.session_state[k] = known
    elif k not in st.session_state or not isinstance(st.session_state[k], list):
        st.session_state[k] = [v for v in default if v in options]
    else:
        st.session_state[k] = [v for v in st.session_state[k] if v in options]
    return k


def multiselect(name: str, label: str, options: Sequence[str], *, default: Sequence[str] = (),
                what: str, format_func: Callable[[Any], str] = str, placeholder: str,
                where=st, limit: int | None = None, help: str | None = None) -> list[str]:
    """A multiple choice in a drop-down list (long lists), bound to ``?name=a,b``.

    ``limit`` is enforced here with a French message (Streamlit's own limit speaks English).
    """
    options = list(options)
    k = _seed_list(name, options, default, what, format_func, limit)
    values = list(where.multiselect(
        label, options, format_func=format_func, key=k, placeholder=placeholder, help=help,
        select_all=False, filter_mode="contains" if len(options) > _FILTER_FROM else None))
    if limit is not None and len(values) > limit:
        where.warning(f"Au plus {limit} éléments : seuls les {limit} premiers sont utilisés.")
        values = values[:limit]
    urlstate.write(name, params.encode_list(values) or None)
    return values


def pills(name: str, label: str, options: Sequence[str], *, default: Sequence[str] = (),
          what: str, format_func: Callable[[Any], str] = str, where=st,
          help: str | None = None) -> list[str]:
    """A multiple choice shown as buttons (short lists), bound to ``?name=a,b``."""
    options = list(options)
    k = _seed_list(name, options, default, what, format_func, None)
    values = list(where.pills(label, options, format_func=format_func, key=k,
                              selection_mode="multi", help=help) or [])
    urlstate.write(name, params.encode_list(values) or None)
    return values
