"""Browser sessions of the load test (``bench_load.py``): one Playwright context each.

A session opens the app, then loops over :data:`CYCLE` on two pages:

* ``indicateur``: Comparer les territoires, pick another indicator in « Indicateur »;
* ``page``: go to the other page from the sidebar (Comparer ⇄ Mon territoire);
* ``territoire``: Mon territoire, search a commune by name (Enter picks the first match).

Two times per action:

* render time, measured in the page: from the click (or Enter) to the end of the rerun, that
  is the new heading (indicator label, page title, territory name) is there, no element of the
  previous run is left (``data-stale``), and every map iframe holds its new document with
  Leaflet's shapes drawn;
* server time, from the WebSocket frames: from the ``rerun_script`` message the browser sends
  to the ``script_finished`` message the server answers (the script run, without the
  browser's drawing).

Any failure (an exception shown on the page, Streamlit's or the French message of
``app_pages/errors.py``; an action past its timeout; a missing element)
is recorded as an error and the session starts again from a fresh page.
"""

from __future__ import annotations

import asyncio
import functools
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = "/usr/bin/chromium"
# Run as root, Chromium raises its display threads to nice -8 and starves the server on a
# small machine; the launcher takes that right away (setpriv) and lowers its priority (nice),
# so that the server runs first, as it would with the browsers on the users' computers.
_LAUNCHER = """#!/bin/sh
exec {setpriv} nice -n {nice} {chromium} "$@"
"""
# Loopback bypasses a proxy in Chromium: every other host goes to a closed port and fails.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--proxy-server=http://127.0.0.1:9"]
COMPARER, MON_TERRITOIRE = "Comparer les territoires", "Mon territoire"
# Indicators with a choropleth on every level (labels of indicators/registry.py).
INDICATORS = ("Structures de l'ESS actives", "Structures pour 10 000 habitants",
              "Structures pour 100 km²", "Emplois estimés",
              "Distance moyenne à la structure la plus proche",
              "Part de la population à plus de 10 km", "Part de la population couverte")
# Communes of Côte-d'Or (the demo territory, and part of any national snapshot).
QUERIES = ("Beaune", "Montbard", "Auxonne", "Nuits-Saint-Georges", "Semur-en-Auxois",
           "Châtillon-sur-Seine", "Is-sur-Tille", "Genlis", "Chenôve", "Dijon")
CYCLE = ("indicateur", "indicateur", "page", "territoire", "territoire", "page")
INTERACTIONS = ("indicateur", "page", "territoire")
MAX_ACTIONS_PER_SESSION = 2000

# Time of the last user input (click or Enter), in the page's clock.
INPUT_HOOK_JS = """
window.__inputAt = null;
document.addEventListener('click', () => { window.__inputAt = performance.now(); }, true);
document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') window.__inputAt = performance.now(); }, true);
"""
# Before an action: forget the last input, mark the map documents of the current run.
MARK_JS = """() => { window.__inputAt = null;
    for (const f of document.querySelectorAll('iframe')) {
        f.__oldSrcdoc = f.srcdoc; if (f.contentWindow) f.contentWindow.__old = true; } }"""
# End of the rerun: milliseconds since the input, or false.  ``tag`` is h1 (page title, whole
# text), h2 (territory: "<name> (...") or h3 (Comparer subheader: "<indicator> — ...").
DONE_JS = """([tag, text]) => {
    if (window.__inputAt === null) return false;
    if (document.querySelector('[data-stale="true"]')) return false;
    const match = (h) => { const t = h.innerText.trim();
        return tag === 'h1' ? t === text : tag === 'h2' ? t.startsWith(text + ' (')
             : t.startsWith(text + ' — '); };
    if (![...document.querySelectorAll(tag)].some(match)) return false;
    const frames = [...document.querySelectorAll('iframe')].filter((f) => f.srcdoc);
    if (!frames.length) return false;
    for (const f of frames) {
        const d = f.contentDocument;
        if (!d || d.readyState !== 'complete') return false;
        if (f.contentWindow.__old && f.srcdoc !== f.__oldSrcdoc) return false;
        // a vector layer drawn: on the canvas renderer (the maps' default) or in SVG
        const pane = '.leaflet-overlay-pane ';
        if (!d.querySelector(pane + 'canvas, ' + pane + 'path')) return false;
    }
    return performance.now() - window.__inputAt; }"""
# An exception on the page: Streamlit's own box, or the French message of app_pages/errors.py.
ERROR_SHOWN_JS = """() => document.querySelector('[data-testid="stException"]') !== null
    || [...document.querySelectorAll('[data-testid="stAlert"]')].some(
        (a) => a.innerText.includes('Une erreur est survenue'))"""


