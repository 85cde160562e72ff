"""The demo model made into rows of the three SIRENE files, one département at a time.

:func:`build_departement` draws the counts of one département (:mod:`demo.model`) and
:func:`build_rows` turns counts per commune into the three tables (official columns, all
text), in named steps:

1. :func:`_draw` - one row per establishment: commune, ESS or not, active or closed, employer,
   profile (family, legal forms, NAF codes), grouped into units (siège first);
2. :func:`_identifiers` - SIREN (8-digit serial + Luhn key, ESS units ``00``/``01``, other units
   ``02``-``09``), NIC, SIRET;
3. :func:`_legal` - legal form and NAF code of each unit, natural persons, partial diffusion;
4. :func:`_calendar` - creation, closing, period and processing dates;
5. :func:`_bands` - headcount bands of the active employer establishments;
6. :func:`_unite_legale` - the StockUniteLegale table;
7. :func:`demo.places.place_rows` - points, declared commune codes, broken coordinates, the
   bad rows;
8. :func:`_etablissement` and :func:`_geolocalisation` - the two other tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from demo.formats import as_table
from demo.model import (
    NON_ESS_PROFILES,
    PROFILES,
    DemoModel,
    allocate_bands,
    area_km2,
    draw_counts,
    expected_active_ess,
    luhn_key,
)
from demo.places import BAD_ROW_KINDS, Places, code_book, place_rows
from demo.values import (
    ND,
    ascii_upper,
    choice,
    dates,
    digits,
    fixed_width,
    pick,
    postcode_of,
    stamps,
    zfill,
)

__all__ = ["ESS_SERIAL_LIMIT", "OTHER_SERIAL_BASE", "build_departement", "build_rows",
           "by_departement", "prepare_communes"]

ESS_SERIAL_LIMIT = 2_000_000  # ESS units: 8-digit bodies 00000000-01999999
OTHER_SERIAL_BASE = 2_000_000  # other units: 02000000-09999999
OTHER_SERIAL_LIMIT = 8_000_000
ALSACE_MOSELLE = {"57", "67", "68"}
STREETS = ("DE LA REPUBLIQUE", "DES TILLEULS", "DU MOULIN", "DE LA GARE", "DE L EGLISE",
           "PRINCIPALE", "DES ECOLES", "DU STADE", "DES VIGNES", "DU LAVOIR", "DE LA MAIRIE",
           "DU CHATEAU", "DES JARDINS", "DE LA FONTAINE", "DU COMMERCE", "DE LA PAIX",
           "DES PRES", "DU PONT", "DES ACACIAS", "DU CENTRE")
STREET_TYPES = ("RUE", "RUE", "RUE", "AV", "BD", "PL", "CHE", "RTE", "IMP", "ALL", "QUA", "GR")
FIRST_NAMES = ("CAMILLE", "DOMINIQUE", "CLAUDE", "SACHA", "ALIX", "MORGAN", "LOU", "EDEN")
QUALITE_XY = {"11": 75.0, "12": 10.0, "21": 8.0, "22": 7.0}
ALL_PROFILES = PROFILES + NON_ESS_PROFILES
_NULL = pa.scalar(None, pa.string())
_CITY, _POSTCODE = "_ville_sirene", "_code_postal_demo"


def _masked(values, mask, fill=ND):
    return pc.if_else(pa.array(mask), pa.scalar(fill, pa.string()), values)


def _when(mask, values, otherwise=_NULL):
    return pc.if_else(pa.array(mask), values, otherwise)


@dataclass
class _Draw:
    """One entry per establishment row, sorted so that the rows of a unit are contiguous
    (siège first, active establishments before closed ones)."""

    commune: np.ndarray
    ess: np.ndarray
    active: np.ndarray
    employer: np.ndarray
    profile: np.ndarray  # index into ALL_PROFILES
    unit: np.ndarray
    seq: np.ndarray  # rank in the unit, 0 = siège

    @property
    def n(self) -> int:
        return self.commune.size

    @property
    def heads(self) -> np.ndarray:
        return np.flatnonzero(self.seq == 0)


@dataclass
class _Ids:
    serial: np.ndarray  # per unit
    siren: pa.Array  # per unit
    nic: pa.Array  # per row
    siret: pa.Array  # per row


@dataclass
class _Legal:
    cj: np.ndarray  # per unit
    naf: np.ndarray  # per unit
    person: np.ndarray  # per unit
    partial: np.ndarray  # per unit


@dataclass
class _Calendar:
    unit_created: np.ndarray
    created: np.ndarray
    closed_on: np.ndarray
    period_start: np.ndarray
    processed: np.ndarray


def prepare_communes(communes):
    """``communes`` with the text SIRENE writes for each commune, computed once:
    ``libelleCommuneEtablissement`` (:func:`demo.values.ascii_upper` of the name) and the
    fictitious postcode (:func:`demo.values.postcode_of`)."""
    if _CITY in communes.columns:
        return communes
    codes = communes.index.astype(str)
    names = communes["nom"].astype(str) if "nom" in communes.columns else codes
    return communes.assign(**{
        _CITY: np.array([ascii_upper(v) for v in names], dtype=object),
        _POSTCODE: np.array([postcode_of(c) for c in codes], dtype=object)})


def by_departement(communes) -> dict[str, np.ndarray]:
    """Positions of the communes of each département, départements sorted."""
    dep_of = communes["departement"].astype(str).to_numpy()
    return {dep: np.flatnonzero(dep_of == dep) for dep in sorted(set(dep_of))}


def build_departement(communes, changes, date, rng: np.random.Generator, model: DemoModel,
                      serials: dict[str, int]) -> tuple[dict[str, pa.Table], dict[str, int]]:
    """Draw the rows of one département (see :mod:`demo.model`).

    Returns ``({file key: table}, counts)``; ``serials`` (next ESS / other unit serial) is
    advanced in place.
    """
    population = communes["population"].fillna(0).to_numpy(dtype=float)
    lam = expected_active_ess(population, area_km2(communes), model)
    n_other = rng.poisson(lam * (1 + model.closed_per_active) * model.non_ess_per_ess)
    n_other_closed = rng.binomial(n_other, model.non_ess_closed_share)
    return build_rows(communes, changes, date, rng, model, serials,
                      ess_active=draw_counts(rng, lam),
                      ess_closed=draw_counts(rng, lam * model.closed_per_active),
                      other_active=n_other - n_other_closed, other_closed=n_other_closed)


def build_rows(communes, changes, date, rng: np.random.Generator, model: DemoModel,
               serials: dict[str, int], *, ess_active, ess_closed, other_active, other_closed,
               created_after=None) -> tuple[dict[str, pa.Table], dict[str, int]]:
    """Tables of the three files for given counts per commune (arrays aligned with
    ``communes``: one département, or several for the creations of a quarter).

    ``created_after`` (a date) makes every unit a creation of the period
    ``(created_after, date)``: used for the creations between two quarters (no bad rows then).
    """
    communes = prepare_communes(communes)
    draw = _draw(np.stack([ess_active, ess_closed, other_active, other_closed]), rng, model)
    unit_dep = communes["departement"].astype(str).to_numpy()[draw.commune[draw.heads]]
    ids = _identifiers(draw, serials)
    legal = _legal(draw, rng, model, unit_dep)
    calendar = _calendar(draw, rng, date, created_after)
    band, unit_band = _bands(draw, rng, model)
    unite_legale = _unite_legale(draw, ids, legal, calendar, unit_band, rng, model, unit_dep)
    partial_row = legal.partial[draw.unit]
    candidates = draw.ess & draw.active & ~partial_row
    n_bad = model.bad_rows_per_departement if created_after is None else 0
    places = place_rows(draw.commune, communes, code_book(changes), candidates, rng, model,
                        n_bad)
    if (places.bad == 1).any():  # a SIRET cut to 13 digits, in both files
        ids.siret = _when(places.bad == 1, pc.utf8_slice_codeunits(ids.siret, 0, 13), ids.siret)
    etablissement, lambert = _etablissement(draw, ids, legal, calendar, band, places,
                                            communes, rng, model)
    geolocalisation, q33 = _geolocalisation(draw, ids, partial_row, places, rng, model)
    stats = _stats(draw, legal, places, q33, lambert, geolocalisation.num_rows)
    return {"unite_legale": unite_legale, "etablissement": etablissement,
            "geolocalisation": geolocalisation}, stats


def _draw(counts: np.ndarray, rng: np.random.Generator, model: DemoModel) -> _Draw:
    """Rows of each kind (ESS active / closed, other active / closed) in each commune; their
    employer status and profile; grouped into units."""
    counts = counts.astype(np.int64)
    nc = counts.shape[1]
    n = int(counts.sum())
    commune = np.repeat(np.tile(np.arange(nc), 4), counts.ravel())
    kind = np.repeat(np.repeat(np.arange(4), nc), counts.ravel())  # 0/1 ESS, 2/3 other
    ess = kind < 2
    active = (kind % 2) == 0
    employer = rng.random(n) < np.where(ess, model.employer_share, model.non_ess_employer_share)
    rows = np.flatnonzero(ess & active)  # exactly the model's share of them (+-1)
    employer[rows] = allocate_bands(rng, rows.size, {True: model.employer_share,
                                                     False: 1 - model.employer_share}) == 0
    families = list(model.families_employer)
    family = np.where(employer, choice(rng, model.families_employer, n),
                      choice(rng, {f: model.families_non_employer[f] for f in families}, n))
    profile = np.empty(n, dtype=np.int64)
    for f, name in enumerate(families):
        members = [i for i, p in enumerate(PROFILES) if p.family == name]
        rows = np.flatnonzero(ess & (family == f))
        profile[rows] = np.asarray(members)[
            choice(rng, {i: PROFILES[i].weight for i in members}, rows.size)]
    rows = np.flatnonzero(~ess)
    profile[rows] = len(PROFILES) + choice(rng, {p.name: p.weight for p in NON_ESS_PROFILES},
                                           rows.size)
    extra = np.array([p.extra_establishments for p in ALL_PROFILES])
    order, unit, seq = _group_units(profile, active, extra, rng)
    return _Draw(commune[order], ess[order], active[order], employer[order], profile[order],
                 unit, seq)


def _group_units(profile: np.ndarray, active: np.ndarray, extra: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group establishments of the same profile into units (1 + Poisson(extra) each).

    Returns ``order`` (row permutation: rows of a unit contiguous, the siège first, active
    establishments before closed ones), ``unit`` (unit id per sorted row) and ``seq``
    (rank within the unit, 0 = siège).
    """
    n = profile.size
    order = np.lexsort((rng.random(n), profile))
    unit = np.empty(n, dtype=np.int64)
    next_id = 0
    for p in np.unique(profile):
        rows = np.flatnonzero(profile[order] == p)
        sizes = 1 + rng.poisson(extra[p], size=rows.size)
        ends = np.cumsum(sizes)
        k = int(np.searchsorted(ends, rows.size)) + 1
        starts = np.concatenate([[0], ends[:k - 1]])
        ids = np.searchsorted(starts, np.arange(rows.size), side="right") - 1
        unit[rows] = next_id + ids
        next_id += int(ids.max()) + 1 if rows.size else 0
    # put active establishments first inside each unit, then a random order
    order = order[np.lexsort((rng.random(n), ~active[order], unit))]
    unit = np.sort(unit)
    first = np.searchsorted(unit, unit, side="left")
    return order, unit, np.arange(n) - first


