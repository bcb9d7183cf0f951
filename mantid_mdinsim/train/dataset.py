"""Reading and validating training and test sets.

Accepted: extended XYZ as written by ASE (``energy=``, ``stress=``, ``forces:R:3``) or as GPUMD's
``train.xyz`` (``force:R:3``, ``virial=`` in eV, keywords in any letter case, which ASE's reader
does not accept as such), and ASE databases (``.db``). Every structure is checked at the door and
returned in one form: an :class:`ase.Atoms` with a ``SinglePointCalculator`` holding the energy
(eV), the forces (eV/Angstrom) and, where known, the stress (eV/Angstrom^3, ASE's sign: positive
when stretched), so that calorine writes it for ``nep`` and neppo reads it back.

GPUMD treats every structure as periodic in all three directions (``doc/nep/input_files/
train_test_xyz.rst``), so a structure needs a cell, and along a non-periodic direction the cell
must leave at least the radial cutoff of vacuum, or atoms would see their images.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.data import atomic_numbers, chemical_symbols
from ase.stress import full_3x3_to_voigt_6_stress, voigt_6_to_full_3x3_stress

from ..atomistic.species import species_not_covered
from ..errors import InputFileError, ParameterError
from ..io.atomic import atomic_path

#: GPUMD warns below this energy per atom: nep trains in single precision.
SINGLE_PRECISION_ENERGY_LIMIT_EV_PER_ATOM = -100.0

#: info keys kept on normalised structures (others could hold values ``nep`` cannot parse).
KEPT_INFO_KEYS = ("config_type", "weight")


@dataclass
class Dataset:
    """Validated structures and where each came from (``file, frame i``) for messages."""

    structures: list[Atoms] = field(default_factory=list)
    sources: list[tuple[Path, int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.structures)

    def __add__(self, other: "Dataset") -> "Dataset":
        return Dataset(self.structures + other.structures, self.sources + other.sources)

    @property
    def species(self) -> list[str]:
        """Species present, ordered by atomic number."""
        numbers = sorted({int(z) for atoms in self.structures for z in atoms.numbers})
        return [chemical_symbols[z] for z in numbers]

    @property
    def n_atoms(self) -> int:
        return sum(len(atoms) for atoms in self.structures)

    def subset(self, indices: Iterable[int]) -> "Dataset":
        indices = list(indices)
        return Dataset([self.structures[i] for i in indices], [self.sources[i] for i in indices])


# -- reading ----------------------------------------------------------------------------------
_CANONICAL_KEYS = {"lattice": "Lattice", "properties": "Properties"}
_KEY_PATTERN = re.compile(r"(\w+)\s*=\s*")


def _normalise_comment(line: str) -> str:
    """GPUMD's comment line, case-insensitive and with spaces allowed around '=', in the form
    ASE's extended-XYZ reader needs (``Lattice=``, ``Properties=``, no spaces around '=')."""
    def replace(match: re.Match) -> str:
        key = match.group(1)
        return _CANONICAL_KEYS.get(key.lower(), key) + "="
    return _KEY_PATTERN.sub(replace, line)


def _extxyz_text_for_ase(path: Path) -> io.StringIO | None:
    """The file rewritten for ASE where its comment lines use GPUMD's freedoms, else None."""
    with open(path, errors="replace") as handle:
        handle.readline()
        second = handle.readline()
    if "Lattice=" in second and "Properties=" in second:
        return None
    lines = path.read_text(errors="replace").splitlines(keepends=True)
    position = 0
    while position < len(lines):
        count_line = lines[position].strip()
        if not count_line:
            position += 1
            continue
        try:
            n_atoms = int(count_line.split()[0])
        except ValueError:
            raise InputFileError(path, f"expected the number of atoms, found '{count_line[:40]}'",
                                 where=f"line {position + 1}",
                                 fix="check that the file is extended XYZ") from None
        if position + 1 < len(lines):
            lines[position + 1] = _normalise_comment(lines[position + 1])
        position += n_atoms + 2
    return io.StringIO("".join(lines))


