"""The French translation layer speaks about Streamlit's real English strings."""

import re
from pathlib import Path

import streamlit

from app_pages import french_ui

BUNDLE = Path(streamlit.__file__).parent / "static"


#: Texts the frontend composes from pieces: text -> the template in the bundle.
COMPOSED = {
    "Press Enter to apply": "Press Enter to ${e}",
    "Press Enter to submit form": "submit form",
    "Press ⌘+Enter to apply": "+Enter to ${e}",
    "Press Ctrl+Enter to apply": "+Enter to ${e}",
    "Choose an option": "Choose an option",
    "Choose options": "Choose options",
}


def _streamlit_text() -> str:
    root = Path(streamlit.__file__).parent
    files = [*BUNDLE.rglob("*.js"), *root.rglob("*.py")]
    return "\n".join(p.read_text(encoding="utf-8", errors="ignore") for p in files)


def test_every_translated_text_is_written_by_the_installed_streamlit():
    """A text that Streamlit no longer writes is dead weight; a Streamlit upgrade that
    renames one shows up here (the browser scan then finds the new English text)."""
    text = _streamlit_text()
    joined = text.replace('"\n    "', "")  # Python strings split over several lines
    missing = [k for k in french_ui.TRANSLATIONS
               if COMPOSED.get(k, k) not in text and k not in joined]
    assert missing == []


def test_patterns_are_valid_and_translate_their_examples():
    examples = {"Select 12 matches": "Sélectionner les 12 résultats",
                "View 3 more": "Voir 3 de plus",
                "You can only select up to 4 options. Remove an option first.":
                    "Vous pouvez choisir au plus 4 éléments : retirez-en un d'abord."}
    for english, french in examples.items():
        for pattern, replacement in french_ui.PATTERNS:
            if re.fullmatch(pattern, english):
                assert re.sub(pattern, replacement.replace("$", "\\"), english) == french
                break
        else:
            raise AssertionError(f"no pattern for {english!r}")


def test_no_translation_is_english():
    for english, french in french_ui.TRANSLATIONS.items():
        if english in ("Format", "Minimum", "Maximum", "Distance", "Dollar", "Euro", "Yen",
                       "Compact"):
            continue  # the same word in French
        assert french != english, english
