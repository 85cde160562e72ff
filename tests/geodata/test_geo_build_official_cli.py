"""``python -m observatory geo build --admin-express ...`` builds from official files."""

from __future__ import annotations

from fixtures_official import write_admin_express_gpkg

from cli.main import main
from geodata.reference import load_reference


def test_geo_build_from_admin_express_through_the_cli(tmp_path, monkeypatch, capsys):
    reference_dir = tmp_path / "reference"
    monkeypatch.setenv("OBSERVATOIRE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("OBSERVATOIRE_REFERENCE_DIR", str(reference_dir))
    gpkg = write_admin_express_gpkg(tmp_path / "ADMIN-EXPRESS-COG_3-2__GPKG_LAMB93_FXX.gpkg")

    assert main(["geo", "build", "--admin-express", str(gpkg)]) == 0
    assert "fichiers officiels" in capsys.readouterr().out

    reference = load_reference(build=False, directory=reference_dir)
    # The fixture GeoPackage has the communes of its COMMUNE layer, nothing from the packages.
    assert len(reference.communes) < 10
    assert "21231" in reference.communes.index
    assert reference.provenance["admin_express"]["crs_source"] == "EPSG:2154"


def test_populations_without_admin_express_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("OBSERVATOIRE_REFERENCE_DIR", str(tmp_path / "reference"))
    assert main(["geo", "build", "--populations", str(tmp_path / "x.csv")]) == 2
    assert "--admin-express" in capsys.readouterr().err
    assert not (tmp_path / "reference").exists()
