"""The pure parts of ``benchmarks/bench_load.py``: percentiles, the per-action summary, the
target check, the /proc readers (on made-up texts and on real processes) and the reading of
Streamlit's WebSocket messages (``benchmarks/load_sessions.py``).

Expected values are worked out by hand:

* ``percentile([1..10], 50)``: rank (10 - 1) × 0.50 = 4.5, between the 5th and 6th values
  (5 and 6): 5 + 0.5 × 1 = 5.5; ``p95``: rank 8.55, between 9 and 10: 9.55.
* ``percentile([1, 2, 3], 95)``: rank 1.9, between 2 and 3: 2.9; the same for the server
  times 0.1, 0.2, 0.3: 0.29.
* ``percentile([1, 2, 3, 4], 50)``: rank 1.5: 2.5; ``p95``: rank 2.85: 3.85.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks import bench_load as bl
from benchmarks.load_sessions import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DONE_JS,
    ERROR_SHOWN_JS,
    Options,
    Record,
    Session,
    launcher,
    message_type,
)


def test_percentile_interpolates_between_closest_ranks():
    values = list(range(10, 0, -1))  # unsorted on purpose
    assert bl.percentile(values, 50) == pytest.approx(5.5)
    assert bl.percentile(values, 95) == pytest.approx(9.55)
    assert bl.percentile(values, 0) == 1
    assert bl.percentile(values, 100) == 10
    assert bl.percentile([2.5], 95) == 2.5
    assert math.isnan(bl.percentile([], 50))


def _records() -> list[Record]:
    return [Record(0, "ouverture", 9.0, server_seconds=0.9),
            Record(0, "indicateur", 3.0, server_seconds=0.3),
            Record(0, "indicateur", 1.0, server_seconds=0.1),
            Record(1, "indicateur", None, "timeout", server_seconds=8.0),
            Record(1, "indicateur", 2.0, server_seconds=0.2),
            Record(1, "territoire", 4.0)]


def test_summary_per_action_leaves_errors_out_of_the_times():
    summary = bl.summarize(_records())
    assert list(summary) == ["ouverture", "indicateur", "territoire", "interactions"]
    # server times of the actions without error: 0.1, 0.2, 0.3 (the timeout's 8 s left out)
    assert summary["indicateur"] == bl.Summary(count=4, errors=1, p50=2.0,
                                               p95=pytest.approx(2.9), max=3.0,
                                               server_p50=0.2, server_p95=pytest.approx(0.29))
    # interactions: indicateur and territoire (1, 2, 3, 4 s and one timeout), not ouverture;
    # territoire has no server time: the same three server times
    assert summary["interactions"] == bl.Summary(count=5, errors=1, p50=2.5,
                                                 p95=pytest.approx(3.85), max=4.0,
                                                 server_p50=0.2,
                                                 server_p95=pytest.approx(0.29))
    assert summary["ouverture"].count == 1 and summary["ouverture"].p95 == 9.0
    assert bl.error_counts(_records()) == {"timeout": 1}


def _level(records, sessions=10, rss=0.5, tracebacks=0) -> bl.LevelResult:
    return bl.LevelResult(sessions=sessions, wall_s=60.0, records=records, external=[],
                          rss_peak_gb=rss, rss_end_gb=rss, server_cpu=100.0, client_cpu=50.0,
                          tracebacks=tracebacks, load_before="1 1 1", load_after="2 2 2")


def test_targets_are_checked_at_ten_sessions(capsys):
    fast = [Record(n % 10, "indicateur", 0.5 + n / 100) for n in range(100)]
    assert bl.report(_level(fast)) == 0
    assert "MISSED" not in capsys.readouterr().out
    # the 1 timeout, a p95 over 3 s (4 s on 5 of 20 records) and 2.5 GB: three misses
    slow = [Record(0, "territoire", 4.0 if n < 5 else 1.0) for n in range(20)]
    assert bl.report(_level([*slow, Record(1, "page", None, "timeout")], rss=2.5)) == 3
    assert capsys.readouterr().out.count("MISSED") == 3
    assert bl.report(_level(fast, tracebacks=1)) == 1  # a traceback in the server log
    assert bl.report(_level(slow, sessions=20)) == 0  # figures only, no target at 20


def test_vm_rss_and_stat_parsing():
    status = "Name:\tpython3\nVmPeak:\t  300000 kB\nVmHWM:\t  250000 kB\nVmRSS:\t  123456 kB\n"
    assert bl.vm_rss_kb(status) == 123456
    assert bl.vm_rss_kb("Name:\tkthreadd\nState:\tS (sleeping)\n") is None
    # pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    stat = "4242 (a b) (c)) S 17 4242 4242 0 -1 4194304 10 0 0 0 100 23 0 0 20 0 1 0"
    assert bl.stat_fields(stat) == (17, 123)
    with open("/proc/self/stat") as f:
        assert bl.stat_fields(f.read())[0] == os.getppid()


def test_tree_rss_counts_the_children():
    """A child holding 80 MB of written bytes adds at least 70 MB to this process's tree."""
    with subprocess.Popen(
            [sys.executable, "-c", "import time; b = b'x' * 80_000_000; print('ok', flush=True);"
             " time.sleep(60)"], stdout=subprocess.PIPE, text=True) as child:
        try:
            assert child.stdout.readline().strip() == "ok"
            assert child.pid in bl.process_tree(os.getpid())
            with open("/proc/self/status") as f:
                own = bl.vm_rss_kb(f.read()) * 1024
            assert bl.tree_rss_bytes(os.getpid()) - own > 70_000_000
            assert bl.tree_cpu_seconds(os.getpid()) > 0
        finally:
            child.kill()
            child.wait(timeout=10)