@dataclass(frozen=True)
class Record:
    """One action of one session: render and server times in seconds (None when unknown),
    or the kind of error that ended it (``exception``, ``timeout``, ``other``)."""

    session: int
    action: str
    seconds: float | None
    error: str | None = None
    server_seconds: float | None = None
    detail: str = ""


@dataclass(frozen=True)
class Options:
    base: str
    duration: float
    think: float
    timeout: float
    queries: tuple[str, ...]
    nice: int = 10


@functools.cache
def _protos():
    from google.protobuf.message import DecodeError
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    return BackMsg, ForwardMsg, DecodeError


def message_type(payload: bytes, back: bool) -> str | None:
    """The ``type`` of a Streamlit WebSocket message (a BackMsg from the browser, a
    ForwardMsg from the server), None when it does not parse."""
    back_msg, forward_msg, decode_error = _protos()
    try:
        return (back_msg if back else forward_msg).FromString(payload).WhichOneof("type")
    except decode_error:
        return None


def launcher(folder: Path, nice: int) -> Path:
    """A script in ``folder`` that starts Chromium without the right to raise its priority
    (when ``setpriv`` is there) and at ``nice``."""
    setpriv = shutil.which("setpriv")
    drop = f"{setpriv} --inh-caps=-sys_nice --bounding-set=-sys_nice --" if setpriv else ""
    path = folder / "chromium"
    path.write_text(_LAUNCHER.format(setpriv=drop, nice=int(nice), chromium=CHROMIUM))
    path.chmod(0o755)
    return path


def _kind(exc: Exception) -> str:
    return "timeout" if "Timeout" in type(exc).__name__ else "other"


