"""Coverage of a snapshot, on the synthetic world (answers derived by hand).

Populations: commune i (reading order of the 4 x 4 grid) has 100 (i + 1) inhabitants; the
communes of département 21 are i = 0..7, hence 100 x (1 + ... + 8) = 3 600 inhabitants out
of 100 x (1 + ... + 16) = 13 600 in région 27: a share of 3 600 / 13 600 = 0.2647.
"""

import pytest

from app_pages import coverage


@pytest.fixture(scope="module")
def communes(world):
    reference, _ = world
    return reference.communes


def test_a_departement_snapshot_covers_its_region_in_part(communes):
    covered = communes.index[communes["departement"] == "21"]
    regions = coverage.coverage_table(communes, covered, "region")
    assert list(regions.index) == ["27"]
    assert regions.at["27", "population_couverte"] == 3600
    assert regions.at["27", "population"] == 13600
    assert regions.at["27", "part"] == pytest.approx(3600 / 13600)
    assert coverage.status(regions, "27") == "partiel"
    deps = coverage.coverage_table(communes, covered, "departement")
    assert list(deps.index) == ["21"]  # 71 has no covered commune: absent, not zero
    assert coverage.status(deps, "21") == "complet"
    assert coverage.status(deps, "71") == "absent"


def test_messages_name_the_territory_and_what_is_covered():
    text = coverage.not_covered("Normandie (région 28)", "Économie sociale et solidaire",
                                "2026-T4", "le département Côte-d'Or (21)")
    assert "ne couvre pas Normandie (région 28)" in text
    assert "il couvre le département Côte-d'Or (21)" in text
    assert "4e trimestre 2026" in text
    note = coverage.partial_note("Bourgogne-Franche-Comté (région 27)", 3600 / 13600,
                                 "le département Côte-d'Or (21)")
    assert "26,5\u00a0%" in note and "Ce ne sont pas les chiffres du territoire entier" in note
    assert coverage.unknown_code("region", "99") == (
        "Le code « 99 » ne correspond à aucun territoire de niveau région.")
