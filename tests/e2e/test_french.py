"""Everything on screen is French: each page is scanned, lists opened and filtered to no
match, a text box typed in, a table's toolbar shown, a rerun caught while it runs, for the
English strings of app_pages.french_ui.ENGLISH (Streamlit's own texts included)."""

from __future__ import annotations

import time

import pytest
from e2e_kit import SCREENSHOTS, english_on_screen, open_page, screen_texts, wait_rendered

from app_pages.french_ui import ENGLISH

pytestmark = pytest.mark.e2e

PAGES = ["comparer", "mon-territoire", "zones-blanches", "concentrations", "annuaire",
         "qualite", "methode"]


def _poke(tab) -> None:
    """Make Streamlit write its own texts: toolbar of a table, a text box's « Press
    Enter », a list filtered to no match."""
    grids = tab.locator('[data-testid="stDataFrame"]:visible')
    if grids.count():
        grids.first.scroll_into_view_if_needed()
        grids.first.hover()
        buttons = tab.locator('[data-testid="stElementToolbarButton"] button')
        if buttons.count():
            # force: the toolbar sits over the heading above the table, which Playwright's
            # actionability check takes for an element hiding it
            buttons.first.hover(force=True)
            time.sleep(1.2)  # the tooltip shows after one second
    inputs = tab.locator('[data-testid="stTextInput"] input')
    if inputs.count():
        inputs.first.click()
        inputs.first.press_sequentially("z", delay=20)
        time.sleep(0.3)


#: A list long enough to be searched by typing, per page (label of the widget).
SEARCHABLE = {"comparer": ("stSelectbox", "Indicateur"),
              "annuaire": ("stMultiSelect", "Secteur d'activité (section NAF)")}


def _filter_to_nothing(tab, path: str) -> bool:
    """Type a name that matches nothing in a searchable list; True if the page has one."""
    if path not in SEARCHABLE:
        return False
    widget, label = SEARCHABLE[path]
    box = tab.locator(f'[data-testid="{widget}"]').filter(has_text=label).first
    box.click()
    box.locator("input").first.press_sequentially("qwxz", delay=20)
    time.sleep(0.5)
    return True


def _ess_not_in_capitals(tab) -> list[str]:
    """Texts writing the ESS in lower case (« l'ess », « Ess »)."""
    import re

    return [t[:160] for t in screen_texts(tab) if re.search(r"(?<![\w-])(ess|Ess)(?![\w-])", t)]


@pytest.mark.parametrize("path", PAGES)
def test_no_english_on_screen(app_url, page, path):
    open_page(page, f"{app_url}/{path}")
    assert english_on_screen(page, ENGLISH) == []
    assert _ess_not_in_capitals(page) == []
    _poke(page)
    assert english_on_screen(page, ENGLISH) == []
    page.keyboard.press("Escape")
    wait_rendered(page)  # the text typed in a box reruns the page: let it finish first
    if _filter_to_nothing(page, path):
        body = page.inner_text("body")
        assert "Aucun résultat" in body, "the empty list says so in French"
        assert english_on_screen(page, ENGLISH) == []
        page.keyboard.press("Escape")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"francais-{path}.png"), full_page=True)


def test_no_english_while_a_page_reruns(app_url, page):
    """While a page reruns (status widget, spinners, skeletons), nothing shows in English."""
    open_page(page, f"{app_url}/zones-blanches")
    thumb = page.locator('[data-testid="stSlider"] input[type="range"]').first
    thumb.focus()
    thumb.press("ArrowLeft")
    found = []
    deadline = time.time() + 6
    while time.time() < deadline:
        found += english_on_screen(page, ENGLISH)
        time.sleep(0.1)
    wait_rendered(page)
    assert found == []


def test_unknown_address_is_french(app_url, page):
    page.goto(f"{app_url}/nulle-part")
    page.wait_for_selector("h1", timeout=90_000)
    wait_rendered(page)
    assert english_on_screen(page, ENGLISH) == []