def _identifiers(draw: _Draw, serials: dict[str, int]) -> _Ids:
    """SIREN = 8-digit body + Luhn key (ESS bodies from 0, others from OTHER_SERIAL_BASE,
    following ``serials``, advanced in place); NIC = rank + key making the SIRET valid."""
    heads = draw.heads
    u_ess = draw.ess[heads]
    serial = np.empty(heads.size, dtype=np.int64)
    for flag, key, base, limit in ((True, "ess", 0, ESS_SERIAL_LIMIT),
                                   (False, "other", OTHER_SERIAL_BASE, OTHER_SERIAL_LIMIT)):
        sel = np.flatnonzero(u_ess == flag)
        start = serials[key]
        if start + sel.size > limit:
            raise ValueError(f"demo SIREN serials exhausted for {key} units ({limit})")
        serial[sel] = base + start + np.arange(sel.size)
        serials[key] = start + sel.size
    siren_int = serial * 10 + luhn_key(digits(serial, 8))
    siren = zfill(siren_int, 9)
    siret_body = siren_int[draw.unit] * 10_000 + (draw.seq + 1)
    nic = zfill((draw.seq + 1) * 10 + luhn_key(digits(siret_body, 13)), 5)
    siret = pc.binary_join_element_wise(pc.take(siren, pa.array(draw.unit)), nic, "")
    return _Ids(serial, siren, nic, siret)


