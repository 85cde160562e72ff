"""Rendering in a real browser: a chart with French numbers in a browser set to English,
and the « Concentrations » page of the app with its two maps (issue 13, browser tests)."""

from __future__ import annotations

import os

import pytest
from e2e_kit import REPO, SCREENSHOTS, wait_rendered

from tests.streamlit_server import streamlit_server

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def probe_url():
    """The chart probe page served by Streamlit on 127.0.0.1."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with streamlit_server("tests/e2e/render_probe_page.py", env) as (base, _pid, _seconds):
        yield base


def test_chart_numbers_are_french_whatever_the_browser_language(browser, probe_url):
    context = browser.new_context(viewport={"width": 1200, "height": 1400}, locale="en-US")
    tab = context.new_page()
    try:
        tab.goto(probe_url)
        tab.wait_for_selector("h1:has-text(\"Graphiques\")", timeout=90_000)
        tab.locator("svg text", has_text="T4 2026").first.wait_for(timeout=60_000)
        texts = tab.eval_on_selector_all("svg text", "els => els.map(e => e.textContent)")
        assert [t for t in texts if "202" in t][:3] == ["T3 2026", "T4 2026", "T1 2027"]
        assert "1\u00a0300" in texts and "1\u00a0250" in texts  # axis: no-break space
        assert "3\u00a0000" in texts  # bars: whole numbers
        assert not [t for t in texts if "," in t and "." in t]  # no « 1,234.5 »
        assert "Trimestre" in texts and "Association" in texts and "Coopérative" in texts
        # the split's categories carry no vertical title (the page's heading names them)
        assert "Famille de l'ESS" not in texts
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SCREENSHOTS / "graphiques.png"), full_page=True)
    finally:
        context.close()


def test_concentrations_page_draws_both_maps(app_url, page):
    page.goto(f"{app_url}/concentrations")
    page.wait_for_selector("h1:has-text(\"Concentrations\")", timeout=90_000)
    wait_rendered(page)
    body = page.inner_text("body")
    assert page.locator('[data-testid="stException"]').count() == 0, body[:2000]
    assert "quotient de localisation" in body and "Quotients de localisation" in body
    first = page.frame_locator("iframe").nth(0)
    first.locator(".leaflet-container").wait_for(timeout=30_000)
    assert first.locator(".legende-carte summary").inner_text().startswith(
        "Quotient de localisation")
    page.get_by_role("tab", name="Points chauds et froids").click()
    page.get_by_text("Seuil de significativité").wait_for(timeout=90_000)
    wait_rendered(page)
    body = page.inner_text("body")
    assert "Seuil de significativité" in body and "avec ses communes voisines" in body
    second = page.frame_locator("iframe").nth(1)
    second.locator(".leaflet-container").wait_for(timeout=30_000)
    assert second.locator(".legende-carte summary").inner_text().startswith(
        "Points chauds et froids")
    scale = second.locator(".leaflet-control-scale").inner_text()
    assert "km" in scale and "mi" not in scale and "ft" not in scale
    # drawn in a hidden tab, the map is fitted to the département once shown
    view = next(f for f in page.frames if f.locator(
        ".legende-carte summary:has-text('Points chauds')").count()).evaluate(
        """() => { const m = window[Object.keys(window).find(k => k.startsWith("map_"))];
                   return [m.getSize().x, m.getZoom(),
                           m.getBounds().contains([47.32, 5.04])]; }""")
    assert view[0] > 300 and view[1] >= 7 and view[2]  # Dijon is in view, zoomed in
    assert page.external_requests == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "concentrations.png"), full_page=True)


def test_zones_map_points_share_one_tooltip_that_names_them(app_url, page):
    """The structures of the zones-blanches map are drawn on the canvas without one tooltip
    object each: hovering one (a Leaflet mouseover, the event a pointer sends) shows its
    name in the layer's single tooltip."""
    page.goto(f"{app_url}/zones-blanches")
    page.wait_for_selector("h1:has-text(\"Zones blanches\")", timeout=90_000)
    wait_rendered(page)
    frame = page.frame_locator("iframe").first
    frame.locator(".leaflet-container").wait_for(timeout=30_000)
    shown = frame.locator("body").evaluate("""() => {
        const key = Object.keys(window).find(k => k.startsWith('points_layer_'));
        const markers = window[key].getLayers();
        markers[0].fire('mouseover', {latlng: markers[0].getLatLng()}, true);
        const tip = document.querySelector('.leaflet-tooltip');
        return {count: markers.length, name: markers[0].nom, tip: tip && tip.innerText,
                tooltips: markers.filter(m => m.getTooltip()).length}; }""")
    assert shown["count"] > 0 and shown["tooltips"] == 0
    assert shown["tip"] and shown["tip"] == shown["name"].replace("&amp;", "&")