def test_websocket_messages_are_told_apart():
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    rerun = BackMsg()
    rerun.rerun_script.query_string = "indicateur=structures"
    finished = ForwardMsg()
    finished.script_finished = ForwardMsg.FINISHED_SUCCESSFULLY
    delta = ForwardMsg()
    delta.delta.new_element.markdown.body = "## Beaune"
    assert message_type(rerun.SerializeToString(), back=True) == "rerun_script"
    assert message_type(finished.SerializeToString(), back=False) == "script_finished"
    assert message_type(delta.SerializeToString(), back=False) == "delta"
    assert message_type(b"\xff\xff\xff", back=False) is None


def test_server_time_runs_from_the_rerun_to_the_end_of_the_script():
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    rerun, finished, delta = BackMsg(), ForwardMsg(), ForwardMsg()
    rerun.rerun_script.page_script_hash = "abc"
    finished.script_finished = ForwardMsg.FINISHED_SUCCESSFULLY
    delta.delta.new_element.markdown.body = "## Beaune"
    session = Session(None, 0, Options("http://127.0.0.1:9", 1.0, 0.0, 1.0, ("a", "b")))
    session.frame_received(finished.SerializeToString())  # no rerun asked: not a time
    assert session.server_seconds is None and session.reruns == 0
    session.frame_sent(rerun.SerializeToString())
    time.sleep(0.05)
    session.frame_received(delta.SerializeToString())  # an element, not the end
    assert session.server_seconds is None
    session.frame_received(finished.SerializeToString())
    assert 0.05 <= session.server_seconds < 5 and session.reruns == 1
    session.frame_received(finished.SerializeToString())  # a second end pairs with nothing
    assert session.server_seconds < 5 and session.reruns == 1
    session.frame_sent("text frame")  # text frames are not Streamlit messages
    assert session.reruns == 1


