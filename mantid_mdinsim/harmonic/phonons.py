"""Harmonic phonons of a NEP model: force constants by finite displacements, modes on a q-mesh.

The structure (optionally relaxed with the same NEP) goes to phonopy, which generates the
symmetry-distinct displaced supercells; calorine's ``CPUNEP`` gives their forces and phonopy
builds the force constants. euphonic then reads them (from the phonopy parameter file that is
also the result kept on disk, so a second run or another program can reuse it) and
interpolates the phonon modes on any q-points: the Monkhorst-Pack mesh the spectrum needs, or
high-symmetry points for checks.

Units: Angstrom, eV/Angstrom (forces), meV and THz (frequencies), fractional reciprocal
coordinates for q-points (the 2 pi is not written).
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
from ase import Atoms
from threadpoolctl import threadpool_limits

from ..atomistic.forces import displacement_forces
from ..atomistic.inputs import MIN_ATOM_DISTANCE_ANGSTROM, shortest_distance
from ..errors import InputFileError, ParameterError, PhysicsError
from ..io.atomic import atomic_path
from ..progress import ProgressReporter, ensure_progress
from .parameters import RELAX_CHOICES

if TYPE_CHECKING:  # for annotations only: euphonic and phonopy take seconds to import
    from euphonic import ForceConstants, QpointPhononModes
    from phonopy import Phonopy

#: Supercells are made at least this many times the NEP cutoff wide (perpendicular widths), so
#: that no atom sees a displaced atom and its periodic image at once.
SUPERCELL_WIDTH_PER_CUTOFF = 2.0
#: Spacing of the automatic q-mesh, 1/Angstrom with the 2 pi included.
DEFAULT_MESH_SPACING_INV_ANGSTROM = 0.2
#: Files the ``phonons`` input accepts instead of structure + model (read by euphonic).
PHONON_FILE_EXTENSIONS = (".yaml", ".phonon", ".castep_bin", ".check")


@dataclass
class HarmonicPhonons:
    """Force constants of one structure, with how they were made.

    Attributes
    ----------
    force_constants
        euphonic ``ForceConstants`` (interpolates modes at any q).
    structure
        The structure the force constants belong to (relaxed where asked), Angstrom.
    supercell
        The supercell matrix used for the finite displacements (3x3 integers), or None when
        the force constants were read from a file.
    phonopy
        The phonopy object (displacements, forces, force constants), or None when read.
    max_force_ev_per_angstrom
        Largest residual force on an atom of the undisplaced structure: large values mean the
        structure is not at a minimum of the model and the harmonic picture is questionable.
    """

    force_constants: "ForceConstants"
    structure: Atoms | None = None
    supercell: np.ndarray | None = None
    phonopy: "Phonopy | None" = None
    max_force_ev_per_angstrom: float | None = None

    def modes(self, mesh: Sequence[int] | None = None,
              qpoints: np.ndarray | None = None) -> "QpointPhononModes":
        """Phonon modes on a Monkhorst-Pack ``mesh`` (default: automatic), or at ``qpoints``
        (fractional reciprocal coordinates, unit weights)."""
        return mesh_modes(self.force_constants, mesh=mesh, qpoints=qpoints)

    def frequencies_thz(self, qpoints: np.ndarray) -> np.ndarray:
        """Frequencies (THz), shape (n_qpoints, 3 n_atoms), ascending at each q-point."""
        from euphonic import ureg  # euphonic takes seconds to import; only phonon work needs it

        modes = self.modes(qpoints=np.atleast_2d(qpoints))
        return modes.frequencies.to(ureg("THz"), "spectroscopy").magnitude

    def save(self, path: str | os.PathLike) -> Path:
        """Write the phonopy parameter file (structure, supercell, force constants), which
        :func:`load_phonons` (and phonopy, euphonic, Mantid's Abins) read back."""
        if self.phonopy is None:
            raise ValueError("these force constants were read from a file; nothing new to save")
        path = Path(path)
        with atomic_path(path) as temporary:
            self.phonopy.save(filename=str(temporary), settings={"force_constants": True})
        return path


def automatic_supercell(atoms: Atoms, cutoff_angstrom: float) -> tuple[int, int, int]:
    """Smallest repetitions (n_a, n_b, n_c) whose perpendicular widths all reach
    ``SUPERCELL_WIDTH_PER_CUTOFF`` times the cutoff (Angstrom)."""
    cell = np.asarray(atoms.cell, dtype=float)
    volume = abs(np.linalg.det(cell))
    widths = [volume / np.linalg.norm(np.cross(cell[(i + 1) % 3], cell[(i + 2) % 3]))
              for i in range(3)]
    target = SUPERCELL_WIDTH_PER_CUTOFF * cutoff_angstrom
    return tuple(max(1, math.ceil(target / width - 1e-9)) for width in widths)  # type: ignore


def automatic_mesh(cell_angstrom: np.ndarray,
                   spacing_inv_angstrom: float = DEFAULT_MESH_SPACING_INV_ANGSTROM
                   ) -> tuple[int, int, int]:
    """Monkhorst-Pack divisions so that q-points are at most ``spacing`` apart (1/Angstrom,
    2 pi included) along each reciprocal vector."""
    reciprocal = 2 * np.pi * np.linalg.inv(np.asarray(cell_angstrom, dtype=float)).T
    lengths = np.linalg.norm(reciprocal, axis=1)
    return tuple(max(1, math.ceil(length / spacing_inv_angstrom - 1e-9))  # type: ignore
                 for length in lengths)


#: The most atoms of a displaced supercell (phonon supercells hold hundreds to thousands).
MAX_SUPERCELL_ATOMS = 20_000
#: The most q-points of a Monkhorst-Pack mesh (100 x 100 x 100).
MAX_MESH_POINTS = 1_000_000


def _supercell_matrix(supercell: Sequence[int] | np.ndarray) -> np.ndarray:
    matrix = np.asarray(supercell, dtype=int)
    if matrix.shape == (3,):
        matrix = np.diag(matrix)
    elif matrix.shape == (1,):
        matrix = np.eye(3, dtype=int) * int(matrix[0])
    if matrix.shape != (3, 3):
        raise ParameterError("supercell", f"{np.asarray(supercell).size} values given",
                             "give one, three or nine integers (n, n_a n_b n_c, or a 3x3 "
                             "matrix row by row)")
    if abs(round(np.linalg.det(matrix))) < 1:
        raise ParameterError("supercell", "the supercell matrix is singular",
                             "give positive repetitions, e.g. --supercell 4 4 4")
    return matrix


def _phonopy_atoms(atoms: Atoms):
    """phonopy's structure, with the structure's own masses (isotopes, deuterium) kept."""
    from phonopy.structure.atoms import PhonopyAtoms  # phonopy: seconds; phonon work only

    return PhonopyAtoms(symbols=atoms.get_chemical_symbols(), cell=np.asarray(atoms.cell),
                        positions=atoms.get_positions(), masses=atoms.get_masses())


def _relax(atoms: Atoms, fmax_ev_per_angstrom: float, constant_cell: bool) -> None:
    """Relax in place with ASE's BFGS (and FrechetCellFilter for the cell), as
    calorine.tools.relax_structure does; that package is not imported because importing it
    imports torch (seconds per process)."""
    # ASE's optimisers take seconds to import (they load scipy.optimize); relaxations only.
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS

    target = atoms if constant_cell else FrechetCellFilter(atoms)
    # The optimiser solves many tiny linear systems; a multi-threaded BLAS spends seconds
    # spinning on them on a busy machine (measured: 4.7 s against 0.1 s for Si).
    with threadpool_limits(limits=1, user_api="blas"):
        BFGS(target, logfile=None).run(fmax=fmax_ev_per_angstrom, steps=2000)


def _check_relaxed(atoms: Atoms, min_distance_angstrom: float) -> None:
    """A relaxation that collapsed atoms together or diverged is no structure to take phonons
    of (seen: overlapping atoms relaxed to 0.27 Angstrom apart, and the run carried on)."""
    fix = ("check the structure (overlapping or missing atoms, the length unit) and that the "
           "model was trained for it; or try --relax none")
    if not np.all(np.isfinite(atoms.get_positions())) or not np.all(
            np.isfinite(np.asarray(atoms.cell))):
        raise PhysicsError(f"the relaxation diverged (positions or cell not finite); {fix}")
    closest = shortest_distance(atoms, min_distance_angstrom)
    if closest is not None:
        distance, i, j = closest
        raise PhysicsError(f"the relaxation brought atoms {i} and {j} to {distance:.3g} "
                           f"Angstrom apart, closer than {min_distance_angstrom:g} Angstrom: "
                           f"the model has no physical minimum there; {fix}")


def harmonic_phonons(structure: Atoms, model_path: str | os.PathLike, *,
                     supercell: Sequence[int] | np.ndarray | None = None,
                     displacement_angstrom: float = 0.01, relax: str = "positions",
                     relax_fmax_ev_per_angstrom: float = 1e-4, symprec: float = 1e-5,
                     progress: ProgressReporter | None = None,
                     min_atom_distance_angstrom: float = MIN_ATOM_DISTANCE_ANGSTROM
                     ) -> HarmonicPhonons:
    """Force constants of ``structure`` with the NEP model at ``model_path``.

    Parameters
    ----------
    structure
        A periodic structure (usually a primitive or conventional cell), Angstrom.
    model_path
        NEP4 model file (calorine's CPUNEP evaluates it).
    supercell
        Repetitions (one, three or nine integers) for the displaced supercells; default: the
        smallest diagonal supercell at least twice the model's cutoff wide.
    displacement_angstrom
        Finite displacement (phonopy's ``distance``), Angstrom.
    relax
        ``"positions"`` relaxes the atoms in the given cell (so a cell taken from NPT MD at a
        temperature is kept: the quasi-harmonic comparison); ``"cell"`` relaxes cell and
        atoms (the model's 0 K structure); ``"none"`` uses the structure as it is.
    relax_fmax_ev_per_angstrom
        Force convergence of the relaxation, eV/Angstrom.
    symprec
        Symmetry tolerance of phonopy, Angstrom.
    min_atom_distance_angstrom
        Atoms closer than this after the relaxation (or non-finite positions) stop the
        calculation with :class:`~mantid_mdinsim.errors.PhysicsError` (0: no check).
    """
    # calorine and phonopy take seconds to import; only the force constants need them.
    from ..atomistic import calorine_loading  # noqa: F401  - calorine without scikit-learn
    from calorine.calculators import CPUNEP
    from calorine.nep import read_model
    from phonopy import Phonopy

    progress = ensure_progress(progress)
    if relax not in RELAX_CHOICES:
        raise ParameterError("relax", f"'{relax}' is not a choice",
                             "choose one of: " + ", ".join(RELAX_CHOICES))
    if not displacement_angstrom > 0:
        raise ParameterError("displacement_angstrom", f"{displacement_angstrom:g} Angstrom is "
                             "out of range", "it must be > 0 (phonopy's default: 0.01)")
    model_path = Path(model_path)
    atoms = Atoms(structure.get_chemical_symbols(), positions=structure.get_positions(),
                  cell=structure.get_cell(), pbc=True, masses=structure.get_masses())
    calculator = CPUNEP(str(model_path))
    if relax != "none":
        atoms.calc = calculator
        _relax(atoms, relax_fmax_ev_per_angstrom, constant_cell=(relax == "positions"))
        _check_relaxed(atoms, min_atom_distance_angstrom)
    atoms.calc = calculator
    max_force = float(np.abs(atoms.get_forces()).max())
    atoms.calc = None
    progress.report(0.05, "structure ready")

    if supercell is None:
        model = read_model(str(model_path))
        cutoff = max(max(np.atleast_1d(model.radial_cutoff)),
                     max(np.atleast_1d(model.angular_cutoff)))
        supercell = automatic_supercell(atoms, float(cutoff))
    matrix = _supercell_matrix(supercell)
    supercell_atoms = len(atoms) * abs(round(np.linalg.det(matrix)))
    if supercell_atoms > MAX_SUPERCELL_ATOMS:
        # --supercell 100 (8 million atoms of silicon) ran on without end
        raise ParameterError("supercell", f"the displaced supercells would hold "
                             f"{supercell_atoms:,} atoms, more than the "
                             f"{MAX_SUPERCELL_ATOMS:,} a phonon calculation here takes",
                             "give fewer repetitions (twice the model's cutoff is enough; "
                             "leave --supercell out for that)")

    # primitive_matrix="P" keeps the given cell as the phonon cell (phonopy 4's default
    # 'auto' may change the basis or reduce a conventional cell), so the modes have the atoms
    # and the q-point coordinates of the structure file.
    phonon = Phonopy(_phonopy_atoms(atoms), supercell_matrix=matrix, primitive_matrix="P",
                     symprec=symprec, log_level=0)
    phonon.generate_displacements(distance=displacement_angstrom)
    phonon.forces = displacement_forces(phonon.supercells_with_displacements, calculator,
                                        progress.sub(0.05, 0.9),
                                        calculator_factory=functools.partial(CPUNEP,
                                                                             str(model_path)))
    # Compact force constants (primitive x supercell atoms): what euphonic keeps anyway, and a
    # file n_supercell times smaller than the full matrix.
    phonon.produce_force_constants(calculate_full_force_constants=False)
    force_constants = _euphonic_force_constants(phonon)
    progress.report(1.0, "force constants done")
    return HarmonicPhonons(force_constants=force_constants, structure=atoms, supercell=matrix,
                           phonopy=phonon, max_force_ev_per_angstrom=max_force)


def _euphonic_force_constants(phonon: "Phonopy") -> "ForceConstants":
    """euphonic's ForceConstants from a phonopy object, through phonopy's own files:
    euphonic's reader does the unit conversion and the change from phonopy's full supercell
    force constants to euphonic's compact form. The force constants go through HDF5 because
    reading them from YAML costs seconds even for a 128-atom supercell."""
    # euphonic and phonopy take seconds to import; only phonon work needs them.
    from euphonic import ForceConstants
    from phonopy.file_IO import write_force_constants_to_hdf5

    with tempfile.TemporaryDirectory(prefix="mdinsim-phonopy-") as folder:
        phonon.save(filename=str(Path(folder) / "phonopy.yaml"),
                    settings={"force_constants": False})
        write_force_constants_to_hdf5(phonon.force_constants,
                                      filename=str(Path(folder) / "force_constants.hdf5"),
                                      p2s_map=phonon.primitive.p2s_map)
        with contextlib.redirect_stdout(io.StringIO()):
            return ForceConstants.from_phonopy(path=folder, summary_name="phonopy.yaml",
                                               fc_name="force_constants.hdf5")


def load_phonons(path: str | os.PathLike) -> "ForceConstants | QpointPhononModes":
    """Phonons from a file, read by euphonic.

    * ``.yaml``: a phonopy parameter file with force constants (as written by
      :meth:`HarmonicPhonons.save`, or ``phonopy_params.yaml``/``phonopy.yaml`` with
      ``FORCE_CONSTANTS``/``force_constants.hdf5`` beside it) -> ``ForceConstants``;
    * ``.castep_bin``/``.check``: CASTEP force constants -> ``ForceConstants``;
    * ``.phonon``: CASTEP phonon modes at fixed q-points -> ``QpointPhononModes`` (the mesh
      is then the file's own).
    """
    from euphonic import ForceConstants, QpointPhononModes  # seconds to import; phonons only

    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "the phonon file does not exist",
                             fix="give a phonopy .yaml with force constants, a CASTEP "
                                 ".phonon, .castep_bin or .check file")
    suffix = path.suffix.lower()
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if suffix == ".yaml":
                return ForceConstants.from_phonopy(path=str(path.parent),
                                                   summary_name=path.name)
            if suffix in (".castep_bin", ".check"):
                return ForceConstants.from_castep(str(path))
            if suffix == ".phonon":
                return QpointPhononModes.from_castep(str(path))
    except Exception as error:  # euphonic's readers raise many types for bad files
        # the fix for the kind of file given (a CASTEP file was told about phonopy)
        fix = ("check that the file is complete; a phonopy file must hold force constants "
               "(phonopy --writefc or Phonopy.save(settings={'force_constants': True}))"
               if suffix == ".yaml" else "check that the file is complete, as CASTEP wrote it")
        raise InputFileError(path, f"euphonic cannot read it ({type(error).__name__}: "
                             f"{error})", fix=fix) from error
    raise InputFileError(path, f"unknown phonon file type '{suffix}'",
                         fix="give one of: " + ", ".join(PHONON_FILE_EXTENSIONS))