def read_structures_file(path: str | Path) -> list[Atoms]:
    """All structures of one file (extended XYZ, GPUMD train.xyz, ASE database or any format
    ASE reads), unvalidated. Raises :class:`InputFileError` when it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found", fix="give an existing training-set file")
    suffix = path.suffix.lower()
    try:
        if suffix == ".db":
            import ase.db  # ase.db: seconds to import, only for .db files

            with ase.db.connect(str(path)) as database:
                structures = [row.toatoms() for row in database.select()]
        elif suffix in (".xyz", ".extxyz"):
            from ase.io import read  # ase.io loads every file format (seconds)

            text = _extxyz_text_for_ase(path)
            structures = read(text if text is not None else str(path), index=":",
                              format="extxyz")
        else:
            from ase.io import read  # ase.io loads every file format (seconds)

            structures = read(str(path), index=":")
    except InputFileError:
        raise
    except Exception as error:  # ASE raises many types for malformed files
        raise InputFileError(path, f"could not be read ({type(error).__name__}: {error})",
                             fix="give extended XYZ (as written by ase.io.write or GPUMD) or "
                                 "an ASE database (.db)") from error
    if isinstance(structures, Atoms):
        structures = [structures]
    if not structures:
        raise InputFileError(path, "holds no structures", fix="give a file with structures")
    return list(structures)


# -- targets ----------------------------------------------------------------------------------
def _calculator_result(atoms: Atoms, name: str):
    calc = atoms.calc
    if calc is None:
        return None
    return getattr(calc, "results", {}).get(name)


def _energy_ev(atoms: Atoms):
    energy = _calculator_result(atoms, "energy")
    if energy is None:
        energy = _calculator_result(atoms, "free_energy")
    if energy is None:
        energy = atoms.info.get("energy")
    return energy


def _forces_ev_per_angstrom(atoms: Atoms):
    forces = _calculator_result(atoms, "forces")
    if forces is None:
        for name in ("forces", "force"):  # ASE's name, GPUMD's name
            if name in atoms.arrays:
                forces = atoms.arrays[name]
                break
    return forces


def _stress_ev_per_cubic_angstrom(atoms: Atoms, volume: float):
    """ASE-sign Voigt stress from the calculator, a stress= or GPUMD's virial= (eV; virial =
    -volume * stress, GPUMD's train_test_xyz.rst), or None."""
    stress = _calculator_result(atoms, "stress")
    if stress is None and "stress" in atoms.info:
        stress = atoms.info["stress"]
    if stress is not None:
        stress = np.asarray(stress, dtype=float)
        if stress.shape == (9,):
            stress = stress.reshape(3, 3)
        if stress.shape == (3, 3):
            stress = full_3x3_to_voigt_6_stress(stress)
        return stress
    if "virial" in atoms.info:
        virial = np.asarray(atoms.info["virial"], dtype=float).reshape(-1)
        if virial.size == 9:
            virial = virial.reshape(3, 3)
        elif virial.size == 6:
            virial = voigt_6_to_full_3x3_stress(virial)
        return full_3x3_to_voigt_6_stress(-virial / volume)
    return None


def _required(value, what: str, path: Path, role: str, where: str, fix: str):
    """``value``, or the error that a structure has no reference ``what`` (energy, forces)."""
    if value is None:
        raise InputFileError(path, f"no reference {what} ({role})", where=where, fix=fix)
    return value


