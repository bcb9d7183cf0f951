"""Forces on displaced supercells: what the harmonic phonons and MD's check of the dump
interval (the fastest vibration) both compute from a NEP model."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from ase import Atoms

from ..progress import ProgressReporter, ensure_progress


def _ase_atoms(cell) -> Atoms:
    return Atoms(cell=cell.cell, numbers=cell.numbers, positions=cell.positions, pbc=True,
                 masses=cell.masses)


def displacement_forces(supercells: Sequence, calculator,
                        progress: ProgressReporter | None = None) -> np.ndarray:
    """Forces (eV/Angstrom) on each of phonopy's displaced supercells, from an ASE calculator.

    calorine.tools.get_force_constants does this loop too; it is written out here so that long
    runs (large cells, many displacements) report progress and can be cancelled, and so that
    calorine.tools (which imports torch) is not imported.
    """
    progress = ensure_progress(progress)
    forces = []
    for index, cell in enumerate(supercells):
        supercell_atoms = _ase_atoms(cell)
        supercell_atoms.calc = calculator
        forces.append(supercell_atoms.get_forces().copy())
        progress.report((index + 1) / len(supercells),
                        f"forces of displacement {index + 1}/{len(supercells)}")
    return np.asarray(forces)
