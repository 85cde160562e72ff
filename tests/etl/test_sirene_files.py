"""``--sirene-dir`` accepts the folder as published and the layout of ``observatory download``."""

from __future__ import annotations

import shutil

import pytest
from sirene_fixtures import establishment, unit, write_sirene

from etl.sirene_files import find_sirene_files
from observatory.errors import ConfigurationError


def _download_layout(tmp_path):
    """downloads/<source>/latest/<official zip>, one folder per source, as `download sirene`."""
    flat = write_sirene(tmp_path / "flat", [unit("775672272")],
                        [establishment("775672272")], geo=[], fmt="zip")
    root = tmp_path / "downloads"
    for source, name in (("sirene_unite_legale", "StockUniteLegale_utf8.zip"),
                         ("sirene_etablissement", "StockEtablissement_utf8.zip"),
                         ("sirene_geolocalisation",
                          "GeolocalisationEtablissement_Sirene_pour_etudes_statistiques_utf8.zip")):
        target = root / source / "latest"
        target.mkdir(parents=True)
        shutil.copy(flat / name, target / name)
    return root


def test_download_layout_is_found(tmp_path):
    root = _download_layout(tmp_path)
    files = find_sirene_files(root)
    assert files.unite_legale == root / "sirene_unite_legale/latest/StockUniteLegale_utf8.zip"
    assert files.etablissement.parent == root / "sirene_etablissement/latest"
    assert files.geolocalisation is not None
    assert files.geolocalisation.parent == root / "sirene_geolocalisation/latest"


def test_two_editions_are_not_guessed(tmp_path):
    root = _download_layout(tmp_path)
    other = root / "sirene_unite_legale" / "2026-10"
    other.mkdir()
    shutil.copy(root / "sirene_unite_legale/latest/StockUniteLegale_utf8.zip", other)
    with pytest.raises(ConfigurationError, match="Several copies of StockUniteLegale_utf8.zip"):
        find_sirene_files(root)


def test_flat_folder_wins_over_sub_folders(tmp_path):
    root = _download_layout(tmp_path)
    write_sirene(root, [unit("775672272")], [establishment("775672272")], fmt="csv")
    files = find_sirene_files(root)
    assert files.unite_legale == root / "StockUniteLegale_utf8.csv"
