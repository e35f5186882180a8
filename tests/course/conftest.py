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


def pytest_configure(config: pytest.Config) -> None:
    # The real-node work registers it too (with its real_sandbox fixture); registering twice is harmless.
    config.addinivalue_line("markers", "real_node: a besoin du vrai nœud (fixture real_sandbox)")
