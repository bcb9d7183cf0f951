"""The harmonic reference of the MD tests: phonopy's force constants from finite displacements,
the forces from calorine's CPUNEP (independent of mdinsim's own harmonic code)."""

from __future__ import annotations

import numpy as np


def phonopy_with_cpunep(structure, model_path, supercell_matrix, **phonopy_options):
    """A Phonopy of the ASE ``structure`` (its unit cell) with force constants from CPUNEP
    forces on 0.01 Angstrom displacements."""
    from ase import Atoms
    from calorine.calculators import CPUNEP
    from phonopy import Phonopy
    from phonopy.structure.atoms import PhonopyAtoms

    unit = PhonopyAtoms(symbols=structure.get_chemical_symbols(), cell=np.array(structure.cell),
                        scaled_positions=structure.get_scaled_positions())
    phonon = Phonopy(unit, supercell_matrix=supercell_matrix, **phonopy_options)
    phonon.generate_displacements(distance=0.01)
    calculator = CPUNEP(str(model_path))
    forces = []
    for supercell in phonon.supercells_with_displacements:
        atoms = Atoms(supercell.symbols, cell=supercell.cell,
                      scaled_positions=supercell.scaled_positions, pbc=True)
        atoms.calc = calculator
        forces.append(atoms.get_forces())
    phonon.forces = forces
    phonon.produce_force_constants()
    return phonon
