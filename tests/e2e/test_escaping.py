"""Names from the data are shown as text in the browser: no script runs, no tag is parsed."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e_kit import SCREENSHOTS, reference_dir, running_app, wait_rendered

pytestmark = pytest.mark.e2e

XSS = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>")


@pytest.fixture(scope="module")
def hostile_env(data_env, tmp_path_factory):
    """A copy of the latest snapshot where two structures carry XSS probes as names."""
    from observatory import storage

    source_dir = data_env.get("OBSERVATOIRE_DATA_DIR")
    source_root = Path(source_dir) / "snapshots" if source_dir else None
    snap = storage.load_snapshot(root=source_root)
    structures = snap.structures.copy()
    active = structures.index[structures["etat_administratif"] == "A"][:2]
    structures.loc[active[0], "nom"] = XSS[0]
    structures.loc[active[1], "nom"] = XSS[1]
    structures.loc[active[1], "adresse"] = "<b>1 rue</b>"
    data_dir = tmp_path_factory.mktemp("hostile_data")
    manifest = {k: v for k, v in snap.manifest.items() if k not in ("rows", "previous")}
    storage.write_snapshot(structures, snap.rejects, manifest, root=data_dir / "snapshots")
    env = dict(data_env, OBSERVATOIRE_DATA_DIR=str(data_dir),
               OBSERVATOIRE_REFERENCE_DIR=str(reference_dir(data_env)))
    return env, structures.loc[active]


def test_hostile_names_stay_text(hostile_env, page):
    env, rows = hostile_env
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    with running_app(env, "streamlit_escaping.log") as base:
        siret = rows.iloc[0]["siret"]
        page.goto(f"{base}/annuaire?q=alert")
        page.wait_for_selector('h1:has-text("Annuaire des acteurs")', timeout=90_000)
        wait_rendered(page)
        body = page.inner_text("body")
        assert "2 structures trouvées" in body, body[:1500]
        srcdoc = page.locator("iframe").first.get_attribute("srcdoc")
        for probe in XSS:
            assert probe not in srcdoc
        assert "\\u0026lt;script\\u0026gt;alert(1)" in srcdoc  # escaped, then JSON-encoded
        frame = page.frame_locator("iframe").first
        # structures close together are clustered: open the cluster (zoom or spiderfy) first
        marker = frame.locator(".leaflet-marker-icon[title]")
        for _ in range(6):
            if marker.count():
                break
            frame.locator(".ess-cluster").first.click()
            page.wait_for_timeout(1500)
        marker.first.wait_for(timeout=30_000)
        frame.locator(".leaflet-marker-icon[title]").first.dispatch_event("click")
        popup = frame.locator(".leaflet-popup-content")
        popup.wait_for(timeout=10_000)
        text = popup.inner_text()
        assert any(probe in text for probe in XSS), text  # shown literally, as text
        assert popup.locator("img, script, b").count() == 1  # only our own <b> title
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "echappement.png"), full_page=True)
        assert siret  # the hostile rows exist in the snapshot
    assert dialogs == []  # no alert() ever ran
