"""The demo model: published rates, density factor, band allocation, Luhn keys, point
sampling, CSV text; and the rates of generated files against the published national figures.

Published figures (issue 12, from the Panorama / Atlas de l'ESS, ESS France / CNCRESS):
210 000-221 000 employer ESS establishments and 2.4-2.6 million ESS employees, for 68 350 798
inhabitants (population municipale 2023 of the COG 2026 communes).  Per 10 000 inhabitants:
employer establishments 210 000 / 6 835.08 = 30.72 to 221 000 / 6 835.08 = 32.33; jobs
2 400 000 / 6 835.08 = 351.1 to 2 600 000 / 6 835.08 = 380.4.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely
from shapely.geometry import Polygon, box
from sirene_fixtures import make_tiny_reference

from demo.files import generate_demo_files
from demo.formats import csv_chunk, read_demo_files
from demo.model import (
    ACTIVE_RATE_PER_10K,
    EMPLOYER_RATE_PER_10K,
    FAMILY_SHARES_EMPLOYER,
    FAMILY_SHARES_NON_EMPLOYER,
    PROFILES,
    DemoModel,
    allocate_bands,
    density_factor,
    expected_active_ess,
    luhn_key,
    luhn_valid,
    sample_points,
    stable_seed,
)
from indicators.employment import employment_columns

EMPLOYER_PER_10K = (30.72, 32.33)
JOBS_PER_10K = (351.1, 380.4)


def test_luhn_on_real_identifiers():
    # real SIRENs and a real SIRET of the recorded API answers (../shared/data/api_samples)
    assert luhn_valid(["552032534", "784410607", "356000000", "48744469700428"]).all()
    assert not luhn_valid(["552032535", "123456789"]).any()
    bodies = np.array([[5, 5, 2, 0, 3, 2, 5, 3], [7, 8, 4, 4, 1, 0, 6, 0]])
    assert luhn_key(bodies).tolist() == [4, 7]


def test_published_rates_and_shares():
    # 215 500 employer establishments (middle of 210 000-221 000) / 6 835.08 = 31.53 per
    # 10 000; one in three establishments employs staff (INSEE Bourgogne 2004): x 3 = 94.59
    assert EMPLOYER_PER_10K[0] < EMPLOYER_RATE_PER_10K < EMPLOYER_PER_10K[1]
    assert round(EMPLOYER_RATE_PER_10K, 2) == 31.53
    assert round(ACTIVE_RATE_PER_10K, 2) == 94.59
    assert abs(sum(FAMILY_SHARES_EMPLOYER.values()) - 1) < 1e-9
    assert abs(sum(FAMILY_SHARES_NON_EMPLOYER.values()) - 1) < 1e-9
    # Panorama 2015: 185 378 of 221 325 employer establishments are associations (83.8 %);
    # x 0.98 to leave 2 % to the commercial ESS companies: 82.1 %
    assert FAMILY_SHARES_EMPLOYER["association"] == pytest.approx(185_378 / 221_325 * 0.98,
                                                                  abs=5e-4)
    assert FAMILY_SHARES_EMPLOYER["cooperative"] == pytest.approx(26_460 / 221_325 * 0.98,
                                                                  abs=5e-4)
    for family in FAMILY_SHARES_EMPLOYER:
        weights = [p.weight for p in PROFILES if p.family == family]
        assert abs(sum(weights) - 1) < 1e-9, family


def test_density_factor_keeps_each_group_total():
    # one group: densities 2 000 (x1.3) and 20 (x0.8) inh/km2, 1 000 inhabitants each;
    # population-weighted mean (1.3 + 0.8) / 2 = 1.05 -> factors 1.3/1.05 and 0.8/1.05
    factor = density_factor(np.array([1000, 1000]), np.array([0.5, 50.0]))
    assert np.allclose(factor, [1.3 / 1.05, 0.8 / 1.05])
    # two groups normalised apart: a lone commune always gets 1
    factor = density_factor(np.array([1000, 1000, 500]), np.array([0.5, 50.0, 0.1]),
                            np.array(["21", "21", "75"]))
    assert np.allclose(factor, [1.3 / 1.05, 0.8 / 1.05, 1.0])


def test_expected_counts_follow_population_and_floor():
    population = np.array([0, 20, 1_000, 1_000, 100_000])
    area = np.array([10.0, 10.0, 50.0, 0.5, 20.0])  # densities 0, 2, 20, 2 000, 5 000
    model = DemoModel()
    lam = expected_active_ess(population, area, model)
    assert lam[0] == lam[1] == 0.2  # floor
    assert lam[3] > lam[2]  # same population, denser
    assert np.allclose(expected_active_ess(population, area, DemoModel(scale=2.0)), 2 * lam)
    # above the floor, the communes sum to rate x population (the factor moves, not adds)
    lam = expected_active_ess(population[2:], area[2:], model)
    assert lam.sum() == pytest.approx(model.active_rate_per_10k / 10_000 * 102_000)


def test_band_allocation_is_exact_and_unbiased():
    rng = np.random.default_rng(3)
    bands = allocate_bands(rng, 1000, {"a": 50.0, "b": 30.0, "c": 20.0})
    assert np.bincount(bands).tolist() == [500, 300, 200]
    # 7 items in thirds: 2 or 3 each, 7 in all, and 7/3 on average over many draws
    counts = np.array([np.bincount(allocate_bands(rng, 7, {"a": 1, "b": 1, "c": 1}),
                                   minlength=3) for _ in range(3000)])
    assert set(np.unique(counts)) <= {2, 3} and (counts.sum(axis=1) == 7).all()
    assert np.allclose(counts.mean(axis=0), 7 / 3, atol=0.05)


def test_sample_points_inside_with_exact_counts():
    ring = Polygon([(0, 0), (1, 0), (1, 1), (0.9, 1), (0.9, 0.1), (0, 0.1)])  # thin L
    geoms = np.array([box(0, 0, 1, 1), ring, box(5, 5, 5.001, 5.001)], dtype=object)
    counts = np.array([3, 500, 7])
    x, y = sample_points(geoms, counts, np.random.default_rng(1))
    owner = np.repeat(np.arange(3), counts)
    assert x.size == counts.sum()
    assert shapely.contains_xy(geoms[owner], x, y).all()
    again = sample_points(geoms, counts, np.random.default_rng(1))
    assert np.array_equal(again[0], x) and np.array_equal(again[1], y)
    assert stable_seed("21", 2026) == stable_seed("21", 2026) != stable_seed("25", 2026)


def test_csv_text_quotes_only_when_needed():
    # free-text columns (names, addresses) are the only ones that may hold a separator
    data = {"denominationUniteLegale": pa.array(["x", "", "b,c", 'q"z', None]), "b": "k",
            "c": None}
    text = csv_chunk(("denominationUniteLegale", "b", "c"), data, 5, ",").decode("utf-8")
    assert text.splitlines()[0] == "x,k,"
    assert text.splitlines()[1] == ",k,"
    assert '"b,c",k,' in text and '"q""z",k,' in text
    frame = pd.read_csv(io.StringIO("a,b,c\n" + text), dtype=str, keep_default_na=False)
    assert frame["a"].tolist() == ["x", "", "b,c", 'q"z', ""]
    assert frame["b"].tolist() == ["k"] * 5


def test_generated_rates_land_in_the_published_ranges(tmp_path):
    """The tiny reference (11 communes of 1 000 inhabitants) scaled x200 stands for 2.2
    million inhabitants: about 6 900 employer establishments, so that the counting noise
    (about 1.2 %) stays inside the published ranges (+-2.6 % around their middle)."""
    scale = 200.0
    model = DemoModel(scale=scale, non_ess_per_ess=0.0)
    generate_demo_files(tmp_path, make_tiny_reference(), None, "2026-T4", seed=11, model=model)
    frames = read_demo_files(tmp_path)
    et, ul = frames["etablissement"], frames["unite_legale"]
    ess_units = ul.loc[ul["economieSocialeSolidaireUniteLegale"] == "O", "siren"]
    active = et[et["siren"].isin(ess_units) & (et["etatAdministratifEtablissement"] == "A")]
    inhabitants = 11 * 1_000 * scale
    employer = active["caractereEmployeurEtablissement"] == "O"
    assert EMPLOYER_PER_10K[0] < employer.sum() / inhabitants * 10_000 < EMPLOYER_PER_10K[1]
    bands = active[["trancheEffectifsEtablissement"]].rename(
        columns={"trancheEffectifsEtablissement": "tranche_effectif"})
    jobs = employment_columns(bands)["emplois_estimes"]
    assert JOBS_PER_10K[0] < jobs.sum() / inhabitants * 10_000 < JOBS_PER_10K[1]
    # the published shape (Panorama 2015): three quarters of the employer establishments
    # have fewer than 10 employees; those of 250 or more hold more than 12 % of the jobs
    band = active.loc[employer, "trancheEffectifsEtablissement"]
    assert band.isin(["00", "01", "02", "03"]).mean() == pytest.approx(0.75, abs=0.01)
    large = band.isin(["32", "41", "42", "51", "52", "53"]).reindex(jobs.index, fill_value=False)
    assert jobs[large].sum() / jobs.sum() > 0.12