class Session:
    """One browser context: :meth:`open`, then :meth:`loop` until a deadline."""

    def __init__(self, context, number: int, options: Options):
        self.context, self.number, self.options = context, number, options
        self.records: list[Record] = []
        self.external: list[str] = []
        self.page = None
        self.on = COMPARER
        self.step = number  # sessions start at different points of the cycle and the lists
        self._rerun_at: float | None = None
        self.server_seconds: float | None = None
        self.reruns = 0

    # ------------------------------------------------------------------ WebSocket timing
    def _websocket(self, ws) -> None:
        ws.on("framesent", self.frame_sent)
        ws.on("framereceived", self.frame_received)

    def frame_sent(self, payload) -> None:
        if isinstance(payload, bytes) and message_type(payload, back=True) == "rerun_script":
            self._rerun_at = time.perf_counter()
            self.reruns += 1

    def frame_received(self, payload) -> None:
        # script_finished is a few bytes: leave the big deltas (maps) unparsed
        if (self._rerun_at is not None and isinstance(payload, bytes) and len(payload) < 1024
                and message_type(payload, back=False) == "script_finished"):
            self.server_seconds = time.perf_counter() - self._rerun_at
            self._rerun_at = None

    def _watch(self, request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname != "127.0.0.1":
            self.external.append(request.url)

    # ------------------------------------------------------------------ actions
    async def _measure(self, action: str, prepare) -> None:
        """``prepare()`` finds the widget and returns (input coroutine function, heading tag,
        heading text); run the input, wait for the end of the rerun, record it."""
        page = self.page
        seconds = server = error = None
        detail = ""
        try:
            do, tag, text = await prepare()
            await page.evaluate(MARK_JS)
            self.server_seconds, reruns = None, self.reruns
            await do()
            handle = await page.wait_for_function(
                DONE_JS, arg=[tag, text], polling=50, timeout=self.options.timeout * 1000)
            seconds = await handle.json_value() / 1000
            if self.reruns == reruns:  # the page already showed it: not a render, a bug
                raise RuntimeError(f"no rerun after the input ({tag} {text!r})")
            for _ in range(int(self.options.timeout / 0.02)):  # the script may end after
                if self._rerun_at is None:                     # the last drawing
                    break
                await asyncio.sleep(0.02)
            server = self.server_seconds
            if await page.evaluate(ERROR_SHOWN_JS):
                error, detail = "exception", f"exception shown after {action}"
        except Exception as exc:  # any failure is a counted error, the session goes on
            error, detail = _kind(exc), f"{action}: {type(exc).__name__}: {exc}"
        self.records.append(Record(self.number, action, seconds, error, server, detail[:300]))
        if error is not None:
            await self.open()

    async def open(self) -> None:
        """(Re)load the app on Comparer: the ``ouverture`` action (wall time of the load)."""
        if self.page is None:
            self.page = await self.context.new_page()
            self.page.on("request", self._watch)
            self.page.on("websocket", self._websocket)
        self.on = COMPARER
        started = time.perf_counter()
        error, detail = None, ""
        try:
            self.server_seconds = None
            await self.page.goto(self.options.base + "/")
            await self.page.evaluate("() => { window.__inputAt = 0; }")  # since navigation
            await self.page.wait_for_function(DONE_JS, arg=["h1", COMPARER], polling=50)
            if await self.page.evaluate(ERROR_SHOWN_JS):
                error, detail = "exception", "exception shown on the first page"
        except Exception as exc:  # any failure is a counted error, the session goes on
            error, detail = _kind(exc), f"ouverture: {type(exc).__name__}: {exc}"
        self.records.append(Record(self.number, "ouverture", time.perf_counter() - started,
                                   error, self.server_seconds, detail[:300]))

    async def _indicator(self):
        page = self.page
        box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Indicateur").first
        current = (await page.locator("h3").first.inner_text()).split(" — ")[0].strip()
        await box.click()
        offered = await page.get_by_role("option").all_inner_texts()
        choices = [label for label in INDICATORS if label in offered and label != current]
        label = choices[self.step % len(choices)]
        return page.get_by_role("option", name=label, exact=True).first.click, "h3", label

    async def _page(self):
        target = MON_TERRITOIRE if self.on == COMPARER else COMPARER
        self.on = target  # an error reopens Comparer
        link = self.page.locator('[data-testid="stSidebarNav"] a').filter(has_text=target).first
        return link.click, "h1", target

    async def _territory(self):
        query = self.options.queries[self.step % len(self.options.queries)]
        box = self.page.get_by_role("textbox", name="Rechercher une commune").first
        await box.fill(query)
        return (lambda: box.press("Enter")), "h2", query

    async def loop(self, deadline: float, max_actions: int = MAX_ACTIONS_PER_SESSION) -> None:
        """Actions of :data:`CYCLE` (with a pause between two) until ``deadline``, at most
        ``max_actions`` steps of the cycle."""
        for _ in range(max_actions):
            if time.perf_counter() >= deadline:
                return
            action = CYCLE[self.step % len(CYCLE)]
            self.step += 1
            if action == "page":
                await self._measure("page", self._page)
            elif self.on == COMPARER and action == "indicateur":
                await self._measure("indicateur", self._indicator)
            elif self.on == MON_TERRITOIRE and action == "territoire":
                await self._measure("territoire", self._territory)
            else:
                continue  # an error sent the session back to Comparer: catch up the cycle
            await asyncio.sleep(self.options.think)


async def warm_up(browser, options: Options) -> list[Record]:
    """One session through one cycle, pause-free and with 4 times the timeout: what the first
    visitors of a fresh server pay once (caches filled), kept out of the measure."""
    context = await _context(browser, options, timeout=4 * options.timeout)
    try:
        runner = Session(context, 0, options)
        await runner.open()
        runner.options = Options(options.base, 0, 0, 4 * options.timeout, options.queries)
        await runner.loop(time.perf_counter() + 10 * options.timeout, len(CYCLE))
        return runner.records
    finally:
        await context.close()


async def _context(browser, options: Options, timeout: float):
    context = await browser.new_context(viewport={"width": 1280, "height": 900},
                                        locale="fr-FR")
    context.set_default_timeout(timeout * 1000)
    await context.add_init_script(INPUT_HOOK_JS)
    return context


async def drive(sessions: int, options: Options, on_loop_start, on_loop_end,
                warm: list[Record] | None = None, settle=None) -> tuple[list[Record], list[str]]:
    """Open ``sessions`` contexts of one Chromium one after the other (ramp-up), then loop all
    for ``options.duration`` seconds; ``on_loop_start()`` and ``on_loop_end()`` are called
    around the loop.  When ``warm`` is a list, :func:`warm_up` runs first, its records go
    there, and ``await settle()`` (if given) waits for the server to be done with it.
    Returns every record and every request that tried to leave 127.0.0.1."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        with tempfile.TemporaryDirectory(prefix="bench_load_") as folder:
            browser = await playwright.chromium.launch(
                executable_path=launcher(Path(folder), options.nice), headless=True,
                args=CHROMIUM_ARGS)
        try:
            if warm is not None:
                warm.extend(await warm_up(browser, options))
                if settle is not None:
                    await settle()
            runners = [Session(await _context(browser, options, options.timeout), number,
                               options) for number in range(sessions)]

            for runner in runners:  # one after the other: users arrive, they do not all
                await runner.open()  # download the frontend in the same second
            on_loop_start()
            deadline = time.perf_counter() + options.duration
            tasks = [asyncio.ensure_future(r.loop(deadline)) for r in runners]
            _, late = await asyncio.wait(tasks, timeout=options.duration + 3 * options.timeout)
            on_loop_end()
            for runner, task in zip(runners, tasks, strict=True):
                if task in late:  # stuck past every bound: stop it, count it
                    task.cancel()
                    runner.records.append(Record(runner.number, "arret", None, "timeout",
                                                 detail="session still busy at the end"))
            await asyncio.gather(*late, return_exceptions=True)
        finally:
            await browser.close()
    return [r for s in runners for r in s.records], [u for s in runners for u in s.external]
