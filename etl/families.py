"""Legal form -> ESS family, legal form labels, NAF section and its label.

The ESS family ("famille ESS") of a structure comes from its INSEE *catégorie juridique*
(niveau III, 4 digits), following the statutory families of art. 1 II 1° of law 2014-856:

* **association** — 9210, 9220, 9221, 9222, 9223, 9230, 9260 and 5195 (association coopérative
  inscrite, Alsace-Moselle local law); 9224 and 9240 are associations too but marked ``check``;
* **fondation** — 9300;
* **mutuelle** — 8210, 8250, 8290 (Code de la mutualité), 6411 (mutual insurance company);
  mutual banking / guarantee bodies 5191, 5193, 5194, 6595, 6596 are marked ``medium``;
* **cooperative** — every coopérative form of the nomenclature (SNC/commandite/SARL/SA/société
  civile coopératives, SCOP, unions of cooperatives, HLM production cooperatives, CUMA,
  agricultural cooperatives; cooperative banks 5192/5196 ``medium``; SICA ``check``);
* **societe_commerciale_ess** — any other commercial company form (level I "5": SARL, SA, SAS,
  SNC, commandite, SE) that is ESS through the SIRENE flag or the ESS France list
  (art. 1 II 2° commercial companies, and SCIC/SCOP registered under the generic SAS code);
* **autre** — everything else.

A structure only reaches this function when it is already ESS (flag or list): the legal form
gives the breakdown, not the perimeter.
"""

from __future__ import annotations

import pandas as pd

from observatory.vocabulary import NAF_SECTION_LABELS, naf_section

__all__ = [
    "ASSOCIATION_CODES",
    "COOPERATIVE_CODES",
    "FONDATION_CODES",
    "MUTUELLE_CODES",
    "family_confidence",
    "family_of",
    "families_of",
    "legal_form_label",
    "legal_form_labels",
    "naf_sections",
]

# code -> confidence ("high" unless stated)
ASSOCIATION_CODES: dict[str, str] = {
    "9210": "high", "9220": "high", "9221": "high", "9222": "high", "9223": "high",
    "9230": "high", "9260": "high", "5195": "high",
    "9224": "check", "9240": "check",
}
FONDATION_CODES: dict[str, str] = {"9300": "high"}
MUTUELLE_CODES: dict[str, str] = {
    "8210": "high", "8250": "high", "8290": "high", "6411": "high",
    "5191": "medium", "5193": "medium", "5194": "medium", "6595": "medium", "6596": "medium",
}
_COOP_HIGH = (
    # SNC and commandite coopératives
    "5203", "5307", "5309",
    # SARL coopératives (construction, consommation, artisanale, maritime, transport, SCOP,
    # union, other)
    "5443", "5451", "5453", "5454", "5455", "5458", "5459", "5460",
    # SA coopératives à conseil d'administration (incl. HLM production cooperative)
    "5543", "5547", "5551", "5552", "5553", "5554", "5555", "5558", "5559", "5560",
    # SA coopératives à directoire
    "5643", "5647", "5651", "5652", "5653", "5654", "5655", "5658", "5659", "5660",
    # CUMA, agricultural cooperatives and their unions
    "6316", "6317", "6318",
    # sociétés civiles coopératives
    "6543", "6551", "6554", "6558", "6560",
)
COOPERATIVE_CODES: dict[str, str] = {
    **dict.fromkeys(_COOP_HIGH, "high"),
    "5192": "medium", "5196": "medium",  # banque populaire, caisse d'épargne coopérative
    # sociétés d'intérêt collectif agricole: cooperative in substance, not in name
    "5432": "check", "5532": "check", "5632": "check", "6532": "check",
}

_FAMILY_TABLES = (
    ("association", ASSOCIATION_CODES),
    ("fondation", FONDATION_CODES),
    ("mutuelle", MUTUELLE_CODES),
    ("cooperative", COOPERATIVE_CODES),
)
_FAMILY: dict[str, str] = {c: fam for fam, table in _FAMILY_TABLES for c in table}
_CONFIDENCE: dict[str, str] = {c: conf for _, table in _FAMILY_TABLES for c, conf in table.items()}


