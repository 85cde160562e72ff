"""Load test of the Streamlit app: N simultaneous browser sessions on 127.0.0.1.

Starts ``streamlit run app.py`` on the data directory's snapshots (``python -m observatory
demo`` first when it has none); one session goes once through the cycle and the server is
left until idle (warm-up: the caches a fresh server fills once, not counted); then N
Playwright contexts of headless Debian Chromium open the app one after the other and all loop
for a bounded time over changes of indicator (Comparer), of page and of territory (Mon
territoire), with a pause between two actions.  What an action is and how its end is
detected: ``load_sessions.py``.

Printed for each N (targets for 10 sessions on the national default, 2 cores, in brackets):

* per action: count, p50, p95 and max render time (browser: input to map drawn) [p95 < 3 s],
  and p50/p95 server time (WebSocket: rerun sent to script finished);
  ``ouverture`` (first page of a session, frontend download included) has no target here;
* errors: exception shown on the page, action timeout, other failure             [0]
  (and tracebacks in the server log; requests that tried to leave 127.0.0.1);
* server RSS, VmRSS of the server and its children sampled every 0.5 s           [< 2 GB];
* CPU used by the server and by the browsers, machine load average.

The browsers run on the same machine as the server: on 2 shared cores the render times
include the clients' own drawing, an upper bound of what remote users would see; the server
time and the CPU split tell the two apart.

Run: ``python benchmarks/bench_load.py`` (N = 5, 10, 20, 60 s each), ``--smoke`` (1 session,
10 s, no warm-up), ``--sessions 5 10 --duration 60 --think 1``, or ``--url http://127.0.0.1:8501
--server-pid PID`` to load an app already running.  Chromium may reach 127.0.0.1 only (a dead
proxy for every other host).  Exit code 1 when a target is missed at 10 sessions.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from benchmarks.load_sessions import (  # noqa: E402 - after the path of the checkout
    INTERACTIONS,
    QUERIES,
    Options,
    Record,
    drive,
)
from tests.streamlit_server import streamlit_server  # noqa: E402

TARGETS = {"sessions": 10, "p95_s": 3.0, "errors": 0, "rss_gb": 2.0}


# --------------------------------------------------------------------------- pure parts
@dataclass(frozen=True)
class Summary:
    count: int
    errors: int
    p50: float
    p95: float
    max: float
    server_p50: float
    server_p95: float


def percentile(values: Iterable[float], q: float) -> float:
    """The ``q``-th percentile (0-100), linear between closest ranks (numpy's default);
    NaN for no value."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(records: Iterable[Record]) -> dict[str, Summary]:
    """Per action (in order of first appearance), then ``interactions`` (every action but
    ``ouverture``): actions run, errors, p50/p95/max of the render times and p50/p95 of the
    server times, of the actions without error."""
    groups: dict[str, list[Record]] = {}
    for record in records:
        groups.setdefault(record.action, []).append(record)
    groups["interactions"] = [r for name in INTERACTIONS for r in groups.get(name, [])]
    out = {}
    for name, group in groups.items():
        good = [r for r in group if r.error is None]
        times = [r.seconds for r in good if r.seconds is not None]
        server = [r.server_seconds for r in good if r.server_seconds is not None]
        out[name] = Summary(count=len(group), errors=len(group) - len(good),
                            p50=percentile(times, 50), p95=percentile(times, 95),
                            max=max(times, default=math.nan),
                            server_p50=percentile(server, 50), server_p95=percentile(server, 95))
    return out


def error_counts(records: Iterable[Record]) -> dict[str, int]:
    """Number of errors of each kind (``exception``, ``timeout``, ``other``)."""
    counts: dict[str, int] = {}
    for record in records:
        if record.error is not None:
            counts[record.error] = counts.get(record.error, 0) + 1
    return counts


def vm_rss_kb(status_text: str) -> int | None:
    """``VmRSS`` in kB from the text of ``/proc/<pid>/status`` (None when absent, as for a
    kernel thread or a zombie)."""
    for line in status_text.splitlines():
        key, _, rest = line.partition(":")
        if key == "VmRSS":
            return int(rest.split()[0])
    return None


def stat_fields(stat_text: str) -> tuple[int, int]:
    """``(parent pid, user + system CPU ticks)`` from the text of ``/proc/<pid>/stat``.
    The command name (field 2) may hold spaces and parentheses: split after the last ')'."""
    fields = stat_text[stat_text.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[11]) + int(fields[12])  # fields 4, 14 and 15 of proc(5)


# --------------------------------------------------------------------------- /proc readers
def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:  # the process ended between listing and reading
        return None


def process_tree(pid: int, proc: Path = Path("/proc")) -> list[int]:
    """``pid`` and all its descendants (one scan of ``proc``)."""
    parents: dict[int, int] = {}
    for entry in proc.iterdir():
        if entry.name.isdigit() and (text := _read(entry / "stat")) is not None:
            parents[int(entry.name)] = stat_fields(text)[0]
    tree, frontier = [pid], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        tree += frontier
    return tree


def tree_rss_bytes(pid: int, proc: Path = Path("/proc")) -> int:
    """Resident memory of ``pid`` and its descendants, in bytes."""
    total = 0
    for member in process_tree(pid, proc):
        text = _read(proc / str(member) / "status")
        total += (vm_rss_kb(text) or 0) * 1024 if text else 0
    return total


def tree_cpu_seconds(pid: int, proc: Path = Path("/proc")) -> float:
    """CPU time (user + system) used so far by ``pid`` and its living descendants."""
    ticks = 0
    for member in process_tree(pid, proc):
        if (text := _read(proc / str(member) / "stat")) is not None:
            ticks += stat_fields(text)[1]
    return ticks / os.sysconf("SC_CLK_TCK")


class RssSampler:
    """Samples the RSS of a process tree every ``every`` seconds in a thread; ``peak`` is the
    highest sample since the last ``reset``."""

    def __init__(self, pid: int, every: float = 0.5, max_samples: int = 100_000):
        self.pid, self.every, self.max_samples = pid, every, max_samples
        self.peak = self.last = tree_rss_bytes(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)

    def _loop(self) -> None:
        for _ in range(self.max_samples):
            if self._stop.wait(self.every):
                return
            self.last = tree_rss_bytes(self.pid)
            self.peak = max(self.peak, self.last)

    def reset(self) -> None:
        self.peak = self.last = tree_rss_bytes(self.pid)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# --------------------------------------------------------------------------- server
def ensure_data() -> Path:
    """The data directory the app will read; its demo is built first when it has no
    snapshot (what ``make app`` does)."""
    from observatory.settings import get_settings

    settings = get_settings()
    if not any(settings.snapshots_dir.glob("**/manifest.json")):
        print(f"no snapshot in {settings.data_dir}: python -m observatory demo", flush=True)
        subprocess.run([sys.executable, "-m", "observatory", "demo"], cwd=REPO, check=True)
    return settings.data_dir


@contextlib.contextmanager
def running_server(log_path: Path) -> Iterator[tuple[str, int, float]]:
    """``streamlit run app.py`` on 127.0.0.1 (offline); yields (base URL, pid, start seconds)
    and stops it, even on error."""
    env = dict(os.environ, OBSERVATOIRE_OFFLINE="1")
    with log_path.open("w", encoding="utf-8") as log, \
            streamlit_server("app.py", env, log) as (base, pid, seconds):
        yield base, pid, seconds


def _tracebacks(log_path: Path | None) -> int:
    if log_path is None or not log_path.exists():
        return 0
    return log_path.read_text(encoding="utf-8", errors="replace").count("Traceback")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


@dataclass
class LevelResult:
    sessions: int
    wall_s: float  # of the loop, after the ramp-up
    records: list[Record]
    external: list[str]
    rss_peak_gb: float
    rss_end_gb: float
    server_cpu: float  # percent of one core, during the loop
    client_cpu: float  # this script, Playwright and Chromium, same
    tracebacks: int
    load_before: str
    load_after: str


async def settle(pid: int, limit: float = 600.0, window: float = 2.0,
                 idle: float = 0.05) -> float:
    """Wait (at most ``limit`` seconds) until the server uses under ``idle`` of a core over
    ``window`` seconds: the app's own background warm-up (indicators of every level and
    quarter) is over.  Returns the seconds waited."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        before = tree_cpu_seconds(pid)
        await asyncio.sleep(window)
        if tree_cpu_seconds(pid) - before < idle * window:
            break
    return time.perf_counter() - started


def run_level(sessions: int, options: Options, pid: int | None, sampler: RssSampler | None,
              log_path: Path | None, warm: list[Record] | None = None) -> LevelResult:
    """One load level: ramp up, then during the loop read the CPU and RSS of the server, of
    this process tree (the browsers) and the server log."""
    marks: dict[str, float] = {}
    traces_before = _tracebacks(log_path)

    def mark(when: str) -> None:
        marks[when] = time.perf_counter()
        marks[f"{when}_all"] = tree_cpu_seconds(os.getpid())
        marks[f"{when}_server"] = tree_cpu_seconds(pid) if pid else math.nan
        if when == "start":
            marks["load"] = load_average()
            if sampler:
                sampler.reset()

    async def settled() -> None:
        marks["settle"] = await settle(pid) if pid else math.nan

    records, external = asyncio.run(drive(sessions, options, lambda: mark("start"),
                                          lambda: mark("end"), warm, settled))
    if "settle" in marks:
        print(f"server idle {marks['settle']:.0f} s after the warm-up cycle (the app's "
              "background warm-up over)")
    wall = marks["end"] - marks["start"]
    server = marks["end_server"] - marks["start_server"]
    client = marks["end_all"] - marks["start_all"] - (0 if math.isnan(server) else server)
    gb = 1024 ** 3
    return LevelResult(sessions, wall, records, external,
                       rss_peak_gb=sampler.peak / gb if sampler else math.nan,
                       rss_end_gb=sampler.last / gb if sampler else math.nan,
                       server_cpu=server / wall * 100, client_cpu=client / wall * 100,
                       tracebacks=_tracebacks(log_path) - traces_before,
                       load_before=str(marks["load"]), load_after=load_average())


# --------------------------------------------------------------------------- report
def _s(value: float) -> str:
    return "     –" if math.isnan(value) else f"{value:6.2f}"


def report(result: LevelResult) -> int:
    """Print one level's figures; return the number of targets missed (checked at
    ``TARGETS['sessions']`` sessions only)."""
    summaries = summarize(result.records)
    interactions = sum(s.count for n, s in summaries.items() if n in INTERACTIONS)
    print(f"\n== {result.sessions} session(s): {interactions} interactions in "
          f"{result.wall_s:.0f} s ({interactions / result.wall_s:.1f}/s); CPU, in % of one "
          f"core: server {result.server_cpu:.0f}, browsers {result.client_cpu:.0f}; load "
          f"average {result.load_before} -> {result.load_after}")
    print(f"{'':14s} {'':>5s} {'render (browser)':^20s} {'server':^13s}")
    print(f"{'action':14s} {'n':>5s} {'p50 s':>6s} {'p95 s':>6s} {'max s':>6s} "
          f"{'p50 s':>6s} {'p95 s':>6s} {'errors':>6s}")
    for name, s in summaries.items():
        print(f"{name:14s} {s.count:5d} {_s(s.p50)} {_s(s.p95)} {_s(s.max)} "
              f"{_s(s.server_p50)} {_s(s.server_p95)} {s.errors:6d}")
    kinds = error_counts(result.records)
    errors = sum(kinds.values())
    by_kind = f" {kinds}" if kinds else ""
    print(f"errors: {errors}{by_kind}; tracebacks in the server log: {result.tracebacks}; "
          f"requests outside 127.0.0.1: {len(result.external)}")
    for detail in sorted({r.detail for r in result.records if r.error and r.detail})[:5]:
        print(f"  e.g. {detail.splitlines()[0]}")
    print(f"server RSS (server and children): peak {result.rss_peak_gb:.2f} GB, "
          f"end {result.rss_end_gb:.2f} GB")
    actions = sum(r.action != "arret" for r in result.records) - result.sessions  # not ramp-up
    cpu_ms = result.server_cpu / 100 * result.wall_s / max(actions, 1) * 1000
    print(f"server CPU per action: {cpu_ms:.0f} ms ({actions} actions in the loop), so about "
          f"{1000 / cpu_ms if cpu_ms else math.nan:.1f} actions/s per core")
    if result.sessions != TARGETS["sessions"]:
        return 0
    p95 = max((s.p95 for n, s in summaries.items() if n in INTERACTIONS), default=math.nan)
    checks = [(f"p95 of each interaction < {TARGETS['p95_s']} s", p95, p95 < TARGETS["p95_s"]),
              ("errors = 0", errors + result.tracebacks, errors + result.tracebacks == 0),
              (f"server RSS < {TARGETS['rss_gb']} GB", result.rss_peak_gb,
               not result.rss_peak_gb >= TARGETS["rss_gb"])]
    for label, value, ok in checks:
        print(f"target {label:34s} {value:8.2f}  {'ok' if ok else 'MISSED'}")
    return sum(not ok for _, _, ok in checks)


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[5, 10, 20],
                        help="numbers of simultaneous sessions, one level each (5 10 20)")
    parser.add_argument("--duration", type=float, default=60.0,
                        help="seconds of load per level (60)")
    parser.add_argument("--think", type=float, default=1.0,
                        help="pause of a session between two actions, in seconds (1)")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds after which an action counts as a timeout error (30)")
    parser.add_argument("--queries", nargs="+", default=list(QUERIES),
                        help="commune names searched on Mon territoire (at least two)")
    parser.add_argument("--nice", type=int, default=10, choices=range(20), metavar="0-19",
                        help="niceness of Chromium: the server runs first (10)")
    parser.add_argument("--no-warm-up", action="store_true",
                        help="measure from a cold server (by default one session goes once "
                             "through the cycle first, not counted)")
    parser.add_argument("--smoke", action="store_true",
                        help="1 session for 10 s, no warm-up: checks that the bench runs")
    parser.add_argument("--url", help="load an app already running on 127.0.0.1 instead")
    parser.add_argument("--server-pid", type=int, help="with --url: its pid, for RSS and CPU")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sessions, args.duration, args.no_warm_up = [1], 10.0, True
    if len(set(args.queries)) < 2:
        parser.error("--queries needs at least two different names")
    if args.url and urlsplit(args.url).hostname != "127.0.0.1":
        parser.error("--url must be on 127.0.0.1: this load test sends no traffic elsewhere")
    if not all(1 <= n <= 100 for n in args.sessions) or not 0 < args.duration <= 3600:
        parser.error("sessions between 1 and 100, duration between 0 and 3600 s")
    return args


def _levels(args, base: str, pid: int | None, log_path: Path | None) -> int:
    options = Options(base=base, duration=args.duration, think=args.think,
                      timeout=args.timeout, queries=tuple(args.queries), nice=args.nice)
    missed = 0
    with RssSampler(pid) if pid else contextlib.nullcontext() as sampler:
        if sampler:
            print(f"server RSS before the load: {sampler.last / 1024 ** 3:.2f} GB")
        for number, sessions in enumerate(args.sessions):
            warm = [] if number == 0 and not args.no_warm_up else None
            result = run_level(sessions, options, pid, sampler, log_path, warm)
            if warm:
                print("warm-up, one session through one cycle, not counted: " + ", ".join(
                    f"{r.action} {'error' if r.error else f'{r.seconds:.1f} s'}" for r in warm))
            missed += report(result)
    return missed


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    print(f"machine: {os.cpu_count()} cores, load average {load_average()}; sessions "
          f"{args.sessions}, {args.duration:.0f} s each, think {args.think} s, Chromium at "
          f"nice {args.nice}", flush=True)
    if args.url:
        missed = _levels(args, args.url.rstrip("/"), args.server_pid, None)
    else:
        print(f"data: {ensure_data()}", flush=True)
        with tempfile.TemporaryDirectory(prefix="bench_load_") as tmp:
            log_path = Path(tmp) / "streamlit.log"
            with running_server(log_path) as (base, pid, start_s):
                print(f"server {base} (pid {pid}) up in {start_s:.1f} s", flush=True)
                missed = _levels(args, base, pid, log_path)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
