"""Who sees the staff page: open with a notice locally, reserved to staff when configured
(password in secrets.toml, or Streamlit's OIDC login); public pages never ask."""

from __future__ import annotations

import pytest
from app_synthetic import REPO
from streamlit.testing.v1 import AppTest

from app_pages import access


def _qualite(secrets=None, user=None) -> AppTest:
    at = AppTest.from_file(str(REPO / "navigation.py"), default_timeout=120)
    for key, value in (secrets or {}).items():
        at.secrets[key] = value
    if user is not None:
        at.user = user
    at.run()
    at.query_params.clear()
    at.switch_page("app_pages/qualite.py").run()
    return at


def _staff_content(at: AppTest) -> bool:
    return any("Nouvelles" in d.value.columns or "Ligne brute" in d.value.columns
               for d in at.dataframe)


def test_modes_from_the_secrets():
    assert access.configured_mode({}) == "open"
    assert access.configured_mode({"staff": {"password": "x"}}) == "password"
    assert access.configured_mode({"staff": {"password_sha256": "ab"}}) == "password"
    assert access.configured_mode({"auth": {"redirect_uri": "http://x/oauth2callback"}}) == "oidc"


def test_open_mode_shows_the_page_with_a_notice(synthetic_app):
    at = _qualite()
    assert any("Accès non restreint" in i.value for i in at.info)
    assert _staff_content(at)


def test_password_mode_closed_until_the_right_password(synthetic_app):
    at = _qualite({"staff": {"password": "s3cret-observatoire"}})
    assert not _staff_content(at)
    assert [t.label for t in at.text_input] == ["Mot de passe du personnel"]
    at.text_input[0].input("mauvais")
    at.button[0].click().run()
    assert any(e.value == "Mot de passe incorrect." for e in at.error)
    assert not _staff_content(at)
    at.text_input[0].input("s3cret-observatoire")
    at.button[0].click().run()
    assert not at.exception
    assert _staff_content(at)
    raw = next(d.value for d in at.dataframe if "Ligne brute" in d.value.columns)
    assert "<script>" in raw["Ligne brute"].iloc[0]  # staff read the raw row as it is


def test_public_pages_need_no_login_when_the_staff_page_is_closed(synthetic_app):
    at = AppTest.from_file(str(REPO / "navigation.py"), default_timeout=120)
    at.secrets["staff"] = {"password": "s3cret"}
    at.run()
    assert not at.exception and [t.value for t in at.title] == ["Comparer les territoires"]
    assert not at.text_input or all(t.label != "Mot de passe du personnel"
                                     for t in at.text_input)


AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
        "client_id": "observatoire", "client_secret": "y",
        "server_metadata_url": "https://idp.example/.well-known/openid-configuration"}


def test_oidc_mode_without_authlib_stays_closed(synthetic_app, monkeypatch):
    monkeypatch.setattr(access, "authlib_installed", lambda: False)
    at = _qualite({"auth": AUTH})
    assert any("Authlib" in e.value for e in at.error)
    assert not _staff_content(at)


@pytest.mark.parametrize(("email", "granted"), [("agent@observatoire.example", True),
                                                ("visiteur@ailleurs.example", False)])
def test_oidc_mode_signed_in_staff_only(synthetic_app, monkeypatch, email, granted):
    monkeypatch.setattr(access, "authlib_installed", lambda: True)
    at = _qualite({"auth": AUTH, "staff": {"domains": ["observatoire.example"]}},
                  user={"is_logged_in": True, "email": email})
    assert not at.exception
    assert _staff_content(at) is granted
    if granted:
        assert any(f"Connecté : {email}" in c.value for c in at.caption)
    else:
        assert any("n'est pas autorisé" in e.value for e in at.error)


def test_oidc_mode_signed_out_sees_a_login_button(synthetic_app, monkeypatch):
    monkeypatch.setattr(access, "authlib_installed", lambda: True)
    at = _qualite({"auth": AUTH}, user={"is_logged_in": False})
    assert [b.label for b in at.button] == ["Se connecter"]
    assert not _staff_content(at)