def _legal(draw: _Draw, rng: np.random.Generator, model: DemoModel, unit_dep: np.ndarray
           ) -> _Legal:
    """Legal form and main activity of each unit (from its profile)."""
    u_profile = draw.profile[draw.heads]
    n_units = u_profile.size
    cj = np.empty(n_units, dtype=object)
    naf = np.empty(n_units, dtype=object)
    for p in np.unique(u_profile):
        sel = np.flatnonzero(u_profile == p)
        prof = ALL_PROFILES[p]
        cj[sel] = np.asarray(list(prof.legal_forms), dtype=object)[
            choice(rng, prof.legal_forms, sel.size)]
        naf[sel] = np.asarray(list(prof.naf), dtype=object)[choice(rng, prof.naf, sel.size)]
    cj[(cj == "9220") & np.isin(unit_dep, list(ALSACE_MOSELLE))] = "9260"  # droit local
    person = cj == "1000"
    partial = person & (rng.random(n_units) < model.partial_diffusion_share)
    return _Legal(cj, naf, person, partial)


def _calendar(draw: _Draw, rng: np.random.Generator, date, created_after) -> _Calendar:
    """Dates: unit creation (exponential ages, or inside the quarter for creations),
    establishment creation after it, closing date, start of the current period, last
    processing timestamp (within five years)."""
    n, unit, heads = draw.n, draw.unit, draw.heads
    today = np.datetime64(date, "D")
    if created_after is None:
        age = np.minimum(rng.exponential(12 * 365.25, heads.size), 75 * 365.25).astype(np.int64)
        u_created = today - 30 - age
    else:
        span = max(int((today - np.datetime64(created_after, "D")).astype(int)), 1)
        u_created = np.datetime64(created_after, "D") + rng.integers(0, span, heads.size)
    created = u_created[unit] + (
        rng.random(n) * (today - u_created[unit]).astype(float)).astype(np.int64)
    created[draw.seq == 0] = u_created[unit][draw.seq == 0]
    gap = (today - created).astype(np.int64)
    closed_on = created + (rng.random(n) * np.maximum(gap - 1, 1)).astype(np.int64)
    period_start = np.where(draw.active,
                            created + (rng.random(n) * gap * 0.5).astype(np.int64), closed_on)
    since = np.maximum(period_start, today - 5 * 365)
    processed = since.astype("datetime64[s]") + (
        rng.random(n) * np.maximum((today - since).astype(np.int64), 1) * 86400).astype(np.int64)
    return _Calendar(u_created, created, closed_on, period_start, processed)


