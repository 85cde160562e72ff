"""French for the texts Streamlit's own interface writes in English.

First choice, a setting (used wherever Streamlit has one): ``placeholder=`` on every select
box and multiselect, ``select_all=False`` (no "Select all"), no ``max_selections`` (its
message is English: the limit is checked in Python), ``filter_mode=None`` on short lists,
``placeholder="–"`` on tables, ``client.toolbarMode = "minimal"``,
``client.showErrorDetails = "none"`` and ``client.disableDataExport = true`` (the table's own
CSV export writes English decimals; the pages offer the French exports) in
``.streamlit/config.toml``, ``show_spinner`` texts in French.

Second, for texts that have no setting in Streamlit 1.67 (verified in its frontend bundle):
the table toolbar and column menu ("Search", "Fullscreen", "Sort ascending"...), the
"No results" of a filtered list, "Press Enter to apply", "Running...", "Page not found",
the sidebar's "View more": a small script, installed once per browser page, translates them
as they appear (text nodes and ``aria-label``/``title``/``placeholder`` attributes whose
whole text matches, plus a few patterns).  ``tests/e2e/test_french.py`` scans every page,
menus opened, for the English strings of :data:`ENGLISH`.
"""

from __future__ import annotations

import json

import streamlit as st

__all__ = ["ENGLISH", "PATTERNS", "TRANSLATIONS", "install"]

#: Whole texts of Streamlit's interface -> French.
TRANSLATIONS: dict[str, str] = {
    # tables: toolbar, search, column menu, statistics, formats
    "Show/hide columns": "Afficher ou masquer des colonnes",
    "Download as CSV": "Télécharger en CSV",
    "Search": "Rechercher",
    "Type to search": "Tapez pour rechercher",
    "Next Result": "Résultat suivant",
    "Previous Result": "Résultat précédent",
    "Fullscreen": "Plein écran",
    "Close fullscreen": "Quitter le plein écran",
    "Exit fullscreen": "Quitter le plein écran",
    "Sort ascending": "Trier par ordre croissant",
    "Sort descending": "Trier par ordre décroissant",
    "Format": "Format",
    "Autosize": "Largeur automatique",
    "Pin column": "Épingler la colonne",
    "Unpin column": "Désépingler la colonne",
    "Hide column": "Masquer la colonne",
    "Copy column name": "Copier le nom de la colonne",
    "Rename": "Renommer",
    "Wrap": "Retour à la ligne",
    "Visibility": "Visibilité",
    "Statistics": "Statistiques",
    "Minimum": "Minimum",
    "Maximum": "Maximum",
    "Median": "Médiane",
    "Average": "Moyenne",
    "Standard deviation": "Écart type",
    "Sum": "Somme",
    "Distinct": "Valeurs distinctes",
    "Empty": "Vides",
    "Values": "Valeurs",
    "Range": "Étendue",
    "Based on sample": "Sur un échantillon",
    "Distribution histogram": "Histogramme de la distribution",
    "Top values frequency chart": "Valeurs les plus fréquentes",
    "True/false distribution chart": "Répartition vrai/faux",
    "Average length": "Longueur moyenne",
    "Minimum length": "Longueur minimale",
    "Maximum length": "Longueur maximale",
    "Automatic": "Automatique",
    "Localized": "Selon la langue du navigateur",
    "Plain": "Brut",
    "Percent": "Pourcentage",
    "Dollar": "Dollar",
    "Euro": "Euro",
    "Yen": "Yen",
    "Accounting": "Comptable",
    "Compact": "Compact",
    "Scientific": "Scientifique",
    "Engineering": "Ingénierie",
    "Calendar": "Calendrier",
    "Distance": "Distance",
    "Clear selection": "Effacer la sélection",
    "No data": "Aucune donnée",
    "Loading...": "Chargement…",
    # lists
    "No results": "Aucun résultat",
    "Select all": "Tout sélectionner",
    "Clear all": "Tout effacer",
    "Clear value": "Effacer",
    "Open": "Ouvrir",
    "Selected values": "Valeurs choisies",
    "Selectbox options": "Choix possibles",
    "Multiselect options": "Choix possibles",
    "Choose an option": "Choisissez",
    "Choose options": "Choisissez",
    # inputs and forms
    "Press Enter to apply": "Appuyez sur Entrée pour valider",
    "Press ⌘+Enter to apply": "Appuyez sur ⌘+Entrée pour valider",
    "Press Ctrl+Enter to apply": "Appuyez sur Ctrl+Entrée pour valider",
    "Press Enter to submit form": "Appuyez sur Entrée pour envoyer le formulaire",
    "Show password": "Afficher le mot de passe",
    "Hide password": "Masquer le mot de passe",
    "Copy to clipboard": "Copier",
    "Close": "Fermer",
    # app frame
    "Running...": "Calcul en cours…",
    "Stop": "Arrêter",
    "Rerun": "Relancer",
    "Connecting": "Connexion…",
    "Skip to main content": "Aller au contenu principal",
    "Please wait...": "Veuillez patienter…",
    "Connection error": "Erreur de connexion",
    "Page not found": "Page introuvable",
    "View less": "Voir moins",
    "Collapse sidebar": "Replier le panneau latéral",
    "Expand sidebar": "Déplier le panneau latéral",
    "Main menu": "Menu principal",
    "This app has encountered an error. The original error message is redacted to prevent "
    "data leaks. Full error details have been recorded in the logs (if you're on Streamlit "
    "Cloud, click on 'Manage app' in the lower right of your app).":
        "Une erreur est survenue sur cette page. Le détail a été enregistré dans le journal "
        "du serveur.",
}