def _in_thread(func, *args):
    """Run ``func`` in a thread of its own: the browser tests of the same session keep
    Playwright's event loop running in the main thread, where asyncio.run and the sync API
    refuse to start."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(func, *args).result()


def test_settle_waits_while_the_server_works():
    """A sleeping process is idle at the first window; a busy one keeps it waiting until the
    limit."""
    import asyncio

    code = {"idle": "import time; time.sleep(30)", "busy": "while True: pass"}
    children = {k: subprocess.Popen([sys.executable, "-c", c]) for k, c in code.items()}
    try:
        time.sleep(0.5)  # past the interpreter's start
        assert _in_thread(asyncio.run, bl.settle(children["idle"].pid, limit=10,
                                                   window=0.2)) < 1
        assert _in_thread(asyncio.run, bl.settle(children["busy"].pid, limit=1, window=0.2,
                                                   idle=0.01)) >= 1
    finally:
        for child in children.values():
            child.kill()
            child.wait(timeout=10)


def test_options_smoke_and_loopback_only():
    smoke = bl.parse_arguments(["--smoke"])
    assert (smoke.sessions, smoke.duration, smoke.no_warm_up) == ([1], 10.0, True)
    assert bl.parse_arguments([]).sessions == [5, 10, 20]
    with pytest.raises(SystemExit):
        bl.parse_arguments(["--url", "http://example.org:8501"])
    with pytest.raises(SystemExit):
        bl.parse_arguments(["--queries", "Beaune"])


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="/usr/bin/chromium not installed")
def test_chromium_launcher_runs_chromium_niced(tmp_path):
    script = launcher(tmp_path, 7)
    assert "nice -n 7" in script.read_text()
    answer = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert answer.returncode == 0 and "Chromium" in answer.stdout


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="/usr/bin/chromium not installed")
def test_end_of_render_and_error_detection_in_a_page():
    """The page-side tests of load_sessions on hand-written pages: the end of a rerun needs
    the heading, no stale element and a drawn map; an error is Streamlit's box or the French
    message of app_pages/errors.py."""
    _in_thread(_page_checks)


def _page_checks():
    sync_api = pytest.importorskip("playwright.sync_api")
    drawn = ("<iframe srcdoc=\"<div class='leaflet-overlay-pane'><canvas></canvas></div>\">"
             "</iframe>")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        page = browser.new_page()

        def done(body: str, tag: str, text: str):
            page.set_content(body)
            page.wait_for_function("() => [...document.querySelectorAll('iframe')].every("
                                   "(f) => f.contentDocument.readyState === 'complete')")
            page.evaluate("() => { window.__inputAt = performance.now() - 1000; }")
            return page.evaluate(DONE_JS, [tag, text])

        assert done(f"<h1>Mon territoire</h1>{drawn}", "h1", "Mon territoire") >= 1000
        assert done(f"<h2>Beaune (commune, 21054)</h2>{drawn}", "h2", "Beaune") >= 1000
        assert done(f"<h3>Emplois estimés — EPCI du Nord</h3>{drawn}", "h3",
                    "Emplois estimés") >= 1000
        assert not done(f"<h1>Comparer les territoires</h1>{drawn}", "h1", "Mon territoire")
        assert not done(f"<h2>Beaune-la-Rolande (commune, 45035)</h2>{drawn}", "h2", "Beaune")
        assert not done(f"<h1>Mon territoire</h1><p data-stale='true'>x</p>{drawn}", "h1",
                        "Mon territoire")
        assert not done("<h1>Mon territoire</h1><iframe srcdoc='<p>carte</p>'></iframe>",
                        "h1", "Mon territoire")  # map not drawn yet
        page.set_content("<div data-testid='stAlert'>Une erreur est survenue et cette partie"
                         "</div>")
        assert page.evaluate(ERROR_SHOWN_JS)
        page.set_content("<div data-testid='stException'>Traceback</div>")
        assert page.evaluate(ERROR_SHOWN_JS)
        page.set_content("<div data-testid='stAlert'>Choisissez au moins deux territoires</div>")
        assert not page.evaluate(ERROR_SHOWN_JS)
        browser.close()
