"""Shared pieces of the training tests: a tiny silicon data set labelled by ASE's Tersoff
potential (an independent reference, pure Python), and small, fast model settings."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.calculators.tersoff import Tersoff, TersoffParameters

# Tersoff's silicon, Phys. Rev. B 38, 9902 (1988) ("Si(C)"), as in LAMMPS' Si.tersoff:
# element triplet, m, gamma, lambda3, c, d, costheta0 (h), n, beta, lambda2, B, R, D, lambda1, A.
SI_TERSOFF_LAMMPS = ("Si Si Si 3.0 1.0 0.0 1.0039e5 16.217 -0.59825 0.78734 1.0999e-6 "
                     "1.7322 471.18 2.85 0.15 2.4799 1830.8\n")


def tersoff_si() -> Tersoff:
    values = [float(v) for v in SI_TERSOFF_LAMMPS.split()[3:]]
    return Tersoff({("Si", "Si", "Si"): TersoffParameters(*values)})


def si_structures(count: int, seed: int = 0, rattle_angstrom: float = 0.08,
                  strain: float = 0.03):
    """Rattled and strained 8-atom diamond cells with Tersoff energies, forces and stresses."""
    rng = np.random.default_rng(seed)
    structures = []
    for i in range(count):
        atoms = bulk("Si", "diamond", 5.431 * (1 + rng.uniform(-strain, strain)), cubic=True)
        atoms.rattle(rattle_angstrom, seed=int(rng.integers(1 << 30)))
        atoms.calc = tersoff_si()
        results = dict(energy=atoms.get_potential_energy(), forces=atoms.get_forces(),
                       stress=atoms.get_stress())
        atoms.calc = SinglePointCalculator(atoms, **results)
        structures.append(atoms)
    return structures


#: Small and fast model settings (tests only; far from the GPUMD defaults).
TINY_MODEL = dict(radial_cutoff_angstrom=5.0, angular_cutoff_angstrom=4.0, n_max_radial=4,
                  n_max_angular=4, basis_size_radial=4, basis_size_angular=4, neurons=8,
                  threads=1)


@pytest.fixture
def si_training_file(tmp_path):
    from ase.io import write

    path = tmp_path / "si_train.xyz"
    write(path, si_structures(12, seed=1))
    return path
