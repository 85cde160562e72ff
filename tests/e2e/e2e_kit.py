"""Browser-test kit: demo data, a running `streamlit run app.py`, Chromium, waits."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

import pytest

from tests.streamlit_server import streamlit_server

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = REPO / "artifacts" / "screenshots"


def _on_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _has_snapshots(data_dir: Path) -> bool:
    return any((data_dir / "snapshots").glob("**/manifest.json"))  # series or legacy layout


@pytest.fixture(scope="session")
def data_env(tmp_path_factory) -> dict[str, str]:
    """Environment of the app: an existing OBSERVATOIRE_DATA_DIR with snapshots, or the demo
    built into a temporary data dir (reference: the default one)."""
    # What `python -m observatory demo` prepares too: Leaflet served by the app, fetched
    # once from the npm registry; the app then runs offline (no request leaves 127.0.0.1).
    from observatory.assets import ensure_map_assets

    ensure_map_assets()
    env = dict(os.environ)
    current = env.get("OBSERVATOIRE_DATA_DIR")
    if current and _has_snapshots(Path(current)):
        env["OBSERVATOIRE_OFFLINE"] = "1"
        return env
    from demo.job import ensure_demo
    from observatory.settings import get_settings

    reference_dir = str(get_settings().reference_dir)
    data_dir = tmp_path_factory.mktemp("observatoire_data")
    env.update(OBSERVATOIRE_DATA_DIR=str(data_dir), OBSERVATOIRE_REFERENCE_DIR=reference_dir)
    saved = {k: os.environ.get(k) for k in ("OBSERVATOIRE_DATA_DIR",
                                            "OBSERVATOIRE_REFERENCE_DIR")}
    os.environ.update(OBSERVATOIRE_DATA_DIR=str(data_dir),
                      OBSERVATOIRE_REFERENCE_DIR=reference_dir)
    try:
        ensure_demo(departement="21")
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    env["OBSERVATOIRE_OFFLINE"] = "1"
    return env


@contextlib.contextmanager
def running_app(env: dict[str, str], log_name: str = "streamlit_e2e.log"):
    """`streamlit run app.py` on 127.0.0.1 with ``env``; yields the base URL."""
    log = REPO / "artifacts"
    log.mkdir(exist_ok=True)
    with (log / log_name).open("w", encoding="utf-8") as out, \
            streamlit_server("app.py", env, out, timeout=90.0) as (base, _pid, _seconds):
        yield base


@pytest.fixture(scope="session")
def app_url(data_env):
    """Base URL of the app on the demo data (stopped at the end of the session)."""
    with running_app(data_env) as base:
        yield base


def reference_dir(env: dict[str, str]) -> Path:
    """The reference geography folder the app uses with ``env`` (see observatory.settings)."""
    if env.get("OBSERVATOIRE_REFERENCE_DIR"):
        return Path(env["OBSERVATOIRE_REFERENCE_DIR"])
    return Path(env.get("OBSERVATOIRE_DATA_DIR") or REPO / "data") / "reference"


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium driven by Playwright (skips without /usr/bin/chromium, off CI)."""
    if not CHROMIUM.exists():
        if _on_ci():
            pytest.fail("/usr/bin/chromium is missing on CI: .ci/run must install it")
        pytest.skip("/usr/bin/chromium not installed: browser test skipped")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A French browser tab, 1400 px wide."""
    context = browser.new_context(viewport={"width": 1400, "height": 2200}, locale="fr-FR",
                                  accept_downloads=True)
    tab = context.new_page()
    tab.external_requests = []  # anything not served by the app itself (CDN, tiles, fonts)
    tab.on("request", lambda r: tab.external_requests.append(r.url)
           if r.url.startswith(("http://", "https://"))
           and not r.url.startswith(("http://127.0.0.1", "http://localhost")) else None)
    yield tab
    context.close()


_BUSY_JS = """() => {
  const app = document.querySelector('[data-testid=stApp]');
  const state = app ? app.getAttribute('data-test-script-state') : 'none';
  return state === 'running' || state === 'none'
    || document.querySelectorAll('[data-testid=stSkeleton], [data-stale=true]').length > 0;
}"""


def wait_rendered(tab, timeout: float = 90.0) -> float:
    """Wait until the Streamlit script run is over: the app says it is not running, no
    skeleton, no stale element, for 1.5 s in a row (a widget change starts its rerun a
    little after the input)."""
    start = time.time()
    quiet = 0
    while time.time() - start < timeout:
        quiet = 0 if tab.evaluate(_BUSY_JS) else quiet + 1
        if quiet >= 6:
            return time.time() - start
        time.sleep(0.25)
    raise AssertionError(f"The page was still running after {timeout:.0f} s")


# --------------------------------------------------------------------------- reading a page
#: What a user sees of the view: widget values and headings (labels as keys).
VIEW_STATE_JS = """() => {
  const lab = el => { const l = el.querySelector('[data-testid=stWidgetLabel]');
                      return l ? l.innerText.trim() : ''; };
  const out = {};
  document.querySelectorAll('[data-testid=stSelectbox]').forEach(e => {
    const input = e.querySelector('input');
    out['select:' + lab(e)] = e.innerText.replace(lab(e), '').trim() || (input && input.value);
  });
  document.querySelectorAll('[data-testid=stRadio]').forEach(e => {
    const c = e.querySelector('input:checked');
    out['radio:' + lab(e)] = c ? c.closest('label').innerText.trim() : null; });
  document.querySelectorAll('[data-testid=stSlider]').forEach(e => {
    const s = e.querySelector('input[type=range]');
    out['slider:' + lab(e)] = s ? s.value : null; });
  document.querySelectorAll('[data-testid=stTextInput]').forEach(e => {
    out['text:' + lab(e)] = e.querySelector('input').value; });
  document.querySelectorAll('[data-testid=stMultiSelect]').forEach(e => {
    out['multi:' + lab(e)] = [...e.querySelectorAll('[data-baseweb=tag]')]
      .map(t => t.innerText.trim()); });
  document.querySelectorAll('[data-testid=stButtonGroup]').forEach(e => {
    out['pills:' + lab(e)] = [...e.querySelectorAll('button[aria-checked=true]')]
      .map(b => b.innerText.trim()); });
  document.querySelectorAll('[data-testid=stCheckbox]').forEach(e => {
    out['check:' + e.innerText.trim()] = e.querySelector('input').checked; });
  out.headings = [...document.querySelectorAll('h1, h2, h3, h4')].map(h => h.innerText.trim());
  return out; }"""

#: Every text node (icons, code and scripts aside) and every aria-label/title/placeholder.
SCREEN_TEXT_JS = """() => {
  const out = [];
  const skip = el => !el || el.closest('[data-testid=stIconMaterial], [data-testid=stCode],'
                                       + ' code, pre, script, style');
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let n;
  while ((n = walker.nextNode())) {
    if (!skip(n.parentElement) && n.nodeValue.trim()) { out.push(n.nodeValue.trim()); } }
  document.querySelectorAll('[aria-label],[title],[placeholder]').forEach(e => {
    for (const a of ['aria-label', 'title', 'placeholder']) {
      const v = e.getAttribute(a); if (v) { out.push(v); } } });
  return out; }"""


def view_state(tab) -> dict:
    """Widget values and headings of the page (what a copied link must reproduce)."""
    return tab.evaluate(VIEW_STATE_JS)


def screen_texts(tab) -> list[str]:
    """Texts of the page and of its same-origin frames (the maps)."""
    texts = list(tab.evaluate(SCREEN_TEXT_JS))
    for frame in tab.frames[1:]:
        try:
            texts += frame.evaluate(SCREEN_TEXT_JS)
        except Exception:  # a frame that went away while reading
            continue
    return texts


def english_on_screen(tab, words) -> list[tuple[str, str]]:
    """(English word, text it was found in) for every word of ``words`` on screen."""
    import re

    found = []
    for text in screen_texts(tab):
        for word in words:
            if re.search(r"(?<![\w-])" + re.escape(word) + r"(?![\w-])", text):
                found.append((word, text[:200]))
    return found


# --------------------------------------------------------------------------- acting
def choose(tab, label: str, option: str) -> None:
    """Pick ``option`` in the select box labelled ``label``."""
    box = tab.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    box.click()
    tab.get_by_role("option", name=option, exact=True).first.click()
    wait_rendered(tab)


def pick_radio(tab, text: str) -> None:
    """Choose the radio button whose label is ``text``."""
    tab.locator('[data-testid="stRadio"] label').filter(has_text=text).first.click()
    wait_rendered(tab)


def pick_pill(tab, text: str) -> None:
    """Toggle the pill (button of a button group) whose text is ``text``."""
    tab.locator('[data-testid="stButtonGroup"] button').filter(has_text=text).first.click()
    wait_rendered(tab)


def type_in(tab, label: str, text: str) -> None:
    """Type ``text`` in the text box labelled ``label`` and press Enter."""
    box = tab.locator('[data-testid="stTextInput"]').filter(has_text=label).first
    box.locator("input").fill(text)
    box.locator("input").press("Enter")
    wait_rendered(tab)


def nudge(tab, label: str, key: str, times: int) -> None:
    """Move the slider labelled ``label`` with the keyboard."""
    thumb = tab.locator('[data-testid="stSlider"]').filter(has_text=label).first \
        .locator('input[type="range"]')
    thumb.focus()
    for _ in range(times):
        thumb.press(key)
    wait_rendered(tab)


def open_page(tab, url: str) -> None:
    """Go to ``url`` and wait until the script run is over."""
    tab.goto(url)
    tab.wait_for_selector("h1", timeout=90_000)
    wait_rendered(tab)