def _bands(draw: _Draw, rng: np.random.Generator, model: DemoModel
           ) -> tuple[np.ndarray, np.ndarray]:
    """Band index (into ``model.bands_employer``) of each active employer establishment (-1
    for the others), allocated in the model's proportions (ESS and other rows apart); and
    each unit's largest band."""
    band = np.full(draw.n, -1)
    for ess in (True, False):  # ESS rows on their own: their jobs follow their count
        rows = np.flatnonzero(draw.active & draw.employer & (draw.ess == ess))
        band[rows] = allocate_bands(rng, rows.size, model.bands_employer)
    unit_band = np.full(draw.heads.size, -1)
    np.maximum.at(unit_band, draw.unit, band)
    return band, unit_band


def _band_text(band: np.ndarray, names: list[str]) -> pa.Array:
    return _when(band >= 0, pick(names, np.maximum(band, 0)), pa.scalar("NN"))


def _unite_legale(draw: _Draw, ids: _Ids, legal: _Legal, cal: _Calendar, unit_band: np.ndarray,
                  rng: np.random.Generator, model: DemoModel, unit_dep: np.ndarray
                  ) -> pa.Table:
    """The StockUniteLegale table (one row per unit)."""
    heads = draw.heads
    n_units = heads.size
    u_ess, u_active = draw.ess[heads], draw.active[heads]  # siège closed => unit closed
    person, partial = legal.person, legal.partial
    names = list(model.bands_employer)
    codes = np.asarray(names, dtype=object)[np.maximum(unit_band, 0)]
    category = np.where(~u_active, "", np.where(
        (unit_band >= 0) & np.isin(codes, ["51", "52", "53"]), "GE",
        np.where((unit_band >= 0) & np.isin(codes, ["32", "41", "42"]), "ETI", "PME")))
    number = ids.serial - np.where(u_ess, 0, OTHER_SERIAL_BASE) + 1
    label = pa.array([ALL_PROFILES[p].label for p in draw.profile[heads]], pa.string())
    denomination = _when(~person, pc.binary_join_element_wise(label, zfill(number, 4), " "))
    assoc = np.isin(legal.cj, ["9210", "9220", "9230", "9260"])
    rna_dep = pc.utf8_slice_codeunits(pc.binary_join_element_wise(
        pa.array(unit_dep, pa.string()), "0", ""), 0, 3)  # "210", "2A0", "974"
    rna = pc.binary_join_element_wise("W", rna_dep, zfill(number, 6), "")
    flag = np.where(u_ess, "O", np.where(rng.random(n_units) < model.non_ess_flag_empty_share,
                                         "", "N"))
    sex = rng.integers(0, 2, n_units)
    first_name = pick(FIRST_NAMES, rng.integers(0, len(FIRST_NAMES), n_units))
    data = {
        "siren": ids.siren,
        "statutDiffusionUniteLegale": pick(["O", "P"], partial.astype(int)),
        "dateCreationUniteLegale": dates(cal.unit_created),
        "sigleUniteLegale": _when(u_ess & (rng.random(n_units) < 0.08),
                                  pc.binary_join_element_wise("D", zfill(number, 4), "")),
        "sexeUniteLegale": _masked(_when(person, pick("MF", sex)), partial),
        "prenom1UniteLegale": _masked(_when(person, first_name), partial),
        "identifiantAssociationUniteLegale": _when(assoc & (rng.random(n_units) < 0.6), rna),
        "trancheEffectifsUniteLegale": _band_text(unit_band, names),
        "anneeEffectifsUniteLegale": _when(unit_band >= 0, pa.scalar("2024")),
        "dateDernierTraitementUniteLegale": stamps(cal.processed[heads]),
        "nombrePeriodesUniteLegale": pa.array((1 + rng.poisson(1.5, n_units)).astype(str)),
        "categorieEntreprise": _when(category != "", pa.array(category)),
        "anneeCategorieEntreprise": _when(category != "", pa.scalar("2023")),
        "dateDebut": dates(np.where(u_active, cal.unit_created, cal.closed_on[heads])),
        "etatAdministratifUniteLegale": pick(["C", "A"], u_active.astype(int)),
        "nomUniteLegale": _masked(_when(person, pa.scalar("PERSONNE-DEMO")), partial),
        "denominationUniteLegale": denomination,
        "categorieJuridiqueUniteLegale": pa.array(legal.cj, pa.string()),
        "activitePrincipaleUniteLegale": pa.array(legal.naf, pa.string()),
        "nomenclatureActivitePrincipaleUniteLegale": "NAFRev2",
        "nicSiegeUniteLegale": pc.take(ids.nic, pa.array(heads)),
        "economieSocialeSolidaireUniteLegale": _when(flag != "", pa.array(flag)),
        "societeMissionUniteLegale": _when(u_ess, pa.scalar("N")),
        "caractereEmployeurUniteLegale": pick(["N", "O"], (unit_band >= 0).astype(int)),
    }
    return as_table("unite_legale", data, n_units)


