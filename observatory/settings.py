"""Settings of the observatory, read from environment variables when asked for.

Nothing is read at import time: call :func:`get_settings` (cheap) each time.

=================================  =====================================  ==========================
Environment variable               Meaning                                Default
=================================  =====================================  ==========================
``OBSERVATOIRE_DATA_DIR``          Where reference geography, snapshots,  ``<repository>/data``
                                   downloads, packages and demo files
                                   live.
``OBSERVATOIRE_CACHE_DIR``         On-disk HTTP cache.                    ``<data dir>/cache/http``
``OBSERVATOIRE_REFERENCE_DIR``     Reference geography GeoParquet cache.  ``<data dir>/reference``
``OBSERVATOIRE_OFFLINE``           ``1``/``true``: serve HTTP only from   off
                                   the cache, never touch the network.
``OBSERVATOIRE_USER_AGENT``        User agent sent with every request.    ``observatoire-ess/<v>``
``OBSERVATOIRE_TIMEOUT``           Deadline of one HTTP attempt, in       ``60``
                                   seconds: the whole answer (status,
                                   headers and body) must arrive within
                                   it once the request is sent.
``OBSERVATOIRE_CONNECT_TIMEOUT``   Connect timeout in seconds.            ``10``
``OBSERVATOIRE_MAX_RETRIES``       Retries on 429/5xx/connection errors.  ``5``
``OBSERVATOIRE_CATALOG``           Extra YAML merged over the source      none
                                   catalog (mirrors, local test
                                   servers).
=================================  =====================================  ==========================

Numbers must be finite: ``inf`` and ``nan`` are refused, and timeouts are capped at
:data:`MAX_TIMEOUT` (one day; a socket cannot wait much longer anyway).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from observatory import __version__
from observatory.errors import ConfigurationError, explain

__all__ = ["MAX_TIMEOUT", "REPO_ROOT", "Settings", "get_settings"]

REPO_ROOT = Path(__file__).resolve().parent.parent
#: Longest timeout accepted, in seconds (one day).
MAX_TIMEOUT = 86_400.0


def _flag(name: str) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value in ("", "0", "false", "no", "non"):
        return False
    if value in ("1", "true", "yes", "oui"):
        return True
    raise ConfigurationError(explain(
        f"{name}={value!r} is not a yes/no value.",
        "The switch must be a boolean.",
        f"Set {name}=1 to turn it on, or unset it.",
    ))


def _number(name: str, default: float, kind: type = float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = -1
    if not (math.isfinite(value) and value >= 0):  # rejects NaN, inf and negatives
        raise ConfigurationError(explain(
            f"{name}={raw!r} is not a valid number.",
            "It must be a finite, non-negative number (inf and nan are refused).",
            f"Set it to e.g. {default}, or unset it.",
        ))
    return value


def _timeout(name: str, default: float) -> float:
    value = _number(name, default)
    if not 0 < value <= MAX_TIMEOUT:
        raise ConfigurationError(explain(
            f"{name}={os.environ.get(name)!r} is not a valid timeout.",
            f"A timeout must be longer than zero and at most {MAX_TIMEOUT:.0f} s (one day).",
            f"Set it to e.g. {default}, or unset it.",
        ))
    return value


@dataclass(frozen=True)
class Settings:
    """Resolved settings; paths are absolute."""

    data_dir: Path
    cache_dir: Path
    offline: bool
    user_agent: str
    connect_timeout: float
    read_timeout: float
    max_retries: int
    catalog_override: Path | None
    reference_dir: Path

    @property
    def snapshots_dir(self) -> Path:
        """Quarterly snapshots of located ESS structures."""
        return self.data_dir / "snapshots"

    @property
    def downloads_dir(self) -> Path:
        """Official files fetched by ``observatory download``."""
        return self.data_dir / "downloads"

    @property
    def packages_dir(self) -> Path:
        """Registry packages (wheel, npm tarballs) fetched for the embedded default."""
        return self.data_dir / "packages"

    @property
    def demo_dir(self) -> Path:
        """Generated demonstration SIRENE files."""
        return self.data_dir / "demo"

    @property
    def static_dir(self) -> Path:
        """Files served by Streamlit static serving (``/app/static/...``): Leaflet & co."""
        return REPO_ROOT / "static"


def get_settings() -> Settings:
    """Read the settings from the environment (see the module docstring)."""
    data_dir = Path(os.environ.get("OBSERVATOIRE_DATA_DIR") or REPO_ROOT / "data").expanduser()
    cache_dir = Path(os.environ.get("OBSERVATOIRE_CACHE_DIR") or data_dir / "cache" / "http")
    catalog = os.environ.get("OBSERVATOIRE_CATALOG")
    reference_dir = Path(os.environ.get("OBSERVATOIRE_REFERENCE_DIR") or data_dir / "reference")
    return Settings(
        data_dir=data_dir.resolve(),
        cache_dir=cache_dir.expanduser().resolve(),
        offline=_flag("OBSERVATOIRE_OFFLINE"),
        user_agent=os.environ.get("OBSERVATOIRE_USER_AGENT")
        or f"observatoire-ess/{__version__} (observatoire territorial de l'ESS)",
        connect_timeout=_timeout("OBSERVATOIRE_CONNECT_TIMEOUT", 10.0),
        read_timeout=_timeout("OBSERVATOIRE_TIMEOUT", 60.0),
        max_retries=int(_number("OBSERVATOIRE_MAX_RETRIES", 5, int)),
        catalog_override=Path(catalog).expanduser().resolve() if catalog else None,
        reference_dir=reference_dir.expanduser().resolve(),
    )