def _clean_code(code: object) -> str | None:
    """Return a 4-digit code string, or None ("9220.0" and 9220 both give "9220")."""
    if code is None or code is pd.NA:
        return None
    text = str(code).strip()
    if text.endswith(".0"):
        text = text[:-2]
    if not text or text.lower() in ("nan", "<na>", "[nd]"):
        return None
    return text.zfill(4) if text.isdigit() else text


def family_of(code: object) -> str:
    """ESS family of one catégorie juridique (the unit is assumed ESS).

    >>> family_of("9220"), family_of("5458"), family_of("5710"), family_of("7210")
    ('association', 'cooperative', 'societe_commerciale_ess', 'autre')
    """
    text = _clean_code(code)
    if text is None:
        return "autre"
    if text in _FAMILY:
        return _FAMILY[text]
    if text.startswith("5"):  # level I "Société commerciale"
        return "societe_commerciale_ess"
    return "autre"


def family_confidence(code: object) -> str | None:
    """``high``/``medium``/``check`` for a statutory family code, else None."""
    text = _clean_code(code)
    return _CONFIDENCE.get(text) if text else None


def families_of(codes: pd.Series) -> pd.Series:
    """Vectorised :func:`family_of` (maps the distinct codes only)."""
    from etl.normalise import map_values

    return map_values(codes, family_of).fillna("autre")


