"""Who sees the staff page (rejected rows, raw source rows, accounting).

Public pages need no login.  The staff page « Actualisation et qualité » is reserved to staff
when the deployment configures it in ``.streamlit/secrets.toml`` (README, « Accès du
personnel »):

* ``[auth]`` (Streamlit's built-in OpenID Connect, ``st.login``): staff sign in with the
  organisation's identity provider; ``[staff] emails`` / ``domains`` optionally narrow who
  is staff (default: anyone the provider signs in).  Needs Authlib
  (``pip install "streamlit[auth]"``); without it the page stays closed and says why.
* ``[staff] password`` (or ``password_sha256``, hex): a shared password asked on the page.
* nothing configured (a local run): the page is open, with a visible notice.

Only a signed-in staff member sees personal fields of raw rejected rows
(:func:`app_pages.tables.mask_personal` hides them everywhere else).
"""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import time
from dataclasses import dataclass
from typing import Any

import streamlit as st

__all__ = ["Access", "authlib_installed", "configured_mode", "staff_gate"]

_OK = "_staff_ok"
_FAILS = "_staff_fails"
_MAX_FAILS = 5
_LOCK_S = 60.0


@dataclass(frozen=True)
class Access:
    """``mode``: ``oidc``, ``password`` or ``open``; ``granted``: the page may show;
    ``staff``: a staff member proved who they are (personal fields may show)."""

    mode: str
    granted: bool
    staff: bool
    who: str | None = None


def _secrets() -> dict[str, Any]:
    try:
        return st.secrets.to_dict()
    except FileNotFoundError:  # no secrets.toml (StreamlitSecretNotFoundError): local run
        return {}


def configured_mode(secrets: dict[str, Any] | None = None) -> str:
    """``oidc`` when ``[auth]`` is configured, ``password`` when ``[staff] password`` is,
    else ``open``."""
    secrets = _secrets() if secrets is None else secrets
    if isinstance(secrets.get("auth"), dict) and secrets["auth"]:
        return "oidc"
    staff = secrets.get("staff") if isinstance(secrets.get("staff"), dict) else {}
    if staff.get("password") or staff.get("password_sha256"):
        return "password"
    return "open"


def _provider(auth: dict[str, Any]) -> str | None:
    """Named provider (``[auth.microsoft]``) when the settings are not at the top level."""
    if "client_id" in auth:
        return None
    named = [name for name, value in auth.items() if isinstance(value, dict)]
    return named[0] if named else None


def _allowed(email: str | None, staff: dict[str, Any]) -> bool:
    emails = {str(e).lower() for e in staff.get("emails", []) or []}
    domains = {str(d).lower().lstrip("@") for d in staff.get("domains", []) or []}
    if not emails and not domains:
        return True
    email = (email or "").lower()
    return email in emails or email.rpartition("@")[2] in domains


def authlib_installed() -> bool:
    """Streamlit's OIDC login needs Authlib (``pip install "streamlit[auth]"``)."""
    return importlib.util.find_spec("authlib") is not None


def _oidc(secrets: dict[str, Any]) -> Access:
    if not authlib_installed():
        st.error("L'accès du personnel est configuré (section [auth] de secrets.toml) mais le "
                 "module Authlib n'est pas installé sur le serveur : la page reste fermée. "
                 "Installez-le avec : pip install \"streamlit[auth]\".")
        return Access("oidc", False, False)
    if not st.user.is_logged_in:
        st.info("Cette page est réservée au personnel de l'observatoire.")
        if st.button("Se connecter", key="staff_login"):
            st.login(_provider(secrets["auth"]))
        return Access("oidc", False, False)
    email = st.user.get("email")
    staff = secrets.get("staff") if isinstance(secrets.get("staff"), dict) else {}
    if not _allowed(email, staff):
        st.error(f"Le compte {email or 'utilisé'} n'est pas autorisé à consulter cette page.")
        st.button("Se déconnecter", key="staff_logout", on_click=st.logout)
        return Access("oidc", False, False, email)
    left, right = st.columns([4, 1])
    left.caption(f"Connecté : {email or st.user.get('name') or 'personnel'}")
    right.button("Se déconnecter", key="staff_logout", on_click=st.logout)
    return Access("oidc", True, True, email)


def _password_ok(given: str, staff: dict[str, Any]) -> bool:
    if staff.get("password_sha256"):
        digest = hashlib.sha256(given.encode("utf-8")).hexdigest()
        return hmac.compare_digest(digest, str(staff["password_sha256"]).lower())
    return hmac.compare_digest(given.encode("utf-8"), str(staff["password"]).encode("utf-8"))


def _password(secrets: dict[str, Any]) -> Access:
    if st.session_state.get(_OK):
        return Access("password", True, True)
    fails, since = st.session_state.get(_FAILS, (0, 0.0))
    if fails >= _MAX_FAILS and time.monotonic() - since < _LOCK_S:
        st.error("Trop d'essais : réessayez dans une minute.")
        return Access("password", False, False)
    st.info("Cette page est réservée au personnel de l'observatoire.")
    with st.form("staff_password"):
        given = st.text_input("Mot de passe du personnel", type="password")
        sent = st.form_submit_button("Entrer")
    if sent:
        if _password_ok(given, secrets["staff"]):
            st.session_state[_OK] = True
            st.session_state.pop(_FAILS, None)
            st.rerun()
        st.session_state[_FAILS] = (fails + 1, time.monotonic())
        st.error("Mot de passe incorrect.")
    return Access("password", False, False)


def staff_gate() -> Access:
    """Draw the access control of the staff page and say whether the page may show."""
    secrets = _secrets()
    mode = configured_mode(secrets)
    if mode == "oidc":
        return _oidc(secrets)
    if mode == "password":
        return _password(secrets)
    st.info("**Accès non restreint** : aucun contrôle d'accès n'est configuré (exécution "
            "locale). En service, cette page doit être réservée au personnel : voir le "
            "README, section « Accès du personnel ». Les champs personnels des lignes "
            "rejetées restent masqués.", icon=":material/lock_open:")
    return Access("open", True, False)
