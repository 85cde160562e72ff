"""Benchmark of the Streamlit app driven in headless Chromium on 127.0.0.1.

Prints (targets in brackets):

* time to the first page rendered (title + choropleth drawn) after the server is up  [< 4 s]
  (with the time until the Streamlit frontend is loaded and until the page title shows)
* time to re-render after a change of indicator (Comparer)                            [< 1.5 s]
* Mon territoire: time to show another territory (search, then the choice) and the
  time until its run is over (key figures, charts, map)                             [< 1.5 s]
  and, for a département (the Nord) and the Métropole européenne de Lille            [< 2 s]
* time to switch the perimeter (ESS ↔ insertion) on Comparer                         [< 1.5 s]
* Zones blanches: time to re-render after one step of the distance slider             [< 1.5 s]
* Annuaire: time to re-render after a filter (a family) and after a search            [< 1 s]
* server RSS now and at its peak (VmRSS / VmHWM of the Streamlit process), after every
  page was visited for both series (``pages_visited``)                               [< 1.5 GB]
* HTML size of the map of a département's communes (iframe srcdoc)                    [< 2 MB]

Each interaction is measured twice: the first time a view is computed (cold: its indicator
tables, zones...), then on a view already seen by the process (warm).  The targets apply
to the warm figure.  After the first page, the bench waits until the background warm-up
(the other levels, earlier quarters, the directory's search text) is over and prints how long
it took (``warm_up_after_first_page_s``): the interactions are those of a visitor arriving
once the server is warm.

Data: the snapshots of ``OBSERVATOIRE_DATA_DIR`` when it has some, else the demo built by
``demo.job.ensure_demo`` in a temporary folder.  Run: ``python benchmarks/bench_app.py``
(``--departement 21`` picks the département of the communes map).  Exit code 1 when a
target is missed.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.streamlit_server import streamlit_server  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TARGETS = {"first_page_s": 4.0, "indicator_change_s": 1.5, "territory_change_s": 1.5,
           "perimeter_change_s": 1.5, "mon_territoire_departement_s": 2.0,
           "mon_territoire_mel_s": 2.0,
           "zones_slider_s": 1.5, "annuaire_filter_s": 1.0, "annuaire_search_s": 1.0,
           "server_rss_gb": 1.5, "communes_map_mb": 2.0}


def _data_env() -> dict[str, str]:
    env = dict(os.environ, OBSERVATOIRE_OFFLINE="1")
    current = env.get("OBSERVATOIRE_DATA_DIR")
    if current and any((Path(current) / "snapshots").glob("**/manifest.json")):
        return env
    from demo.job import ensure_demo
    from observatory.settings import get_settings

    reference = str(get_settings().reference_dir)
    data_dir = tempfile.mkdtemp(prefix="bench_app_")
    os.environ.update(OBSERVATOIRE_DATA_DIR=data_dir, OBSERVATOIRE_REFERENCE_DIR=reference)
    ensure_demo(departement="21")
    env.update(OBSERVATOIRE_DATA_DIR=data_dir, OBSERVATOIRE_REFERENCE_DIR=reference)
    return env


def _proc_memory_gb(pid: int) -> tuple[float, float]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024 / 1024
    return values.get("VmRSS", float("nan")), values.get("VmHWM", float("nan"))


def _until(predicate, timeout: float = 60.0, step: float = 0.05) -> float:
    """Seconds until ``predicate()`` is true (polling every ``step``)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if predicate():
            return time.perf_counter() - start
        time.sleep(step)
    raise TimeoutError("condition not met")


_MAP_DRAWN = """(needle) => Array.from(document.querySelectorAll('iframe')).some(f => {
    const d = f.contentDocument;
    return d && (f.srcdoc || '').includes(needle)
        && d.querySelector(".leaflet-overlay-pane canvas, .leaflet-overlay-pane path"); })"""
_SRCDOC_SIZES = "() => Array.from(document.querySelectorAll('iframe')).map(f => " \
                "new Blob([f.srcdoc || '']).size)"


def _choose(page, label: str, option: str) -> None:
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    box.click()
    page.get_by_role("option", name=option, exact=True).first.click()


_IDLE = """(needle) => {
    const app = document.querySelector('[data-testid=stApp]');
    const idle = app && app.getAttribute('data-test-script-state') !== 'running'
        && !document.querySelector('[data-testid=stSkeleton], [data-stale=true]');
    return idle && document.body.innerText.includes(needle); }"""


#: CPU seconds the server spent on the last measured interaction (user + system): on a
#: shared machine the wall-clock figures depend on the load; this one does not.
SERVER_CPU = {"last": 0.0}
_SERVER = {"pid": 0}


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed(page, action, needle: str, timeout: float = 120) -> float:
    """Seconds from ``action()`` until the page shows ``needle`` and its run is over."""
    cpu = _cpu_s(_SERVER["pid"])
    start = time.perf_counter()
    action()
    page.wait_for_timeout(50)  # let the rerun start (its state flips to "running")
    page.wait_for_function(_IDLE, arg=needle, timeout=timeout * 1000)
    SERVER_CPU["last"] = _cpu_s(_SERVER["pid"]) - cpu
    return time.perf_counter() - start