#: Texts with a variable part: (JavaScript regular expression, French replacement).
PATTERNS: list[tuple[str, str]] = [
    (r"^Select (\d+) matches$", "Sélectionner les $1 résultats"),
    (r"^You can only select up to (\d+) options?\. Remove an option first\.$",
     "Vous pouvez choisir au plus $1 éléments : retirez-en un d'abord."),
    (r"^Remove (.+)$", "Retirer $1"),
    (r"^View (\d+) more$", "Voir $1 de plus"),
    (r"^View more$", "Voir plus"),
    (r"^(\d+) of (\d+)$", "$1 sur $2"),
    (r"^You have requested page /(.*), but no corresponding file was found in the app's "
     r"pages/ directory\. Running the app's main page\.$",
     "La page « /$1 » n'existe pas : voici la page d'accueil."),
    (r"^Add: (.*)$", "Ajouter : $1"),
]

#: English texts that must never be visible (scanned by the browser tests).
ENGLISH: tuple[str, ...] = (
    "Choose an option", "Choose options", "No results", "Select all", "matches",
    "Clear all", "Press Enter", "Running...", "Show/hide columns", "Download as CSV",
    "Fullscreen", "Sort ascending", "Sort descending", "Pin column", "Hide column",
    "Autosize", "Page not found", "View more", "View less", "Search", "Loading...",
    "No data", "You can only select", "Traceback", "Error", "Exception", "None",
    "Deploy", "True", "False", "NaN",
)

_SCRIPT = """
<script>
(function () {
  if (window.__observatoireFr) { return; }
  window.__observatoireFr = true;
  document.documentElement.lang = "fr";
  const T = %(translations)s;
  const P = %(patterns)s.map(([re, to]) => [new RegExp(re), to]);
  const ATTRS = ["aria-label", "title", "placeholder", "aria-placeholder"];
  function fr(text) {
    const t = text.trim();
    if (!t) { return null; }
    if (Object.prototype.hasOwnProperty.call(T, t)) { return text.replace(t, T[t]); }
    for (const [re, to] of P) { if (re.test(t)) { return text.replace(t, t.replace(re, to)); } }
    return null;
  }
  function fixText(node) {
    const out = fr(node.nodeValue);
    if (out !== null && out !== node.nodeValue) { node.nodeValue = out; }
  }
  function fixAttrs(el) {
    for (const a of ATTRS) {
      const v = el.getAttribute && el.getAttribute(a);
      if (v) { const out = fr(v); if (out !== null && out !== v) { el.setAttribute(a, out); } }
    }
  }
  function fixTree(root) {
    if (root.nodeType === 3) { fixText(root); return; }
    if (root.nodeType !== 1) { return; }
    fixAttrs(root);
    root.querySelectorAll("*").forEach(fixAttrs);
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    let n;
    while ((n = walker.nextNode())) { fixText(n); }
  }
  new MutationObserver((mutations) => {
    for (const m of mutations) {
      if (m.type === "characterData") { fixText(m.target); }
      else if (m.type === "attributes") { fixAttrs(m.target); }
      else { m.addedNodes.forEach(fixTree); }
    }
  }).observe(document.documentElement, {childList: true, subtree: true, characterData: true,
                                       attributes: true, attributeFilter: ATTRS});
  fixTree(document.body);
})();
</script>
"""


def install() -> None:
    """Install the translation script in the browser page (once; it survives reruns)."""
    script = _SCRIPT % {"translations": json.dumps(TRANSLATIONS, ensure_ascii=False),
                        "patterns": json.dumps(PATTERNS, ensure_ascii=False)}
    st.html(script, unsafe_allow_javascript=True)
