"""Fixtures partagées par les tests du site du cours."""

from __future__ import annotations

from pathlib import Path

import pytest

from .sitebuild import OUTPUT_DIR, Build, build_site


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """Le site construit une fois pour toute la session, avec les labs du dépôt."""
    dest = tmp_path_factory.mktemp("site") / "site"
    return build_site(dest)


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """``test-output/course/`` à la racine du dépôt (ignoré par git) : captures d'écran."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    return OUTPUT_DIR