_CHANGED = """([selector, before]) => {
    const app = document.querySelector('[data-testid=stApp]');
    const idle = app && app.getAttribute('data-test-script-state') !== 'running'
        && !document.querySelector('[data-testid=stSkeleton], [data-stale=true]');
    const el = document.querySelector(selector);
    return idle && el && el.innerText !== before; }"""


def _timed_change(page, action, selector: str, timeout: float = 120) -> float:
    """Seconds from ``action()`` until the text of ``selector`` changed and the run is over."""
    before = page.inner_text(selector)
    cpu = _cpu_s(_SERVER["pid"])
    start = time.perf_counter()
    action()
    page.wait_for_function(_CHANGED, arg=[selector, before], timeout=timeout * 1000)
    SERVER_CPU["last"] = _cpu_s(_SERVER["pid"]) - cpu
    return time.perf_counter() - start


def _slider_step(page, label: str, key: str):
    thumb = page.locator('[data-testid="stSlider"]').filter(has_text=label).first \
        .locator('input[type="range"]')
    return lambda: (thumb.focus(), thumb.press(key))


def _pill(page, text: str):
    return lambda: page.locator('[data-testid="stButtonGroup"] button').filter(
        has_text=text).first.click()


def _search(page, label: str, text: str):
    box = page.locator('[data-testid="stTextInput"]').filter(has_text=label).first \
        .locator("input")
    return lambda: (box.fill(text), box.press("Enter"))


def _wait_server_idle(pid: int, timeout: float = 300.0) -> float:
    """Seconds until the server has used under 0.05 s of CPU in each of 3 seconds in a row."""
    start = time.perf_counter()
    quiet = 0
    while quiet < 3 and time.perf_counter() - start < timeout:
        before = _cpu_s(pid)
        time.sleep(1.0)
        quiet = quiet + 1 if _cpu_s(pid) - before < 0.05 else 0
    return time.perf_counter() - start


def _first_page(page, base: str, figures: dict[str, float]) -> None:
    start = time.perf_counter()
    page.goto(base + "/")
    page.wait_for_selector('[data-testid="stSidebarNav"]', timeout=120_000)
    figures["frontend_loaded_s"] = time.perf_counter() - start
    page.wait_for_selector('h1:has-text("Comparer les territoires")', timeout=120_000)
    figures["first_title_s"] = time.perf_counter() - start
    page.wait_for_function(_MAP_DRAWN, arg="legende-carte", timeout=120_000)
    figures["first_page_s"] = time.perf_counter() - start
    # the other pages are then prepared in the background (loaders.warm_up): the interactions
    # are measured on the warm server, as a visitor arriving a minute after start sees it
    figures["warm_up_after_first_page_s"] = _wait_server_idle(_SERVER["pid"])
    cpu = _cpu_s(_SERVER["pid"])
    _choose(page, "Indicateur", "Structures de l'ESS actives")
    start = time.perf_counter()
    page.wait_for_function(_MAP_DRAWN, arg="ESS actives", timeout=60_000)
    figures["indicator_change_s"] = time.perf_counter() - start
    figures["indicator_change_server_cpu_s"] = _cpu_s(_SERVER["pid"]) - cpu


_MAIN_READY = """(needle) => {
    const app = document.querySelector('[data-testid=stApp]');
    const main = document.querySelector('[data-testid=stMain]');
    const idle = app && app.getAttribute('data-test-script-state') !== 'running'
        && !document.querySelector('[data-testid=stSkeleton], [data-stale=true]');
    const drawn = Array.from(document.querySelectorAll('iframe')).some(f => {
        const d = f.contentDocument;
        return d && d.querySelector(".leaflet-overlay-pane canvas, .leaflet-overlay-pane path"); });
    return idle && drawn && main && main.innerText.includes(needle); }"""
INSERTION = "Insertion par l'activité économique et travail protégé"
ESS = "Économie sociale et solidaire"


def _perimeter(page, figures: dict[str, float]) -> None:
    """Comparer: switch the perimeter in the sidebar, first to a series never shown (cold),
    back, then again (warm); done when the page's status line names it and its map is drawn."""
    def switch(label: str):
        return lambda: page.locator('[data-testid=stSidebar] label').filter(
            has_text=label).first.click()

    for name, label in (("cold", INSERTION), ("back", ESS), ("warm", INSERTION)):
        cpu = _cpu_s(_SERVER["pid"])
        start = time.perf_counter()
        switch(label)()
        page.wait_for_timeout(50)
        page.wait_for_function(_MAIN_READY, arg=f"Périmètre : {label}", timeout=120_000)
        figures[f"perimeter_change_{name}_s"] = time.perf_counter() - start
        SERVER_CPU["last"] = _cpu_s(_SERVER["pid"]) - cpu
    figures["perimeter_change_s"] = figures["perimeter_change_warm_s"]
    figures["perimeter_change_server_cpu_s"] = SERVER_CPU["last"]
    switch(ESS)()
    page.wait_for_timeout(50)
    page.wait_for_function(_MAIN_READY, arg=f"Périmètre : {ESS}", timeout=120_000)


