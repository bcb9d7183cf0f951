"""Shared fixtures: the reference data in ../shared (skipped cleanly where absent) and GPU tools."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]


def shared_directory() -> Path | None:
    """``../shared`` beside the checkout (or $MDINSIM_SHARED), or None where it is absent."""
    candidates = [os.environ.get("MDINSIM_SHARED"), REPOSITORY.parent / "shared"]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; skips the test where the reference data is not available."""
    shared = shared_directory()
    if shared is None or not (shared / "data").is_dir():
        pytest.skip("reference data ../shared/data is not available on this machine")
    return shared / "data"


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` run only where a real ``gpumd`` (or ``nep``) executable exists."""
    from mantid_mdinsim.external import find_executable

    have_gpumd = find_executable("gpumd") is not None
    have_nep = find_executable("nep") is not None
    for item in items:
        if "gpu" in item.keywords:
            needs = item.get_closest_marker("gpu").kwargs.get("program", "gpumd")
            if (needs == "nep" and not have_nep) or (needs == "gpumd" and not have_gpumd):
                item.add_marker(pytest.mark.skip(
                    reason=f"no '{needs}' executable on PATH (GPU machines only)"))