# Compact label table: the codes of the families plus the common commercial and public forms.
_LABELS_III: dict[str, str] = {
    "1000": "Entrepreneur individuel",
    "5191": "Société de caution mutuelle",
    "5192": "Société coopérative de banque populaire",
    "5193": "Caisse de crédit maritime mutuel",
    "5194": "Caisse (fédérale) de crédit mutuel",
    "5195": "Association coopérative inscrite (droit local Alsace Moselle)",
    "5196": "Caisse d'épargne et de prévoyance à forme coopérative",
    "5202": "Société en nom collectif",
    "5203": "Société en nom collectif coopérative",
    "5307": "Société en commandite simple coopérative",
    "5309": "Société en commandite par actions coopérative",
    "5443": "SARL coopérative de construction",
    "5451": "SARL coopérative de consommation",
    "5453": "SARL coopérative artisanale",
    "5454": "SARL coopérative d'intérêt maritime",
    "5455": "SARL coopérative de transport",
    "5458": "SARL coopérative de production (SCOP)",
    "5459": "SARL union de sociétés coopératives",
    "5460": "Autre SARL coopérative",
    "5485": "Société d'exercice libéral à responsabilité limitée",
    "5498": "SARL unipersonnelle",
    "5499": "Société à responsabilité limitée (sans autre indication)",
    "5543": "SA coopérative de construction à conseil d'administration",
    "5547": "SA coopérative de production de HLM à conseil d'administration",
    "5551": "SA coopérative de consommation à conseil d'administration",
    "5552": "SA coopérative de commerçants-détaillants à conseil d'administration",
    "5553": "SA coopérative artisanale à conseil d'administration",
    "5554": "SA coopérative (d'intérêt) maritime à conseil d'administration",
    "5555": "SA coopérative de transport à conseil d'administration",
    "5558": "SA coopérative de production (SCOP) à conseil d'administration",
    "5559": "SA union de sociétés coopératives à conseil d'administration",
    "5560": "Autre SA coopérative à conseil d'administration",
    "5599": "SA à conseil d'administration (s.a.i.)",
    "5643": "SA coopérative de construction à directoire",
    "5647": "Société coopérative de production de HLM anonyme à directoire",
    "5651": "SA coopérative de consommation à directoire",
    "5652": "SA coopérative de commerçants-détaillants à directoire",
    "5653": "SA coopérative artisanale à directoire",
    "5654": "SA coopérative d'intérêt maritime à directoire",
    "5655": "SA coopérative de transport à directoire",
    "5658": "SA coopérative de production (SCOP) à directoire",
    "5659": "SA union de sociétés coopératives à directoire",
    "5660": "Autre SA coopérative à directoire",
    "5699": "SA à directoire (s.a.i.)",
    "5710": "SAS, société par actions simplifiée",
    "5720": "Société par actions simplifiée à associé unique",
    "5785": "Société d'exercice libéral par action simplifiée",
    "5800": "Société européenne",
    "6220": "Groupement d'intérêt économique (GIE)",
    "6316": "Coopérative d'utilisation de matériel agricole en commun (CUMA)",
    "6317": "Société coopérative agricole",
    "6318": "Union de sociétés coopératives agricoles",
    "6411": "Société d'assurance à forme mutuelle",
    "6540": "Société civile immobilière",
    "6543": "Société civile coopérative de construction",
    "6551": "Société civile coopérative de consommation",
    "6554": "Société civile coopérative d'intérêt maritime",
    "6558": "Société civile coopérative entre médecins",
    "6560": "Autre société civile coopérative",
    "6595": "Caisse locale de crédit mutuel",
    "6596": "Caisse de crédit agricole mutuel",
    "6599": "Autre société civile",
    "8210": "Mutuelle",
    "8250": "Assurance mutuelle agricole",
    "8290": "Autre organisme mutualiste",
    "9210": "Association non déclarée",
    "9220": "Association déclarée",
    "9221": "Association déclarée d'insertion par l'économique",
    "9222": "Association intermédiaire",
    "9223": "Groupement d'employeurs",
    "9224": "Association d'avocats à responsabilité professionnelle individuelle",
    "9230": "Association déclarée, reconnue d'utilité publique",
    "9240": "Congrégation",
    "9260": "Association de droit local (Bas-Rhin, Haut-Rhin et Moselle)",
    "9300": "Fondation",
}
# Level II (2 digits): fallback when a code is not in the table above.
_LABELS_II: dict[str, str] = {
    "00": "Organisme de placement collectif en valeurs mobilières sans personnalité morale",
    "10": "Entrepreneur individuel",
    "21": "Indivision",
    "22": "Société créée de fait",
    "23": "Société en participation",
    "24": "Fiducie",
    "27": "Paroisse hors zone concordataire",
    "28": "Assujetti unique à la TVA",
    "29": "Autre groupement de droit privé non doté de la personnalité morale",
    "31": "Personne morale de droit étranger, immatriculée au RCS",
    "32": "Personne morale de droit étranger, non immatriculée au RCS",
    "41": "Établissement public ou régie à caractère industriel ou commercial",
    "51": "Société coopérative commerciale particulière",
    "52": "Société en nom collectif",
    "53": "Société en commandite",
    "54": "Société à responsabilité limitée (SARL)",
    "55": "Société anonyme à conseil d'administration",
    "56": "Société anonyme à directoire",
    "57": "Société par actions simplifiée",
    "58": "Société européenne",
    "61": "Caisse d'épargne et de prévoyance",
    "62": "Groupement d'intérêt économique",
    "63": "Société coopérative agricole",
    "64": "Société d'assurance mutuelle",
    "65": "Société civile",
    "69": "Autre personne morale de droit privé inscrite au registre du commerce et des sociétés",
    "71": "Administration de l'État",
    "72": "Collectivité territoriale",
    "73": "Établissement public administratif",
    "74": "Autre personne morale de droit public administratif",
    "81": "Organisme gérant un régime de protection sociale à adhésion obligatoire",
    "82": "Organisme mutualiste",
    "83": "Comité d'entreprise",
    "84": "Organisme professionnel",
    "85": "Organisme de retraite à adhésion non obligatoire",
    "91": "Syndicat de propriétaires",
    "92": "Association loi 1901 ou assimilé",
    "93": "Fondation",
    "99": "Autre personne morale de droit privé",
}


def legal_form_label(code: object) -> str | None:
    """Label of a catégorie juridique: level III when known, else its level II label."""
    text = _clean_code(code)
    if text is None:
        return None
    return _LABELS_III.get(text) or _LABELS_II.get(text[:2])


def legal_form_labels(codes: pd.Series) -> pd.Series:
    """Vectorised :func:`legal_form_label`."""
    from etl.normalise import map_values

    return map_values(codes, legal_form_label)


def naf_sections(naf: pd.Series) -> pd.DataFrame:
    """Vectorised: frame with ``naf_section`` and ``naf_libelle`` (the section label)."""
    from etl.normalise import map_values

    section = map_values(naf, naf_section)
    return pd.DataFrame({
        "naf_section": section,
        "naf_libelle": map_values(section, NAF_SECTION_LABELS.get),
    }, index=naf.index)
