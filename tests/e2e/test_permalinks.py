"""A copied link opens the same screen in a fresh browser, on every page; a link to a
territory the snapshot does not cover says so (never another territory); a table sorts its
numbers as numbers."""

from __future__ import annotations

import pytest
from e2e_kit import (
    SCREENSHOTS,
    choose,
    nudge,
    open_page,
    pick_pill,
    pick_radio,
    type_in,
    view_state,
    wait_rendered,
)

pytestmark = pytest.mark.e2e


def _comparer(tab):
    choose(tab, "Territoires à comparer", "Communes d'un département")
    choose(tab, "Indicateur", "Structures de l'ESS actives")
    pick_radio(tab, "Seuils naturels (Jenks)")
    nudge(tab, "Nombre de classes", "ArrowLeft", 1)


def _mon_territoire(tab):
    type_in(tab, "Rechercher une commune", "beaune")
    choose(tab, "Territoire", "CA Beaune, Côte et Sud - Communauté Beaune-Chagny-Nolay "
                              "(EPCI, 200006682) — couverture partielle")
    pick_radio(tab, "Structures pour 10 000 habitants")
    nudge(tab, "Distance à la structure la plus proche", "ArrowLeft", 3)


def _zones(tab):
    choose(tab, "Type de structure", "Coopérative")
    nudge(tab, "Distance minimale", "ArrowLeft", 2)


def _concentrations(tab):
    pick_radio(tab, "Secteurs d'activité")


def _annuaire(tab):
    type_in(tab, "Nom, SIRET ou adresse contient", "paix")
    pick_pill(tab, "Coopérative")
    choose(tab, "Département", "Côte-d'Or (21)")


def _qualite(tab):
    choose(tab, "Niveau", "Département")


CHANGES = {"comparer": _comparer, "mon-territoire": _mon_territoire, "zones-blanches": _zones,
           "concentrations": _concentrations, "annuaire": _annuaire, "qualite": _qualite,
           "methode": lambda tab: None}


@pytest.mark.parametrize("path", list(CHANGES))
def test_copied_link_opens_the_same_screen(app_url, browser, page, path):
    open_page(page, f"{app_url}/{path}")
    default = view_state(page)
    CHANGES[path](page)
    wait_rendered(page)
    link, changed = page.url, view_state(page)
    if path != "methode":
        assert changed != default, "the change must show on screen"
    assert f"/{path}" in link and "serie=ess" in link
    fresh = browser.new_context(viewport={"width": 1400, "height": 2200}, locale="fr-FR")
    try:
        other = fresh.new_page()
        open_page(other, link)
        assert view_state(other) == changed
        assert other.url == link  # nothing lost, nothing added
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        other.screenshot(path=str(SCREENSHOTS / f"permalien-{path}.png"), full_page=True)
    finally:
        fresh.close()


def test_subpage_addresses_open_their_page(app_url, page):
    open_page(page, f"{app_url}/comparer")
    assert page.locator("h1").first.inner_text() == "Comparer les territoires"
    open_page(page, f"{app_url}/mon-territoire?niveau=commune&code=21231")
    assert page.locator("h2").first.inner_text() == "Dijon (commune, 21231)"


def test_invalid_parameter_gets_a_french_notice_not_a_crash(app_url, page):
    open_page(page, f"{app_url}/zones-blanches?km=%C2%B2")
    body = page.inner_text("body")
    assert "La distance « ² » n'est pas un nombre entier." in body
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "km=10" in page.url


def test_normandie_link_never_shows_another_region(app_url, page):
    """parent=28 shows Normandie, or says that the snapshot does not cover it and offers
    what it covers (labelled); never another région's figures under Normandie's link."""
    open_page(page, f"{app_url}/comparer?vue=departements&parent=28")
    body = page.inner_text("body")
    selected = view_state(page)["select:Région de référence"]
    if not selected.startswith("Normandie (28)"):
        assert "ne couvre pas Normandie (région 28)" in body
        assert "couverture partielle" in body  # what is offered is labelled as such
    open_page(page, f"{app_url}/mon-territoire?niveau=region&code=28")
    body = page.inner_text("body")
    headers = [h.inner_text() for h in page.locator("h2").all()]
    if headers:
        assert headers[0] == "Normandie (région, 28)"
    else:
        assert "ne couvre pas Normandie (région 28)" in body
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "normandie.png"), full_page=True)


GRID_JS = """(i) => { const g = document.querySelectorAll('[data-testid=stDataFrame]')[i];
  return [...g.querySelectorAll('tr')].map(r => [...r.querySelectorAll('td,th')]
    .map(c => c.innerText)); }"""


def _column(tab, index: int, name: str) -> list[float]:
    rows = tab.evaluate(GRID_JS, index)
    headers = [h.strip("↑↓ ") for h in rows[0]]  # a sorted column shows an arrow
    col = headers.index(name)
    return [float(r[col]) for r in rows[1:] if len(r) > col and r[col] not in ("", "–")]


def test_table_sorts_numbers_as_numbers(app_url, page):
    """Clicking a column header sorts it; twice, descending: 261 178, 43 372, 29 432... and
    not the text order "43372", "29432", "261178"... (numbers written as text)."""
    open_page(page, f"{app_url}/comparer?vue=epci&parent=21&indicateur=structures_per_10k"
                    "&classification=quantiles&classes=5")
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    name = "Population"
    before = _column(page, 0, name)
    assert before != sorted(before, reverse=True)
    for x in range(int(box["x"]) + 20, int(box["x"] + box["width"]) - 10, 40):
        page.mouse.click(x, box["y"] + 17)
        page.wait_for_timeout(300)
        values = _column(page, 0, name)
        if values != before and values == sorted(values):
            break
    else:
        raise AssertionError(f"no header click sorted the column {name!r}")
    page.mouse.click(x, box["y"] + 17)  # second click: descending
    page.wait_for_timeout(500)
    values = _column(page, 0, name)
    assert values == sorted(values, reverse=True) and len(values) >= 5
    text_order = sorted((str(int(v)) for v in values), reverse=True)
    assert [str(int(v)) for v in values] != text_order or len(set(map(len, text_order))) == 1
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    grid.screenshot(path=str(SCREENSHOTS / "tri-numerique.png"))