def _city_names(places: Places, draw: _Draw, communes) -> np.ndarray:
    """``libelleCommuneEtablissement``: the commune of the point, with the arrondissement
    number for arrondissement codes and the neighbour's name when it is declared."""
    codes = communes.index.to_numpy(dtype=object)
    city = communes[_CITY].to_numpy(dtype=object)
    city_of_row = city[draw.commune].copy()
    for row in np.flatnonzero(places.declared_kind == 2):
        city_of_row[row] = f"{city_of_row[row]} {int(places.declared[row][-2:])}"
    next_door = np.flatnonzero(places.declared_kind == 3)
    if next_door.size:
        city_of = dict(zip(codes, city, strict=True))
        city_of_row[next_door] = [city_of[places.declared[i]] for i in next_door]
    return city_of_row


def _etablissement(draw: _Draw, ids: _Ids, legal: _Legal, cal: _Calendar, band: np.ndarray,
                   places: Places, communes, rng: np.random.Generator, model: DemoModel
                   ) -> tuple[pa.Table, np.ndarray]:
    """The StockEtablissement table; also returns which rows carry Lambert coordinates."""
    n = draw.n
    partial = legal.partial[draw.unit]
    coord_nd = (places.broken == 3) | partial
    lambert = (rng.random(n) < model.lambert_coverage) & (places.bad != 2)
    no_lambert = ~lambert & ~partial
    xs, ys = fixed_width(places.x, 1), fixed_width(places.y, 1)
    postcode = communes[_POSTCODE].to_numpy(dtype=object)
    has_no = rng.random(n) < 0.85
    site_sign = ~draw.ess | (draw.seq == 0) | (rng.random(n) < 0.5)
    names = list(model.bands_employer)
    data = {
        "siren": pc.take(ids.siren, pa.array(draw.unit)),
        "nic": ids.nic,
        "siret": ids.siret,
        "statutDiffusionEtablissement": pick(["O", "P"], partial.astype(int)),
        "dateCreationEtablissement": dates(cal.created),
        "trancheEffectifsEtablissement": _band_text(band, names),
        "anneeEffectifsEtablissement": _when(band >= 0, pa.scalar("2024")),
        "dateDernierTraitementEtablissement": stamps(cal.processed),
        "etablissementSiege": pick(["false", "true"], (draw.seq == 0).astype(int)),
        "nombrePeriodesEtablissement": pa.array((1 + rng.poisson(1.0, n)).astype(str)),
        "complementAdresseEtablissement": _masked(
            _when(rng.random(n) < 0.05, pa.scalar("BATIMENT DEMO")), partial),
        "numeroVoieEtablissement": _masked(
            _when(has_no, pa.array(rng.integers(1, 150, n).astype(str))), partial),
        "indiceRepetitionEtablissement": _masked(
            _when(has_no & (rng.random(n) < 0.03), pa.scalar("B")), partial),
        "typeVoieEtablissement": _masked(
            pick(STREET_TYPES, rng.integers(0, len(STREET_TYPES), n)), partial),
        "libelleVoieEtablissement": _masked(pick(STREETS, rng.integers(0, len(STREETS), n)),
                                            partial),
        "codePostalEtablissement": _when(places.bad == 3, _NULL,
                                         pa.array(postcode[draw.commune], pa.string())),
        "libelleCommuneEtablissement": _when(places.bad == 3, _NULL, pa.array(
            _city_names(places, draw, communes), pa.string())),
        "codeCommuneEtablissement": pa.array(places.declared, pa.string()),
        "coordonneeLambertAbscisseEtablissement": _when(no_lambert, _NULL,
                                                        _masked(xs, coord_nd)),
        "coordonneeLambertOrdonneeEtablissement": _when(no_lambert, _NULL,
                                                        _masked(ys, coord_nd)),
        "dateDebut": dates(cal.period_start),
        "etatAdministratifEtablissement": pick(["F", "A"], draw.active.astype(int)),
        "enseigne1Etablissement": _masked(_when(site_sign, _NULL, pc.binary_join_element_wise(
            "SITE DEMO", pa.array((draw.seq + 1).astype(str)), " ")), partial & ~site_sign),
        "activitePrincipaleEtablissement": pa.array(legal.naf[draw.unit], pa.string()),
        "nomenclatureActivitePrincipaleEtablissement": "NAFRev2",
        "caractereEmployeurEtablissement": pick(["N", "O"], (band >= 0).astype(int)),
    }
    return as_table("etablissement", data, n), lambert


