"""Forces on displaced supercells: what the harmonic phonons and MD's check of the dump
interval (the fastest vibration) both compute from a NEP model."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
from ase import Atoms

from .. import execution
from ..progress import ProgressReporter, ensure_progress


def _ase_atoms(cell) -> Atoms:
    return Atoms(cell=cell.cell, numbers=cell.numbers, positions=cell.positions, pbc=True,
                 masses=cell.masses)


def displacement_forces(supercells: Sequence, calculator,
                        progress: ProgressReporter | None = None, *,
                        calculator_factory: Callable[[], Any] | None = None) -> np.ndarray:
    """Forces (eV/Angstrom) on each of phonopy's displaced supercells, from an ASE calculator.

    calorine.tools.get_force_constants does this loop too; it is written out here so that long
    runs (large cells, many displacements) report progress and can be cancelled, and so that
    calorine.tools (which imports torch) is not imported. With ``calculator_factory`` (a
    picklable function making the calculator) and a cluster (``--scheduler``), each displaced
    cell is a task on the cluster.
    """
    progress = ensure_progress(progress)
    executor = execution.active()
    if calculator_factory is not None and executor.spec.distributed:
        pieces = [execution.Piece(f"displacement-{index}", _forces_of,
                                  (cell.cell, cell.numbers, cell.positions, cell.masses,
                                   calculator_factory))
                  for index, cell in enumerate(supercells)]
        return np.asarray(executor.run(pieces, progress))
    forces = []
    for index, cell in enumerate(supercells):
        supercell_atoms = _ase_atoms(cell)
        supercell_atoms.calc = calculator
        forces.append(supercell_atoms.get_forces().copy())
        progress.report((index + 1) / len(supercells),
                        f"forces of displacement {index + 1}/{len(supercells)}")
    return np.asarray(forces)


def _forces_of(cell, numbers, positions, masses, calculator_factory) -> np.ndarray:
    """Forces on one displaced supercell (a task on a cluster)."""
    atoms = Atoms(cell=cell, numbers=numbers, positions=positions, pbc=True, masses=masses)
    atoms.calc = calculator_factory()
    return atoms.get_forces().copy()
