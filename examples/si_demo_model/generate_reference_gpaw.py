"""Generate the DFT reference data of mdinsim's demo silicon NEP model with GPAW (PBE).

This is the first half of the recipe of the model shipped in ``mantid_mdinsim/data/``; the second
half, ``train_demo_model.py``, trains the NEP on CPU (neppo) from the file written here.

Structures (8-atom cubic diamond cells, seeded, so the set is reproducible):

* isotropic strains of the ideal cell from -4 % to +4 % (the equation of state);
* random small strains (normal and shear, up to 2 %) with random displacements of 0.02 to 0.12
  Angstrom (the thermal displacements of Si are about 0.07 Angstrom at 300 K and 0.15 at 1200 K).

Each structure is labelled with energy, forces and stress by GPAW in plane-wave mode (PBE, 300 eV,
3x3x3 k-points). The output is extended XYZ (energy, forces and virial, as ASE and GPUMD read it),
appended one structure at a time and renamed into place, so an interrupted run resumes where it
stopped.

GPAW is not a dependency of mdinsim (it compiles C++ extensions). To run this script::

    python3 -m venv /tmp/gpaw && CC=g++ /tmp/gpaw/bin/pip install gpaw gpaw-data
    OMP_NUM_THREADS=1 /tmp/gpaw/bin/python generate_reference_gpaw.py --output si_gpaw_reference.xyz

About 20 s per structure on one core here (GPAW 26.7, without libxc: its built-in PBE).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import read, write

LATTICE_PARAMETER_ANGSTROM = 5.47  # about the PBE lattice parameter of Si


def reference_structures(n_rattled: int, seed: int):
    """The unlabelled structures, in a fixed order (the set is reproducible from the seed)."""
    rng = np.random.default_rng(seed)
    ideal = bulk("Si", "diamond", a=LATTICE_PARAMETER_ANGSTROM, cubic=True)
    structures = []
    for strain in np.linspace(-0.04, 0.04, 9):
        atoms = ideal.copy()
        atoms.set_cell(ideal.cell * (1 + strain), scale_atoms=True)
        structures.append(atoms)
    for index in range(n_rattled):
        atoms = ideal.copy()
        strain = rng.uniform(-0.02, 0.02, (3, 3))
        strain = 0.5 * (strain + strain.T)
        atoms.set_cell(ideal.cell @ (np.eye(3) + strain), scale_atoms=True)
        amplitude = rng.uniform(0.02, 0.12)
        atoms.positions += rng.normal(0.0, amplitude, atoms.positions.shape)
        structures.append(atoms)
    return structures


def label(atoms):
    from gpaw import GPAW, PW

    atoms = atoms.copy()
    atoms.calc = GPAW(mode=PW(300), xc="PBE", kpts=(3, 3, 3), txt=None, symmetry="off")
    energy = atoms.get_potential_energy()
    forces = atoms.get_forces()
    stress = atoms.get_stress(voigt=False)
    labelled = atoms.copy()
    labelled.calc = SinglePointCalculator(labelled, energy=energy, forces=forces, stress=stress)
    return labelled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=Path("si_gpaw_reference.xyz"))
    parser.add_argument("--n-rattled", type=int, default=111)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()

    structures = reference_structures(args.n_rattled, args.seed)
    done = read(args.output, ":") if args.output.exists() else []
    print(f"{len(done)} of {len(structures)} structures already labelled in {args.output}")
    for index in range(len(done), len(structures)):
        done.append(label(structures[index]))
        temporary = args.output.with_name(args.output.name + ".tmp")
        write(temporary, done, format="extxyz")
        os.replace(temporary, args.output)
        print(f"labelled {index + 1}/{len(structures)}: E = "
              f"{done[-1].get_potential_energy() / len(done[-1]):.4f} eV/atom", flush=True)


if __name__ == "__main__":
    main()