def _geolocalisation(draw: _Draw, ids: _Ids, partial: np.ndarray, places: Places,
                     rng: np.random.Generator, model: DemoModel) -> tuple[pa.Table, np.ndarray]:
    """The géolocalisé table (a share of the establishments, keyed by their SIRET);
    also returns which of its rows have ``qualite_xy = 33``."""
    coverage = np.where(draw.ess, model.geoloc_coverage_ess, model.geoloc_coverage_other)
    chosen = (rng.random(draw.n) < coverage) & (places.bad != 2)
    in_geo = np.flatnonzero(chosen | (places.bad == 3))
    g = in_geo.size
    q33 = rng.random(g) < model.qualite_33_share
    quality = _when(q33, pa.scalar("33"), pick(list(QUALITE_XY), choice(rng, QUALITE_XY, g)))
    g_nd = (places.broken[in_geo] == 3) | partial[in_geo]
    outside = np.isin(places.broken[in_geo], [1, 2]) | g_nd
    distance = np.where(q33, 0.0, rng.gamma(2.0, 15.0, g))
    plg_code = np.where(places.declared_kind[in_geo] == 2, places.declared[in_geo],
                        places.code[in_geo])
    take = pa.array(in_geo)
    data = {
        "siret": pc.take(ids.siret, take),
        "x": _masked(fixed_width(places.x[in_geo], 1), g_nd),
        "y": _masked(fixed_width(places.y[in_geo], 1), g_nd),
        "qualite_xy": _masked(quality, g_nd),
        "epsg": pa.array(places.epsg[in_geo]).cast(pa.string()),
        "plg_qp24": "HZ", "plg_iris": "0000", "plg_zus": "HZ", "plg_qva": "HZ",
        "plg_code_commune": _masked(pa.array(plg_code, pa.string()), outside),
        "distance_precision": _masked(fixed_width(distance, 1), q33 | g_nd),
        "qualite_qp": "1", "qualite_iris": "1", "qualite_zus": "1", "qualite_qva": "1",
        "y_latitude": _masked(fixed_width(places.lat[in_geo], 6), g_nd),
        "x_longitude": _masked(fixed_width(places.lon[in_geo], 6), g_nd),
    }
    return as_table("geolocalisation", data, g), q33


