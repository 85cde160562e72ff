"""Users read a French message, never a stack trace; the details go to the server log."""

from __future__ import annotations

import logging
import tomllib

from app_synthetic import REPO
from test_pages_synthetic import _open


def test_config_keeps_tracebacks_out_of_the_browser():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["client"]["showErrorDetails"] == "none"
    assert config["client"]["toolbarMode"] == "minimal"


def test_a_failing_page_says_so_in_french_and_logs_the_details(synthetic_app, monkeypatch,
                                                               caplog):
    from app_pages import loaders

    def broken(*args, **kwargs):
        raise RuntimeError("détail interne /srv/secret/path.py")

    monkeypatch.setattr(loaders, "indicator_table", broken)
    with caplog.at_level(logging.ERROR, logger="observatoire.app"):
        at = _open("comparer")
    assert not at.exception  # no traceback element reaches the page
    message = " ".join(e.value for e in at.error)
    assert message.startswith("Une erreur est survenue")
    assert "/srv/secret" not in message and "RuntimeError" not in message
    reference = message.split("référence **")[1].split("**")[0]
    assert f"reference {reference}" in caplog.text
    assert "/srv/secret/path.py" in caplog.text  # the details are in the log


def test_missing_data_is_said_in_french(synthetic_app, monkeypatch):
    from app_pages import loaders

    monkeypatch.setattr(loaders, "_ensure_data", lambda: [])
    at = _open("methode")
    assert not at.exception
    assert any("Aucun instantané n'est disponible" in e.value for e in at.error)
