"""Fixtures of the MD tests: a diamond-Si structure file, the published Si NEP model, and a
stand-in ``gpumd`` executable (fake_gpumd.py) for the GPUMD backend's plumbing."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def si_model(shared_data) -> Path:
    """Fan et al. (2022) NEP4 model of Si, the model the paper uses for Si."""
    return shared_data / "nep" / "Si_2022_NEP4_3body.txt"


@pytest.fixture(scope="session")
def si_structure(tmp_path_factory) -> Path:
    """The 8-atom conventional cell of diamond Si (a = 5.43 Angstrom), extended XYZ."""
    from ase.build import bulk
    from ase.io import write

    path = tmp_path_factory.mktemp("structures") / "si.xyz"
    write(path, bulk("Si", "diamond", a=5.43, cubic=True), format="extxyz")
    return path


@pytest.fixture
def fake_gpumd(tmp_path) -> Path:
    """An executable named gpumd that runs fake_gpumd.py with this interpreter."""
    folder = tmp_path / "bin"
    folder.mkdir()
    executable = folder / "gpumd"
    executable.write_text(f"#!/bin/sh\nexec {sys.executable} {HERE / 'fake_gpumd.py'} \"$@\"\n")
    executable.chmod(executable.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return executable


@pytest.fixture
def fake_gpumd_netcdf(fake_gpumd) -> Path:
    """The stand-in, announcing a NetCDF build (the message of dump_netcdf.cu that only a gpumd
    built with USE_NETCDF holds)."""
    text = fake_gpumd.read_text()
    fake_gpumd.write_text(text + "# dump_netcdf no longer takes <grouping_method> <group_id>\n")
    return fake_gpumd


@pytest.fixture
def clean_fake_environment(monkeypatch):
    for name in ("FAKE_GPUMD_MODE", "FAKE_GPUMD_CRASH_AFTER"):
        monkeypatch.delenv(name, raising=False)
    return os.environ
