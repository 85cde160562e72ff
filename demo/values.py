"""How the demo writes values as SIRENE does: codes, names, dates, coordinates (as text).

Small vectorised helpers shared by the row builder (:mod:`demo.rows`) and the quarter
evolution (:mod:`demo.evolve`).
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from geodata.crs import LOCAL_EPSG
from observatory.text import fold_accents

__all__ = [
    "ND",
    "ascii_upper",
    "choice",
    "dates",
    "digits",
    "epsg_of",
    "fixed_width",
    "pick",
    "postcode_of",
    "project_points",
    "stamps",
    "zfill",
]

#: SIRENE's mark of a value withheld (partial diffusion) or unknown.
ND = "[ND]"
_TRANSFORMERS: dict[int, object] = {}


def ascii_upper(text: str) -> str:
    """SIRENE style of a commune name: upper case, no accents ("SAINT-APOLLINAIRE")."""
    text = fold_accents(text, lower=False).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Z0-9 \-]", " ", text.upper()).strip()


def postcode_of(code: str) -> str:
    """A fictitious but well-formed postcode for a commune (no postcode table offline)."""
    number = sum(ord(ch) for ch in code) * 37
    if code.startswith("97"):
        return code[:3] + f"{number % 90 + 10:02d}"
    return code[:2].replace("2A", "20").replace("2B", "20") + f"{number % 900 + 100:03d}"


def epsg_of(dep: str) -> int:
    """Projection of the Lambert / géolocalisé x, y of a département (geodata.crs table)."""
    return LOCAL_EPSG.get(dep, 2154)


def project_points(lon: np.ndarray, lat: np.ndarray, epsg: int) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 longitude/latitude -> x, y in ``epsg`` (transformers cached)."""
    from pyproj import Transformer

    if epsg not in _TRANSFORMERS:
        _TRANSFORMERS[epsg] = Transformer.from_crs(4326, epsg, always_xy=True)
    return _TRANSFORMERS[epsg].transform(lon, lat)


def pick(options, idx) -> pa.Array:
    """Strings ``options[idx]`` as an Arrow array (fast dictionary decode)."""
    return pa.DictionaryArray.from_arrays(
        pa.array(np.asarray(idx, dtype=np.int32)), pa.array(list(options), pa.string())
    ).dictionary_decode()


def choice(rng: np.random.Generator, weights: dict, size: int) -> np.ndarray:
    """Indexes into ``list(weights)`` drawn with the given (unnormalised) weights."""
    p = np.asarray(list(weights.values()), dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum())


def zfill(values: np.ndarray, width: int) -> pa.Array:
    """Integers as zero-padded text."""
    return pc.utf8_lpad(pa.array(np.asarray(values, dtype=np.int64)).cast(pa.string()),
                        width, "0")


def fixed_width(values: np.ndarray, decimals: int) -> pa.Array:
    """Fixed-decimal text of floats ("845623.4"), vectorised."""
    values = np.asarray(values, dtype=float)
    scaled = np.rint(np.abs(values) * 10 ** decimals).astype(np.int64)
    text = zfill(scaled, decimals + 1)
    text = pc.binary_join_element_wise(pc.utf8_slice_codeunits(text, 0, -decimals),
                                       pc.utf8_slice_codeunits(text, -decimals), ".")
    return pc.if_else(pa.array(values < 0), pc.binary_join_element_wise("-", text, ""), text)


def dates(days: np.ndarray) -> pa.Array:
    """``YYYY-MM-DD``."""
    return pa.array(np.asarray(days, dtype="datetime64[D]")).cast(pa.string())


def stamps(seconds: np.ndarray) -> pa.Array:
    """``YYYY-MM-DDTHH:MM:SS`` (cast + replace: much faster than Arrow's strftime)."""
    text = pa.array(np.asarray(seconds, dtype="datetime64[s]")).cast(pa.string())
    return pc.replace_substring(text, " ", "T")


def digits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) array of the decimal digits of each integer."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (np.asarray(values, dtype=np.int64)[:, None] // powers) % 10