def mesh_modes(force_constants: "ForceConstants", mesh: Sequence[int] | None = None,
               qpoints: np.ndarray | None = None) -> "QpointPhononModes":
    """Phonon modes from euphonic's interpolation on a Monkhorst-Pack ``mesh`` (equal weights;
    the full mesh, not reduced by symmetry, because the second-order term needs the
    orientation of every q-point's displacements), or at explicit ``qpoints``.

    The acoustic sum rule is imposed in reciprocal space (euphonic's ``asr="reciprocal"``).
    """
    from euphonic.util import mp_grid  # euphonic takes seconds to import; phonons only

    if qpoints is None:
        if mesh is None:
            mesh = automatic_mesh(force_constants.crystal.cell_vectors.to("angstrom").magnitude)
        mesh = tuple(int(n) for n in mesh)
        if len(mesh) != 3 or min(mesh) < 1:
            raise ParameterError("mesh", f"{mesh} is not a q-mesh",
                                 "give three positive integers, e.g. --mesh 8 8 8")
        points = math.prod(mesh)
        if points > MAX_MESH_POINTS:
            # 100000^3 asked euphonic for 7 PiB: a MemoryError, not a message
            raise ParameterError("mesh", f"{' '.join(map(str, mesh))} is {points:.3g} "
                                 f"q-points, more than the {MAX_MESH_POINTS:,} a spectrum "
                                 "can hold", "give a coarser mesh (default: at most 0.2 "
                                 "1/Angstrom between q-points)")
        qpoints = mp_grid(mesh)
    qpoints = np.atleast_2d(np.asarray(qpoints, dtype=float))
    weights = np.full(len(qpoints), 1.0 / len(qpoints))
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        # euphonic warns that it runs serially when two OpenMP runtimes are loaded (numba's
        # and its own); the result is the same.
        warnings.filterwarnings("ignore", message="More than one OpenMP library")
        return force_constants.calculate_qpoint_phonon_modes(
            qpoints, weights=weights, asr="reciprocal", reduce_qpts=False)
