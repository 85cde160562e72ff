"""Pure pieces of the demo model: Luhn keys, rates, density factor, point sampling, CSV text."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from shapely.geometry import Polygon, box

from demo.files import csv_chunk
from demo.model import (
    ACTIVE_RATE_PER_10K,
    EMPLOYER_RATE_PER_10K,
    FAMILY_SHARES_EMPLOYER,
    FAMILY_SHARES_NON_EMPLOYER,
    PROFILES,
    DemoModel,
    density_factor,
    expected_active_ess,
    luhn_key,
    luhn_valid,
    sample_points,
    stable_seed,
)


def test_luhn_on_real_identifiers():
    # real SIRENs and a real SIRET of the recorded API answers (../shared/data/api_samples)
    assert luhn_valid(["552032534", "784410607", "356000000", "48744469700428"]).all()
    assert not luhn_valid(["552032535", "123456789"]).any()
    bodies = np.array([[5, 5, 2, 0, 3, 2, 5, 3], [7, 8, 4, 4, 1, 0, 6, 0]])
    assert luhn_key(bodies).tolist() == [4, 7]


def test_published_rates_and_shares():
    assert round(EMPLOYER_RATE_PER_10K, 1) == 33.5  # 221 325 / 66 M
    assert round(ACTIVE_RATE_PER_10K, 1) == 100.6  # one in three employs staff
    assert abs(sum(FAMILY_SHARES_EMPLOYER.values()) - 1) < 1e-9
    assert abs(sum(FAMILY_SHARES_NON_EMPLOYER.values()) - 1) < 1e-9
    assert FAMILY_SHARES_EMPLOYER["association"] == 0.80
    for family in FAMILY_SHARES_EMPLOYER:
        weights = [p.weight for p in PROFILES if p.family == family]
        assert abs(sum(weights) - 1) < 1e-9, family


def test_expected_counts_follow_population_density_and_floor():
    population = np.array([0, 20, 1_000, 1_000, 100_000])
    area = np.array([10.0, 10.0, 50.0, 0.5, 20.0])  # densities 0, 2, 20, 2 000, 5 000
    assert density_factor(population, area).tolist() == [0.8, 0.8, 0.8, 1.3, 1.3]
    lam = expected_active_ess(population, area, DemoModel())
    assert lam[0] == lam[1] == 0.2  # floor
    assert np.isclose(lam[2], ACTIVE_RATE_PER_10K / 10_000 * 1_000 * 0.8)
    assert lam[3] > lam[2]  # same population, denser
    assert np.isclose(expected_active_ess(population, area, DemoModel(scale=2.0)), 2 * lam).all()


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