def normalise_structure(atoms: Atoms, path: Path, index: int, role: str = "training set"
                        ) -> Atoms:
    """One structure checked and returned with a SinglePointCalculator of its targets."""
    where = f"frame {index}"
    n_atoms = len(atoms)
    if n_atoms == 0:
        raise InputFileError(path, "the structure has no atoms", where=where,
                             fix="remove the empty frame")
    energy = _required(_energy_ev(atoms), "energy", path, role, where,
                       "give the total energy in eV as energy=... on the comment line (extended "
                       "XYZ) or store it with the structure (ASE database)")
    try:
        energy = float(np.asarray(energy).reshape(()))
    except (TypeError, ValueError):
        raise InputFileError(path, f"the energy {energy!r} is not one number", where=where,
                             fix="give the total energy of the structure in eV") from None
    if not np.isfinite(energy):
        raise InputFileError(path, f"the energy is {energy}", where=where,
                             fix="remove the frame or give a finite energy in eV")
    forces = _required(_forces_ev_per_angstrom(atoms), "forces", path, role, where,
                       "give forces in eV/Angstrom as a forces:R:3 (or GPUMD's force:R:3) "
                       "column of Properties=..., or store them with the structure (ASE "
                       "database)")
    forces = np.asarray(forces, dtype=float)
    if forces.shape != (n_atoms, 3):
        raise InputFileError(path, f"forces have shape {forces.shape} for {n_atoms} atoms",
                             where=where, fix="give three force components per atom")
    if not np.all(np.isfinite(forces)):
        bad = int(np.argwhere(~np.isfinite(forces))[0, 0])
        raise InputFileError(path, f"the force on atom {bad} is not finite", where=where,
                             fix="remove the frame or recompute its forces")
    cell = atoms.cell
    volume = abs(float(np.linalg.det(cell.array))) if cell.rank == 3 else 0.0
    if volume < 1e-6:
        raise InputFileError(
            path, "the structure has no cell (or a cell of zero volume)", where=where,
            fix="GPUMD treats every structure as periodic and needs a cell (Lattice=...); "
                "put a molecule or cluster in a box with at least the radial cutoff of "
                "vacuum around it, e.g. ase's atoms.center(vacuum=...)")
    stress = _stress_ev_per_cubic_angstrom(atoms, volume)
    if stress is not None and (stress.shape != (6,) or not np.all(np.isfinite(stress))):
        raise InputFileError(path, "the stress/virial is not a finite 3x3 tensor", where=where,
                             fix="give virial=\"9 values\" in eV or stress=\"9 values\" in "
                                 "eV/Angstrom^3, or leave it out")
    if energy / n_atoms < SINGLE_PRECISION_ENERGY_LIMIT_EV_PER_ATOM:
        warnings.warn(f"{path}, {where}: the energy is {energy / n_atoms:.1f} eV/atom; GPUMD "
                      "trains in single precision and loses accuracy below -100 eV/atom "
                      "(shift the reference energies, e.g. by isolated-atom energies)",
                      stacklevel=2)
    clean = Atoms(numbers=atoms.numbers, positions=atoms.positions, cell=cell.array,
                  pbc=atoms.pbc)
    for key in KEPT_INFO_KEYS:
        if key in atoms.info:
            value = atoms.info[key]
            if key == "config_type":
                value = re.sub(r"\s+", "_", str(value))
            else:
                value = float(value)
            clean.info[key] = value
    results = {"energy": energy, "forces": forces}
    if stress is not None:
        results["stress"] = stress
    clean.calc = SinglePointCalculator(clean, **results)
    return clean