#: Every page of the app, by URL path, with a text its main part shows once run.
PAGES = {"comparer": "Comparer les territoires", "mon-territoire": "Chiffres clés",
         "zones-blanches": "Zones blanches", "concentrations": "Concentrations",
         "annuaire": "Annuaire des acteurs", "qualite": "Actualisation et qualité",
         "methode": "Méthode et sources"}


def _every_page(page, base: str, figures: dict[str, float]) -> None:
    """Visit every page for both series (the server's memory is read after this)."""
    visited = 0
    for serie in ("insertion", "ess"):
        for path, needle in PAGES.items():
            page.goto(f"{base}/{path}?serie={serie}")
            page.wait_for_function(_IDLE, arg=needle, timeout=120_000)
            visited += 1
    figures["pages_visited"] = visited


def _mon_territoire(page, base: str, departement: str, figures: dict[str, float]) -> None:
    page.goto(f"{base}/mon-territoire?niveau=departement&code={departement}")
    page.wait_for_function(_IDLE, arg="Chiffres clés", timeout=120_000)
    for name, (query, header) in {"cold": ("beaune", "Beaune (commune, 21054)"),
                                  "warm": ("longvic", "Longvic (commune, 21355)")}.items():
        figures[f"territory_change_{name}_s"] = _timed(
            page, _search(page, "Rechercher une commune", query), header)
    figures["territory_change_s"] = _timed(
        page, _search(page, "Rechercher une commune", "beaune"), "Beaune (commune, 21054)")
    figures["territory_change_server_cpu_s"] = SERVER_CPU["last"]
    for name, (query, header) in {"departement": ("Nord", "Nord (département, 59)"),
                                  "mel": ("Métropole européenne de Lille",
                                          "(EPCI, 200093201)")}.items():
        figures[f"mon_territoire_{name}_s"] = _timed(
            page, _search(page, "Rechercher une commune", query), header)
        figures[f"mon_territoire_{name}_server_cpu_s"] = SERVER_CPU["last"]


def _zones(page, base: str, departement: str, figures: dict[str, float]) -> None:
    page.goto(f"{base}/zones-blanches?code={departement}&km=10&type=toutes")
    page.wait_for_function(_IDLE, arg="à plus de 10 km", timeout=120_000)
    step = _slider_step(page, "Distance minimale", "ArrowLeft")
    figures["zones_slider_cold_s"] = _timed(page, step, "à plus de 9 km")
    step = _slider_step(page, "Distance minimale", "ArrowRight")
    figures["zones_slider_s"] = _timed(page, step, "à plus de 10 km")
    figures["zones_slider_server_cpu_s"] = SERVER_CPU["last"]


def _annuaire(page, base: str, departement: str, figures: dict[str, float]) -> None:
    page.goto(f"{base}/annuaire?departement={departement}")
    page.wait_for_function(_IDLE, arg="structures trouvées", timeout=120_000)
    heading = "h3"  # « 1 234 structures trouvées »
    figures["annuaire_filter_s"] = _timed_change(page, _pill(page, "Coopérative"), heading)
    figures["annuaire_filter_server_cpu_s"] = SERVER_CPU["last"]
    figures["annuaire_search_s"] = _timed_change(
        page, _search(page, "Nom, SIRET ou adresse", "paix"), heading)
    figures["annuaire_search_server_cpu_s"] = SERVER_CPU["last"]


def run(departement: str) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    env = _data_env()
    figures: dict[str, float] = {}
    with streamlit_server("app.py", env) as (base, pid, start_s):
        _SERVER["pid"] = pid
        figures["server_start_s"] = start_s
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1400}, locale="fr-FR")
            _first_page(page, base, figures)
            _perimeter(page, figures)
            for step in (_mon_territoire, _zones, _annuaire):
                step(page, base, departement, figures)
            page.goto(f"{base}/comparer?vue=communes_dep&parent={departement}"
                      "&indicateur=structures_per_10k")
            page.wait_for_function(_MAP_DRAWN, arg="legende-carte", timeout=120_000)
            sizes = page.evaluate(_SRCDOC_SIZES)
            figures["communes_map_mb"] = max(sizes) / 1e6
            _every_page(page, base, figures)
            browser.close()
        rss, peak = _proc_memory_gb(pid)
        figures["server_rss_gb"] = rss
        figures["server_peak_rss_gb"] = peak
    figures["bench_process_peak_rss_gb"] = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024)
    return figures


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--departement", default="21")
    args = parser.parse_args(argv)
    print(f"before: {_load()}")
    figures = run(args.departement)
    print(f"after:  {_load()}")
    missed = 0
    for name, value in figures.items():
        target = TARGETS.get("server_rss_gb" if name == "server_peak_rss_gb" else name)
        status = ""
        if target is not None:
            ok = value < target
            missed += not ok
            status = f"  (target < {target}: {'ok' if ok else 'MISSED'})"
        print(f"{name:28s} {value:8.3f}{status}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
