"""Fixtures of the harmonic tests: NEP phonons of diamond Si (computed once) and phonon files."""

from __future__ import annotations

import numpy as np
import pytest

SI_MODEL = "nep/Si_2022_NEP4_3body.txt"


@pytest.fixture(scope="session")
def si_model(shared_data):
    return shared_data / SI_MODEL


@pytest.fixture(scope="session")
def si_nep_phonons(si_model):
    """Force constants of diamond Si with the paper's Si NEP, cell relaxed (0 K structure)."""
    from ase.build import bulk

    from mantid_mdinsim.harmonic import harmonic_phonons

    return harmonic_phonons(bulk("Si", "diamond", a=5.431), si_model, supercell=(4, 4, 4),
                            relax="cell")


@pytest.fixture(scope="session")
def castep_modes(shared_data):
    """Loader of the CASTEP .phonon files of the shared data (euphonic's test data)."""
    from mantid_mdinsim.harmonic import load_phonons

    def load(name: str):
        return load_phonons(shared_data / "phonons" / name)

    return load


@pytest.fixture(scope="session")
def einstein_modes():
    """Builder of one atom in a cubic cell with three modes along x, y, z at given energies
    (meV): an isolated (Einstein) harmonic site, flat in q, so one q-point describes it
    exactly."""
    return _einstein_modes


def _einstein_modes(energies_mev, mass_amu: float = 1.00794, symbol: str = "H"):
    from euphonic import Crystal, QpointPhononModes, ureg

    crystal = Crystal(np.eye(3) * 3.0 * ureg("angstrom"), np.zeros((1, 3)), np.array([symbol]),
                      np.array([mass_amu]) * ureg("amu"))
    eigenvectors = np.eye(3)[np.newaxis, :, np.newaxis, :].astype(complex)
    return QpointPhononModes(crystal, np.zeros((1, 3)),
                             np.asarray(energies_mev, dtype=float)[np.newaxis, :] * ureg("meV"),
                             eigenvectors, weights=np.array([1.0]))