def _stats(draw: _Draw, legal: _Legal, places: Places, q33: np.ndarray, lambert: np.ndarray,
           geo_rows: int) -> dict[str, int]:
    ess, active, broken, kind = draw.ess, draw.active, places.broken, places.declared_kind
    u_ess = ess[draw.heads]
    stats = {
        "ess_actifs": int((ess & active).sum()), "ess_fermes": int((ess & ~active).sum()),
        "hors_ess_actifs": int((~ess & active).sum()),
        "hors_ess_fermes": int((~ess & ~active).sum()),
        "unites_ess": int(u_ess.sum()), "unites_hors_ess": int((~u_ess).sum()),
        "personnes_physiques": int(legal.person.sum()),
        "diffusion_partielle": int(legal.partial.sum()),
        "qualite_33": int(q33.sum()),
        "coord_en_mer": int((broken == 1).sum()),
        "coord_inversees": int(((broken == 2) & (places.bad == 0)).sum()),
        "coord_nd": int(((broken == 3) & (places.bad == 0)).sum()),
        "codes_anciens": int((kind == 1).sum()),
        "codes_arrondissement": int((kind == 2).sum()),
        "codes_commune_voisine": int((kind == 3).sum()),
        "lignes_geoloc": geo_rows, "lignes_lambert": int(lambert.sum()),
    }
    for k, (reason, _) in BAD_ROW_KINDS.items():
        stats[f"rejet_{reason}"] = int((places.bad == k).sum())
    return stats
