"""The fastest vibration of a structure under a NEP model, to check a dump interval against.

The paper dumps positions "often enough to resolve the fastest vibration" (14 fs for Si with
a 2 fs step). A frame interval dt_dump resolves energies up to the Nyquist limit
pi*hbar/dt_dump; anything faster folds back (aliases) onto lower energies of S(q,w). The
fastest vibration is estimated from the model's harmonic phonons of the input structure
(phonopy, finite displacements, forces from calorine's CPUNEP).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from ase import Atoms

from ..atomistic.forces import displacement_forces
from ..units import HBAR_MEV_FS, MEV_PER_THZ

#: Largest number of atom-force evaluations (displacements x supercell atoms) spent on the
#: estimate (about 10 s of CPUNEP); beyond it the estimate is skipped.
MAX_ATOM_EVALUATIONS = 200_000
#: A dump interval must resolve the fastest vibration with this margin: anharmonic hardening
#: and the width of the highest peak push it above the harmonic estimate.
NYQUIST_MARGIN = 1.1
#: The time step should be at most this fraction of the shortest vibrational period for
#: velocity Verlet to conserve energy well (about 20 steps per period).
STEPS_PER_PERIOD_WARN = 20.0


def nyquist_energy_mev(dump_interval_fs: float) -> float:
    """The highest energy (meV) frames ``dump_interval_fs`` apart resolve: pi*hbar/dt."""
    return math.pi * HBAR_MEV_FS / dump_interval_fs


def max_dump_interval_fs(max_frequency_mev: float) -> float:
    """The longest dump interval (fs) that resolves ``max_frequency_mev`` with the margin."""
    return math.pi * HBAR_MEV_FS / (NYQUIST_MARGIN * max_frequency_mev)


def period_fs(energy_mev: float) -> float:
    """The period (fs) of a vibration of energy ``energy_mev``: 2*pi*hbar/E."""
    return 2.0 * math.pi * HBAR_MEV_FS / energy_mev


def estimate_max_frequency_mev(atoms: Atoms, model_path: str) -> float | None:
    """The highest harmonic phonon energy (meV) of ``atoms`` under the NEP model.

    Force constants from phonopy's symmetry-reduced finite displacements (0.01 Angstrom) in a
    2x2x2 supercell of small cells (fewer than 32 atoms; the input cell otherwise), evaluated
    on a Gamma-centred 6x6x6 mesh. Returns ``None`` when that would take more than
    :data:`MAX_ATOM_EVALUATIONS` force evaluations or the model cannot be evaluated on CPU.
    """
    # phonopy and calorine take seconds to import; only this check needs them (MD step).
    from phonopy import Phonopy  # phonopy, calorine: seconds to import, only to estimate
    from phonopy.structure.atoms import PhonopyAtoms  # (as above)

    try:
        from ..atomistic import calorine_loading  # noqa: F401  - without scikit-learn
        from calorine.calculators import CPUNEP  # (as above)
    except ImportError:  # pragma: no cover - calorine is a dependency
        return None
    repeat = 2 if len(atoms) < 32 else 1
    unit = PhonopyAtoms(symbols=atoms.get_chemical_symbols(), cell=np.array(atoms.cell),
                        scaled_positions=atoms.get_scaled_positions(), masses=atoms.get_masses())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        phonon = Phonopy(unit, supercell_matrix=np.diag([repeat] * 3))
        phonon.generate_displacements(distance=0.01)
        supercells = phonon.supercells_with_displacements
        n_atoms = len(atoms) * repeat**3
        if len(supercells) * n_atoms > MAX_ATOM_EVALUATIONS:
            return None
        try:
            calculator = CPUNEP(str(model_path))
        except Exception:  # a NEP3 model, or one calorine cannot run: no estimate
            return None
        phonon.forces = displacement_forces(supercells, calculator)
        phonon.produce_force_constants()
        phonon.run_mesh([6, 6, 6], is_gamma_center=True)
        frequencies_thz = np.asarray(phonon.mesh.frequencies)
    # Imaginary modes (negative in phonopy) of an unrelaxed structure count by magnitude.
    return float(np.abs(frequencies_thz).max() * MEV_PER_THZ)
