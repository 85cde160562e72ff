"""Lists of ESS actors with addresses, as CRESS and regional networks send them.

Files are CSV (``;`` or ``,``, sniffed; UTF-8 with or without BOM, else Windows-1252) or XLSX,
with French headers that vary from one network to the next.  Columns are mapped explicitly:
default synonyms (accent- and case-insensitive, :data:`SYNONYMS`) or a small YAML mapping file
(``docs/actors_mapping_example.yaml``).  Addresses are geocoded with the BAN
(:mod:`etl.geocode`).

Location rule, row by row:

1. address geocoded, ``result_score >= 0.8``, below commune level and a citycode consistent
   with the given commune code, else postcode (département prefix rule, see
   :func:`etl.geocode.accept_results`) -> BAN point, ``location_precision = "ban_adresse"``;
2. else, when the commune is known -> coordinates left empty, ``location_precision =
   "centroide_commune"`` (the assignment step puts the centroid).  The commune is known from,
   in order: the file's commune code; the commune name within the postcode's département
   (``communes`` table, unique match); a BAN ``municipality`` hit with a good score and a
   consistent citycode;
3. else the row is rejected (``commune_inconnue``) with the geocoding reason.

Rows: SIRET optional, validated when present (14 digits; a failed Luhn check only warns,
La Poste's SIRETs do not follow it), a duplicated SIRET rejects the later row, a row without a
name is rejected.  Blank lines are not rows.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from etl.normalise import map_values
from observatory.errors import DataValidationError, explain
from observatory.schema import SourceResult
from observatory.text import fold_accents

__all__ = [
    "FIELDS",
    "REQUIRED_FIELDS",
    "SOURCE",
    "SYNONYMS",
    "TableInfo",
    "family_from_text",
    "load_actors",
    "load_mapping",
    "normalise_header",
    "read_table",
    "resolve_columns",
    "siret_luhn_ok",
]

log = logging.getLogger(__name__)

SOURCE = "liste_acteurs"
#: Fields we understand, in the order of the mapping file.
FIELDS = ("nom", "siret", "enseigne", "sigle", "adresse", "complement_adresse", "code_postal",
          "commune", "code_commune", "famille", "categorie_juridique", "naf")
REQUIRED_FIELDS = ("nom",)
#: Default header synonyms (compared after :func:`normalise_header`).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "nom": ("raison sociale", "nom", "denomination", "denomination sociale", "nom structure",
            "nom de la structure", "structure", "organisme", "nom de l organisme",
            "nom ou raison sociale", "nom ou raison sociale de l entreprise", "entreprise",
            "nom de l entreprise", "acteur", "nom acteur"),
    "siret": ("siret", "n siret", "no siret", "numero siret", "num siret", "code siret",
              "siret etablissement"),
    "enseigne": ("enseigne", "nom commercial"),
    "sigle": ("sigle", "acronyme"),
    "adresse": ("adresse", "adresse postale", "adresse complete", "adresse 1", "adresse1",
                "adresse ligne 1", "rue", "voie", "numero et voie"),
    "complement_adresse": ("complement d adresse", "complement adresse", "adresse 2",
                           "adresse2", "adresse ligne 2", "complement"),
    "code_postal": ("cp", "code postal", "codepostal", "code postal de l etablissement"),
    "commune": ("commune", "ville", "localite", "libelle commune", "nom commune",
                "nom de la commune", "libelle de la commune de l etablissement"),
    "code_commune": ("code commune", "code insee", "insee", "code insee commune", "cog",
                     "code commune insee", "commune insee", "depcom"),
    "famille": ("famille", "statut", "statut juridique", "famille ess", "famille juridique",
                "famille juridique de l entreprise", "type de structure", "type structure"),
    "categorie_juridique": ("categorie juridique", "code categorie juridique",
                            "nature juridique", "code forme juridique", "forme juridique"),
    "naf": ("naf", "code naf", "ape", "code ape", "naf ape", "activite principale"),
}
_LOCATION_FIELDS = ("adresse", "code_postal", "commune", "code_commune")
_COMMUNE_CODE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")
_FAMILY_KEYWORDS = (  # order matters: "mutuelle" before "cooperative" (coopérative mutualiste)
    ("fondation", "fondation"), ("fonds de dotation", "fondation"),
    ("mutuel", "mutuelle"), ("mutualit", "mutuelle"),
    ("cooperat", "cooperative"), ("scop", "cooperative"), ("scic", "cooperative"),
    ("cuma", "cooperative"), ("coop", "cooperative"),
    ("association", "association"), ("asso", "association"),
    ("societe commerciale", "societe_commerciale_ess"), ("esus", "societe_commerciale_ess"),
    ("entreprise commerciale", "societe_commerciale_ess"),
)


# --------------------------------------------------------------------------- file reading
@dataclass(frozen=True)
class TableInfo:
    """How a file was read: ``format`` (csv/xlsx), ``encoding``, ``separator``, ``sha256``."""

    format: str
    encoding: str | None
    separator: str | None
    sha256: str


def normalise_header(text: object) -> str:
    """Lower-case, accent-free, punctuation-free header ("N° SIRET" -> "n siret")."""
    value = fold_accents(text)
    value = value.replace("°", " ").replace("º", " ")
    return re.sub(r"[^a-z0-9]+", " ", value).strip()


def _decode(raw: bytes, encoding: str | None) -> tuple[str, str]:
    if encoding:
        return raw.decode(encoding), encoding
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw.decode("utf-8-sig"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:  # the 5 bytes cp1252 leaves undefined
        return raw.decode("latin-1"), "latin-1"


def _sniff_separator(text: str) -> str:
    sample = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(sample, delimiters=";,\t|").delimiter
    except csv.Error:
        header = text.splitlines()[0] if text else ""
        counts = {sep: header.count(sep) for sep in (";", ",", "\t", "|")}
        return max(counts, key=counts.get)


def read_table(path: str | Path, *, separator: str | None = None, encoding: str | None = None,
               sheet: str | int | None = None) -> tuple[pd.DataFrame, TableInfo]:
    """Read a CSV or XLSX file as text columns, with the file's own headers.

    Parameters
    ----------
    path
        ``.csv``/``.txt`` (separator sniffed among ``;``, ``,``, tab, ``|``; encoding tried as
        UTF-8 (BOM or not), then Windows-1252) or ``.xlsx``/``.xlsm``.
    separator, encoding, sheet
        Force the separator, the encoding or the spreadsheet sheet (default: the first).

    Returns
    -------
    frame : DataFrame
        All columns as ``string`` (NA for empty cells), blank lines dropped, plus ``_ligne``
        (Int64): the line number in the file (header = line 1).
    info : TableInfo
        Format, detected encoding and separator, sha256 of the file.

    Raises
    ------
    DataValidationError
        Empty file, no data row, or unreadable content.
    """
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(explain(
            f"The actors file {str(path)!r} does not exist.", "Nothing to read.",
            "Check the path given to --actors-file."))
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if not raw.strip(b" \t\r\n\xef\xbb\xbf"):
        raise DataValidationError(explain(
            f"The file {path.name!r} is empty.", "It has no header and no row.",
            "Export the list again (CSV with a header line, or XLSX)."))
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            frame = pd.read_excel(io.BytesIO(raw), sheet_name=sheet if sheet is not None else 0,
                                  dtype=str, engine="openpyxl")
        except (ValueError, KeyError, OSError) as exc:
            raise DataValidationError(explain(
                f"The spreadsheet {path.name!r} cannot be read: {exc}.",
                "The file is not a valid XLSX workbook or the sheet does not exist.",
                "Open it in a spreadsheet program and save it again as .xlsx, or as CSV.")) from exc
        lines = pd.Series(np.arange(len(frame)) + 2, index=frame.index)
        info = TableInfo("xlsx", None, None, digest)
    else:
        text, used = _decode(raw, encoding)
        sep = separator or _sniff_separator(text)
        try:
            frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                                skip_blank_lines=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise DataValidationError(explain(
                f"The CSV file {path.name!r} cannot be parsed ({used}, separator {sep!r}): {exc}.",
                "A row has more fields than the header, or quotes are unbalanced.",
                "Fix the row named above, or give the separator/encoding in the mapping file.",
            )) from exc
        lines = pd.Series(np.arange(len(frame)) + 2, index=frame.index)
        info = TableInfo("csv", used, sep, digest)
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = frame.astype("string")
    for column in frame.columns:
        frame[column] = frame[column].str.strip().replace("", pd.NA)
    blank = frame.isna().all(axis=1)
    frame = frame.loc[~blank].copy()
    frame["_ligne"] = lines.loc[~blank].astype("Int64")
    if frame.empty:
        raise DataValidationError(explain(
            f"The file {path.name!r} has a header but no data row.",
            f"Header: {[c for c in frame.columns if c != '_ligne']}.",
            "Export the list again with its rows."))
    return frame.reset_index(drop=True), info


# --------------------------------------------------------------------------- mapping
def load_mapping(mapping: str | Path | dict | None) -> dict[str, Any]:
    """Read a mapping (YAML file or dict) into ``{"colonnes": {field: [headers]}, "options"}``.

    The YAML has a ``colonnes`` block (field -> header, or list of headers joined with a
    space) and an optional ``options`` block (``separateur``, ``encodage``, ``feuille``).
    See ``docs/actors_mapping_example.yaml``.
    """
    if mapping is None:
        return {"colonnes": {}, "options": {}}
    if isinstance(mapping, (str, Path)):
        import yaml

        try:
            mapping = yaml.safe_load(Path(mapping).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise DataValidationError(explain(
                f"The mapping file {str(mapping)!r} cannot be read: {exc}.",
                "It must be a YAML file with a 'colonnes' block.",
                "Start from docs/actors_mapping_example.yaml.")) from exc
    if not isinstance(mapping, dict):
        raise DataValidationError(explain("The column mapping is not a dictionary.",
                                          "It must map field names to the file's headers.",
                                          "Start from docs/actors_mapping_example.yaml."))
    columns = mapping.get("colonnes", {k: v for k, v in mapping.items() if k in FIELDS}) or {}
    unknown = [k for k in columns if k not in FIELDS]
    if unknown:
        raise DataValidationError(explain(
            f"The mapping names unknown fields {unknown}.",
            f"Known fields: {list(FIELDS)}.", "Rename them in the 'colonnes' block."))
    columns = {k: ([v] if isinstance(v, str) else list(v)) for k, v in columns.items() if v}
    return {"colonnes": columns, "options": dict(mapping.get("options") or {})}


def resolve_columns(headers: list[str], mapping: dict[str, Any] | None = None
                    ) -> dict[str, list[str]]:
    """Field -> the file's column(s), from the explicit mapping then the default synonyms.

    Raises
    ------
    DataValidationError
        A mapped header is absent, a required field is unmatched, or no location column
        exists; the message lists the file's headers and the mapping to write.
    """
    explicit = (mapping or {}).get("colonnes", {})
    by_norm = {normalise_header(h): h for h in reversed(headers)}
    resolved: dict[str, list[str]] = {}
    absent = []
    for field_name, wanted in explicit.items():
        found = [by_norm.get(normalise_header(w)) for w in wanted]
        absent += [w for w, f in zip(wanted, found, strict=True) if f is None]
        resolved[field_name] = [f for f in found if f is not None]
    taken = {c for cols in resolved.values() for c in cols}
    for field_name in FIELDS:
        if field_name in resolved:
            continue
        for synonym in SYNONYMS[field_name]:
            header = by_norm.get(synonym)
            if header is not None and header not in taken:
                resolved[field_name] = [header]
                taken.add(header)
                break
    missing = [f for f in REQUIRED_FIELDS if not resolved.get(f)]
    no_location = not any(resolved.get(f) for f in _LOCATION_FIELDS)
    if absent or missing or no_location:
        problems = []
        if absent:
            problems.append(f"mapped headers not in the file: {absent}")
        if missing:
            problems.append(f"required fields without a column: {missing}")
        if no_location:
            problems.append(f"no location column (one of {list(_LOCATION_FIELDS)})")
        example = "\n".join(f"  {f}: \"<en-tête du fichier>\"" for f in
                            (*missing, *(["adresse", "code_postal", "commune"]
                                         if no_location else [])))
        raise DataValidationError(explain(
            f"The columns of the actors file cannot be mapped: {'; '.join(problems)}.",
            f"The file's headers are {headers}.",
            "Write a mapping file (see docs/actors_mapping_example.yaml) such as:\n"
            f"colonnes:\n{example or '  nom: ...'}\nand pass it with --actors-mapping.",
        ), offenders=missing + absent)
    return resolved


# --------------------------------------------------------------------------- row helpers
def siret_luhn_ok(siret: str) -> bool:
    """Luhn check of a 14-digit SIRET (La Poste's ``356000000`` uses its own rule)."""
    total = 0
    for i, ch in enumerate(reversed(siret)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    if siret.startswith("356000000"):  # La Poste: Luhn, or digit sum multiple of 5
        return total % 10 == 0 or sum(int(d) for d in siret) % 5 == 0
    return total % 10 == 0


def _family_of_text(text: str) -> object:
    norm = normalise_header(text)
    for keyword, family in _FAMILY_KEYWORDS:
        if re.search(rf"\b{keyword}", norm):
            return family
    return pd.NA


def family_from_text(values: pd.Series) -> pd.Series:
    """ESS family from a free-text status ("Association loi 1901", "SCOP"...), NA if unknown."""
    return map_values(values, _family_of_text)


def _digits(values: pd.Series) -> pd.Series:
    text = values.astype("string").str.replace(r"\.0$", "", regex=True)
    return text.str.replace(r"[\s.\-/]", "", regex=True).mask(lambda s: s == "")


def _join(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    if not columns:
        return pd.Series(pd.NA, index=frame.index, dtype="string")
    if len(columns) == 1:  # cells are already stripped, blanks are NA (read_table)
        return frame[columns[0]].astype("string")
    joined = frame[columns[0]].astype("string").fillna("")
    for column in columns[1:]:
        joined = joined + " " + frame[column].astype("string").fillna("")
    joined = joined.str.replace(r"\s+", " ", regex=True).str.strip()
    return joined.mask(joined == "").astype("string")


def _commune_from_name(name: pd.Series, postcode: pd.Series,
                       communes: pd.DataFrame | None) -> pd.Series:
    """Commune code from (name, postcode département) when unique in ``communes``."""
    out = pd.Series(pd.NA, index=name.index, dtype="string")
    if communes is None or "nom" not in communes or "departement" not in communes:
        return out
    from etl.geocode import departement_of_postcode, normalise_commune_name

    table = pd.DataFrame({"code": communes.index.astype(str),
                          "cle": map_values(normalise_commune_name(communes["nom"]),
                                             normalise_header),
                          "dep": communes["departement"].astype(str)})
    table = table[~table.duplicated(["cle", "dep"], keep=False)]
    key = map_values(normalise_commune_name(name), normalise_header)
    dep = departement_of_postcode(postcode)
    wanted = pd.DataFrame({"cle": key, "dep": dep}).dropna()
    corsica = wanted["dep"] == "2A|2B"
    parts = [wanted[~corsica]]
    for d in ("2A", "2B"):
        parts.append(wanted[corsica].assign(dep=d))
    wanted = pd.concat(parts).reset_index().merge(table, on=["cle", "dep"], how="inner",
                                                  validate="m:1")
    wanted = wanted.drop_duplicates("index", keep=False).set_index("index")
    out.loc[wanted.index] = wanted["code"].astype("string")
    return out


# --------------------------------------------------------------------------- loader
def load_actors(path: str | Path, mapping: str | Path | dict | None = None, geocode: bool = True,
                communes: pd.DataFrame | None = None, *, geocoder_url: str | None = None,
                min_score: float = 0.8, progress: bool = False) -> SourceResult:
    """Load a list of actors, geocode it and return it in the structures schema.

    Parameters
    ----------
    path
        CSV or XLSX file.
    mapping
        YAML mapping file or dict (``colonnes`` / ``options``); default synonyms otherwise.
    geocode
        Geocode addresses with the BAN (off: every row is placed at its commune centroid).
    communes
        Reference communes (index ``code``, columns ``nom``, ``departement``) used to find a
        commune code from its name and to check given codes; optional.
    geocoder_url
        Geocoder root (default: catalog source ``ban_geocoder``).
    min_score
        Minimum BAN score accepted at address level.

    Returns
    -------
    SourceResult
        ``source="liste_acteurs"``; every data row is kept or rejected with its reason.
    """
    from etl.families import families_of, legal_form_labels, naf_sections
    from etl.geocode import (
        accept_results,
        geocode_addresses,
        is_cedex,
        normalise_address,
        normalise_commune_name,
    )
    from etl.normalise import conform_structures, make_rejects

    path = Path(path)
    spec = load_mapping(mapping)
    options = spec["options"]
    raw, info = read_table(path, separator=options.get("separateur"),
                           encoding=options.get("encodage"), sheet=options.get("feuille"))
    log.info("%s read as %s (encoding %s, separator %r): %d rows", path.name, info.format,
             info.encoding, info.separator, len(raw))
    headers = [c for c in raw.columns if c != "_ligne"]
    cols = resolve_columns(headers, spec)
    data = {f: _join(raw, cols.get(f, [])) for f in FIELDS}
    rows = pd.DataFrame(data, index=raw.index)
    rows["adresse"] = _join(rows, ["adresse", "complement_adresse"])
    originals = raw[headers]
    reason = pd.Series(pd.NA, index=raw.index, dtype="string")

    siret = _digits(rows["siret"])
    bad = siret.notna() & ~siret.str.fullmatch(r"\d{14}").fillna(False)
    reason = reason.mask(
        bad, "siret_invalide: " + rows["siret"].fillna("") + " (14 chiffres attendus)")
    luhn = siret.notna() & ~bad
    failing = [s for s in siret[luhn] if not siret_luhn_ok(s)]
    if failing:
        log.warning("%d SIRET fail the Luhn check (kept): %s", len(failing), failing[:10])
    first_line = raw["_ligne"].groupby(siret.where(~bad)).transform("first")
    dup = siret.notna() & ~bad & siret.duplicated(keep="first")
    reason = reason.mask(reason.isna() & dup, "siret_duplique: deja ligne " +
                         first_line.astype("string").fillna(""))
    reason = reason.mask(reason.isna() & rows["nom"].isna(), "nom_manquant")

    postcode = _digits(rows["code_postal"])
    four = postcode.str.fullmatch(r"\d{4}").fillna(False)
    postcode = postcode.where(~four, postcode.str.zfill(5))
    postcode = postcode.where(postcode.str.fullmatch(r"\d{5}").fillna(False))
    code = rows["code_commune"].astype("string").str.upper().str.replace(r"\.0$", "", regex=True)
    code = code.where(~code.str.fullmatch(r"\d{4}").fillna(False), code.str.zfill(5))
    code = code.where(code.str.match(_COMMUNE_CODE).fillna(False))
    if communes is not None and len(communes):
        known = code.isin(pd.Index(communes.index.astype(str))) | code.isna()
        if (~known).any():
            log.warning("%d commune codes are not current COG codes (mapped at assignment)",
                        int((~known).sum()))
    commune_code = code.fillna(_commune_from_name(rows["commune"], postcode, communes))

    lon = pd.Series(np.nan, index=raw.index)
    lat = pd.Series(np.nan, index=raw.index)
    precision = pd.Series(pd.NA, index=raw.index, dtype="string")
    geo_reason = pd.Series("adresse_absente", index=raw.index, dtype="string")
    todo = reason.isna() & rows["adresse"].notna()
    if geocode and todo.any():
        # CEDEX postcodes are mail routing codes, not places: neither query text nor filter
        cedex = is_cedex(rows["commune"]) | is_cedex(rows["adresse"])
        query = pd.DataFrame({"adresse": normalise_address(rows["adresse"]),
                              "code_postal": postcode.mask(cedex),
                              "commune": normalise_commune_name(rows["commune"])})[todo]
        query_cols = ["adresse"] + [c for c in ("code_postal", "commune")
                                    if query[c].notna().any()]
        answer = geocode_addresses(
            query, query_cols, postcode="code_postal" if "code_postal" in query_cols else None,
            base_url=geocoder_url, progress=progress)
        verdict = accept_results(answer, expected_citycode=code[todo],
                                 expected_postcode=postcode[todo], min_score=min_score)
        ok = verdict["accepted"]
        idx = ok[ok].index
        lon.loc[idx] = answer.loc[idx, "longitude"]
        lat.loc[idx] = answer.loc[idx, "latitude"]
        precision.loc[idx] = "ban_adresse"
        commune_code.loc[idx] = commune_code.loc[idx].fillna(answer.loc[idx, "result_citycode"])
        geo_reason.loc[verdict.index] = verdict["raison"].fillna("")
        municipal = (verdict["raison"] == "niveau_commune").fillna(False) & verdict[
            "commune_coherente"]
        mun_idx = municipal[municipal].index
        commune_code.loc[mun_idx] = commune_code.loc[mun_idx].fillna(
            answer.loc[mun_idx, "result_citycode"])
    elif not geocode:
        geo_reason.loc[todo] = "geocodage_desactive"
    fallback = reason.isna() & precision.isna() & commune_code.notna()
    precision.loc[fallback] = "centroide_commune"
    lost = reason.isna() & precision.isna()
    reason = reason.mask(lost, "commune_inconnue: " + geo_reason.fillna("") +
                         "; ni code commune valide ni commune retrouvee")

    kept = reason.isna()
    vintage = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).date().isoformat()
    out = rows[kept].copy()
    out["siret"] = siret[kept]
    out["siren"] = siret[kept].str.slice(0, 9)
    out["nic"] = siret[kept].str.slice(9, 14)
    out["code_postal"] = postcode[kept]
    out["commune_declaree"] = commune_code[kept]
    out["longitude"], out["latitude"] = lon[kept], lat[kept]
    out["location_precision"] = precision[kept]
    cj = _digits(out["categorie_juridique"]).str.zfill(4).where(
        lambda s: s.str.fullmatch(r"\d{4}").fillna(False))
    out["categorie_juridique"] = cj
    out["categorie_juridique_libelle"] = legal_form_labels(cj)
    family = family_from_text(out["famille"]).fillna(families_of(cj).where(cj.notna()))
    out["famille_ess"] = family.fillna("autre")
    esus = out["famille"].str.contains(r"\bESUS\b", case=False, regex=True)
    out["esus"] = esus.where(esus.fillna(False)).astype("boolean")  # True when said, else NA
    naf = out["naf"].str.upper().str.replace(r"^(\d\d)\.?(\d\d[A-Z])$", r"\1.\2", regex=True)
    out["naf"] = naf.where(naf.str.fullmatch(r"\d\d\.\d\d[A-Z]").fillna(False))
    sections = naf_sections(out["naf"])
    out["naf_section"], out["naf_libelle"] = sections["naf_section"], sections["naf_libelle"]
    out["etat_administratif"] = "A"
    out["sources"] = SOURCE
    out["millesimes"] = json.dumps({SOURCE: vintage})
    structures = conform_structures(out)
    rejects = make_rejects(SOURCE, originals[~kept], reason[~kept],
                           ligne=raw.loc[~kept, "_ligne"], siret_column="\0")
    rejects["siret"] = siret[~kept].astype("string").to_numpy()
    notes = {"format": info.format, "encodage": info.encoding, "separateur": info.separator,
             "colonnes": cols, "geocodage": {
                 k: int(v) for k, v in geo_reason[kept].replace("", "accepte")
                 .value_counts().items()}}
    result = SourceResult(source=SOURCE, structures=structures, rejects=rejects,
                          read=len(raw), vintage=vintage, files={path.name: info.sha256},
                          notes=notes)
    result.check_accounting()
    log.info("%s: %d kept (%s), %d rejected", path.name, len(structures),
             structures["location_precision"].value_counts().to_dict(), len(rejects))
    return result
