"""INSEE populations légales loader (``donnees_communes.csv`` / ``ensemble.zip``)."""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest
from fixtures_official import (
    DONNEES_COMMUNES_HEADER,
    DONNEES_COMMUNES_ROWS,
    donnees_communes_text,
    write_ensemble_zip,
)

from geodata.populations import read_populations
from observatory.errors import ConfigurationError, DataValidationError


def _check_fixture(frame):
    # The real first row of the file.
    row = frame.loc["01001"]
    assert row["nom"] == "L'Abergement-Clémenciat"
    assert (row["departement"], row["region"]) == ("01", "84")
    assert (row["population"], row["population_comptee_a_part"],
            row["population_totale"]) == (860, 16, 876)
    # Thousands separators removed.
    assert frame.loc["21231", "population"] == 161830
    assert frame.loc["21231", "population_totale"] == 165950
    assert frame.loc["2A004", "departement"] == "2A"
    assert frame.loc["97101", "departement"] == "971"
    # Paris added from its two arrondissements (fixture: 15 917 + 20 260).
    assert frame.loc["75056", "population"] == 15917 + 20260
    assert frame.loc["75056", "population_totale"] == 16087 + 20468
    assert bool(frame.loc["75056", "agrege_arrondissements"])
    assert frame.loc["75101", "commune_parente"] == "75056"
    assert pd.isna(frame.loc["21231", "commune_parente"])
    assert str(frame["population"].dtype) == "Int64"
    # Every input row is there, plus the aggregated parent.
    assert len(frame) == len(DONNEES_COMMUNES_ROWS) + 1


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8", "utf-8-sig"])
def test_csv_in_each_encoding(tmp_path, encoding):
    path = tmp_path / "donnees_communes.csv"
    path.write_bytes(donnees_communes_text().encode(encoding))
    frame = read_populations(path, millesime=2023)
    _check_fixture(frame)
    assert (frame["millesime"] == 2023).all()


def test_inside_ensemble_zip_with_year_in_name(tmp_path):
    path = write_ensemble_zip(tmp_path / "ensemble_pl2023.zip")
    frame = read_populations(path)
    _check_fixture(frame)
    assert (frame["millesime"] == 2023).all()
    no_year = read_populations(write_ensemble_zip(tmp_path / "ensemble.zip"))
    assert no_year["millesime"].isna().all()


def test_zip_without_the_table(tmp_path):
    path = tmp_path / "ensemble.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("donnees_departements.csv", "REG;DEP\n")
    with pytest.raises(DataValidationError, match="does not contain donnees_communes.csv"):
        read_populations(path)
    with pytest.raises(ConfigurationError, match="does not exist"):
        read_populations(tmp_path / "absent.csv")


def test_bad_rows_are_reported_not_dropped(tmp_path):
    path = tmp_path / "donnees_communes.csv"
    rows = [*DONNEES_COMMUNES_ROWS[:2],
            "84;Auvergne-Rhône-Alpes;01;2;08;002;01002;L'Abergement-de-Varey;;;"]
    path.write_text(donnees_communes_text(rows), encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        read_populations(path)
    assert info.value.offenders == [4]  # line 4 of the file (header is line 1)
    rows = [*DONNEES_COMMUNES_ROWS[:2], DONNEES_COMMUNES_ROWS[0]]
    path.write_text(donnees_communes_text(rows), encoding="utf-8")
    with pytest.raises(DataValidationError, match="more than once") as info:
        read_populations(path)
    assert info.value.offenders == ["01001"]
    path.write_text(donnees_communes_text(["84;A;01;2;08;001;01001;X;huit;0;8"]),
                    encoding="utf-8")
    with pytest.raises(DataValidationError, match="not numbers"):
        read_populations(path)


def test_missing_pmun_column(tmp_path):
    path = tmp_path / "donnees_communes.csv"
    path.write_text("REG;DEP;COM;Commune;PTOT\n84;01;01001;X;876\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match="PMUN"):
        read_populations(path)


# --- integration: the shared real populations, rewritten in the official layout ------------

def _official_layout_from_shared(shared_data, path):
    """Test-side reader of the shared *flattened* extract (not an official format): it is
    rewritten as ``donnees_communes.csv`` (Windows-1252, ``;``) the way INSEE lays it out,
    i.e. Paris/Lyon/Marseille by arrondissement, PTOT/PCAP from the DGCL member table where
    known, empty otherwise."""
    flat = pd.read_csv(shared_data / "population/communes_population_cog2026_pl2023.csv",
                       dtype=str, keep_default_na=False)
    members = pd.read_csv(shared_data / "population/epci_membres_cog2026.csv", dtype=str)
    ptot = members.drop_duplicates("commune").set_index("commune")["population_totale"]
    actual = flat[(flat["type"] == "commune-actuelle") & (flat["zone"] != "com")
                  & ~flat["code"].isin(["75056", "69123", "13055"])]
    arm = flat[flat["type"] == "arrondissement-municipal"]
    parents = flat[flat["type"] == "commune-actuelle"].set_index("code")
    arm = arm.assign(departement=arm["commune_parente"].map(parents["departement"]),
                     region=arm["commune_parente"].map(parents["region"]))
    rows = pd.concat([actual, arm])
    dep = rows["departement"]
    total = rows["code"].map(ptot).fillna("")
    pcap = [str(int(t) - int(p)) if t else "" for t, p in zip(total, rows["population"],
                                                              strict=True)]
    table = pd.DataFrame({
        "REG": rows["region"], "Région": "", "DEP": dep, "CODARR": "", "CODCAN": "",
        "CODCOM": [c[len(d):] for c, d in zip(rows["code"], dep, strict=True)],
        "COM": rows["code"], "Commune": rows["nom"], "PMUN": rows["population"],
        "PCAP": pcap, "PTOT": total,
    })
    assert ";".join(table.columns) == DONNEES_COMMUNES_HEADER
    path.write_bytes(table.to_csv(sep=";", index=False).encode("cp1252", errors="replace"))
    return path


@pytest.mark.integration
def test_real_populations_2023(shared_data, tmp_path):
    path = _official_layout_from_shared(shared_data, tmp_path / "donnees_communes.csv")
    frame = read_populations(path, millesime=2023)
    communes = frame[frame["commune_parente"].isna()]
    assert len(communes) == 34_875
    assert frame.loc["75056", "population"] == 2_103_778  # summed from 20 arrondissements
    assert bool(frame.loc["69123", "agrege_arrondissements"])
    assert frame.loc["21231", "population"] == 161_830
    assert frame.loc["59350", "population"] == 238_246  # Lille
    assert communes.loc[communes["departement"] == "21", "population"].sum() == 540_100
    assert communes.loc[communes["departement"] == "59", "population"].sum() == 2_615_635
    assert 68_000_000 < communes["population"].sum() < 68_700_000
    # PTOT = PMUN + PCAP by construction where the DGCL table gives PTOT.
    known = communes.dropna(subset=["population_totale"])
    assert (known["population"] + known["population_comptee_a_part"]
            == known["population_totale"]).all()
