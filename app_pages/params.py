"""Reading permalink parameters (pure functions, no Streamlit).

A parameter comes from a URL that anyone can type or damage: every parser returns the parsed
value or raises :class:`BadParameterError` with a French sentence saying what was wrong and what
the page uses instead.  Nothing here trusts ``str.isdigit`` (``"²".isdigit()`` is True).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from render import fr

__all__ = [
    "MAX_TEXT",
    "BadParameterError",
    "decode_list",
    "encode_list",
    "parse_choice",
    "parse_flag",
    "parse_int",
    "parse_list",
    "parse_text",
    "unknown_message",
]

#: Longest free text kept from a URL (search boxes).
MAX_TEXT = 200
_INT = re.compile(r"[+-]?[0-9]+")


class BadParameterError(ValueError):
    """A URL parameter that cannot be used; the message is French and shown to users."""


def parse_int(raw: str, lo: int, hi: int, *, what: str) -> int:
    """An integer between ``lo`` and ``hi`` written with ASCII digits.

    >>> parse_int("12", 2, 30, what="la distance")
    12
    """
    text = str(raw).strip()
    if not _INT.fullmatch(text):
        raise BadParameterError(f"{what.capitalize()} « {raw} » n'est pas un nombre entier.")
    value = int(text)
    if not lo <= value <= hi:
        raise BadParameterError(f"{what.capitalize()} « {raw} » sort des valeurs possibles "
                           f"({fr.entier(lo)} à {fr.entier(hi)}).")
    return value


def parse_choice(raw: str, options: Sequence[str], *, what: str) -> str:
    """One of ``options`` (exact match, then case-insensitive)."""
    text = str(raw).strip()
    if text in options:
        return text
    folded = {str(o).lower(): o for o in options}
    if text.lower() in folded:
        return folded[text.lower()]
    raise BadParameterError(f"{what.capitalize()} « {raw} » n'existe pas ici.")


def decode_list(raw: str) -> list[str]:
    """``"a,b , c"`` -> ``["a", "b", "c"]`` (empty items dropped, order kept, no repeats)."""
    items = [part.strip() for part in str(raw).split(",")]
    return list(dict.fromkeys(item for item in items if item))


def encode_list(values: Sequence[str]) -> str:
    """The URL form of a list: items joined by commas."""
    return ",".join(str(v) for v in values)


def parse_list(raw: str, options: Sequence[str], *, what: str) -> tuple[list[str], list[str]]:
    """(known items, unknown items) of a comma-separated list; unknown items are reported by
    the caller, known ones kept."""
    known, unknown = [], []
    for item in decode_list(raw):
        try:
            known.append(parse_choice(item, options, what=what))
        except BadParameterError:
            unknown.append(item)
    return list(dict.fromkeys(known)), unknown


def parse_flag(raw: str, *, what: str) -> bool:
    """``1``/``oui``/``true`` or ``0``/``non``/``false``."""
    text = str(raw).strip().lower()
    if text in ("1", "oui", "true", "vrai"):
        return True
    if text in ("0", "non", "false", "faux"):
        return False
    raise BadParameterError(f"{what.capitalize()} « {raw} » doit valoir 1 (oui) ou 0 (non).")


def parse_text(raw: str) -> str:
    """Free text (a search), trimmed to :data:`MAX_TEXT` characters, control characters
    removed."""
    text = "".join(ch for ch in str(raw) if ch.isprintable())
    return text.strip()[:MAX_TEXT]


def unknown_message(names: Sequence[str]) -> str:
    """French notice for URL parameters a page does not know."""
    listed = ", ".join(f"« {n} »" for n in names)
    if len(names) == 1:
        return (f"Le paramètre {listed} de l'adresse n'est pas reconnu par cette page : "
                "il est ignoré.")
    return (f"Les paramètres {listed} de l'adresse ne sont pas reconnus par cette page : "
            "ils sont ignorés.")