def load_dataset(paths: str | Path | Sequence[str | Path], role: str = "training set"
                 ) -> Dataset:
    """Read, check and normalise every structure of ``paths`` (concatenated in order)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    dataset = Dataset()
    for path in paths:
        path = Path(path)
        for index, atoms in enumerate(read_structures_file(path)):
            dataset.structures.append(normalise_structure(atoms, path, index, role))
            dataset.sources.append((path, index))
    if not dataset.structures:
        raise ParameterError("training_set" if role == "training set" else "test_set",
                             f"the {role} holds no structures", "give at least one file")
    return dataset


def dataset_from_structures(structures: Sequence[Atoms], label: str = "<structures>",
                            role: str = "training set") -> Dataset:
    """Check and normalise in-memory structures (for scripts); ``label`` names them in errors."""
    dataset = Dataset()
    for index, atoms in enumerate(structures):
        dataset.structures.append(normalise_structure(atoms, Path(label), index, role))
        dataset.sources.append((Path(label), index))
    return dataset


# -- consistency checks ------------------------------------------------------------------------
def resolve_species(training: Dataset, requested: Sequence[str] | None) -> list[str]:
    """The model species: ``requested`` (checked) or those of the training set by atomic number.

    Every species of the training set must be among them, and every requested species must
    occur in the training set (a species without data gets an untrained descriptor).
    """
    present = training.species
    if not requested:
        return present
    requested = list(requested)
    unknown = [s for s in requested if s not in atomic_numbers or s == "X"]
    if unknown:
        raise ParameterError("species", f"'{unknown[0]}' is not a chemical symbol",
                             "give symbols such as Si, O, H (case matters)")
    if len(set(requested)) != len(requested):
        raise ParameterError("species", "a species is listed twice", "list each once")
    missing_data = [s for s in requested if s not in present]
    if missing_data:
        raise ParameterError("species", f"no training structure contains {missing_data[0]}",
                             "add training data with it, or leave it out of --species")
    check_species(training, requested, "training set")
    return requested


def check_species(dataset: Dataset, species: Sequence[str], role: str) -> None:
    """Every atom of ``dataset`` must be of one of ``species``; name the first that is not."""
    for atoms, (path, index) in zip(dataset.structures, dataset.sources):
        extra = species_not_covered(atoms, species)
        if extra:
            if role == "training set":
                fix = "add it to --species / Species, or remove these structures"
            else:
                fix = (f"the model cannot predict it: add training structures with "
                       f"{extra[0]}, or remove this structure from the {role}")
            raise InputFileError(path, f"species {', '.join(extra)} is not among the model "
                                 f"species ({' '.join(species)}) [{role}]",
                                 where=f"frame {index}", fix=fix)


def check_vacuum(dataset: Dataset, radial_cutoff_angstrom: float) -> None:
    """Along each non-periodic direction the cell must leave at least the cutoff of vacuum:
    GPUMD applies periodic boundaries in all directions regardless of ``pbc``."""
    for atoms, (path, index) in zip(dataset.structures, dataset.sources):
        if all(atoms.pbc):
            continue
        cell = atoms.cell.array
        volume = abs(np.linalg.det(cell))
        for axis in range(3):
            if atoms.pbc[axis]:
                continue
            normal = np.cross(cell[(axis + 1) % 3], cell[(axis + 2) % 3])
            area = np.linalg.norm(normal)
            thickness = volume / area
            heights = atoms.positions @ (normal / area)
            vacuum = thickness - (heights.max() - heights.min())
            if vacuum < radial_cutoff_angstrom:
                raise InputFileError(
                    path, f"along the non-periodic cell vector {axis + 1} the cell leaves "
                    f"{vacuum:.2f} Angstrom of vacuum, less than the radial cutoff "
                    f"{radial_cutoff_angstrom:g} Angstrom", where=f"frame {index}",
                    fix="GPUMD treats every structure as periodic; enlarge the cell (e.g. "
                        f"atoms.center(vacuum={radial_cutoff_angstrom / 2 + 0.5:g}))")


def write_structures_file(path: str | Path, structures: Sequence[Atoms]) -> None:
    """Write normalised structures as extended XYZ that ``nep`` and neppo read (calorine's
    writer), atomically."""
    from calorine.nep import write_structures  # calorine: seconds to import, only on this path


    with atomic_path(path) as temporary, warnings.catch_warnings():
        # calorine warns for every structure without a stress, which is allowed.
        warnings.filterwarnings("ignore", message="Failed to retrieve stresses")
        write_structures(str(temporary), list(structures))
