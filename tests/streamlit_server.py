"""A Streamlit script served on 127.0.0.1 for the browser tests and the benchmarks.

One helper for tests/e2e (the app and the chart probe page), benchmarks/bench_app.py and
benchmarks/bench_load.py: a free port, ``streamlit run`` headless, a wait on
``/_stcore/health``, and a stop that never leaves the server behind.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parent.parent

__all__ = ["SERVER_ENV", "free_port", "streamlit_server", "wait_health"]

#: The environment ``make app`` gives the server (Makefile): two glibc malloc arenas shared by
#: its threads (see docs/architecture.md, « Memory »), so that the benchmarks measure the
#: server as it is run.  A value already in ``env`` wins.
SERVER_ENV = {"MALLOC_ARENA_MAX": "2"}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_health(base: str, timeout: float = 180.0) -> None:
    """Wait until Streamlit answers on /_stcore/health."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"Streamlit did not answer on {base} within {timeout:.0f} s")


@contextlib.contextmanager
def streamlit_server(script: str = "app.py", env: dict[str, str] | None = None,
                     log: IO | None = None,
                     timeout: float = 180.0) -> Iterator[tuple[str, int, float]]:
    """``streamlit run script`` on 127.0.0.1 with ``env``; yields (base URL, server pid,
    seconds until it answered) and stops it, even on error."""
    port = free_port()
    env = {**SERVER_ENV, **(env if env is not None else os.environ)}
    output = log if log is not None else subprocess.DEVNULL
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true"],
        cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT if log else output)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_health(base, timeout)
        yield base, proc.pid, time.perf_counter() - started
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
