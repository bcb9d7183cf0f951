"""The inputs several steps share: the structure, the NEP model, and whether the one fits the
other (MD, the harmonic phonons and predict read them alike).

Each check runs where the input enters and raises :class:`InputFileError` naming the file, the
field and the fix, before any run starts.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

from ..errors import InputFileError, ParameterError
from . import MIN_ATOM_DISTANCE_ANGSTROM
from .species import species_not_covered



@dataclass(frozen=True)
class NEPModelInfo:
    """What the MD step needs to know of a NEP model file.

    ``version`` is 3 or 4 (GPUMD runs both; calorine's CPUNEP only NEP4), ``model_type`` the
    first token (``nep4``, ``nep4_zbl``, ``nep3_dipole`` ...), ``species`` the chemical symbols
    it covers, in the file's order.
    """

    path: Path
    version: int
    model_type: str
    species: tuple[str, ...]

    @property
    def is_potential(self) -> bool:
        """A potential (energy, forces, virial), not a dipole or polarizability model."""
        return not any(word in self.model_type for word in ("dipole", "polarizability"))

    @property
    def runs_on_cpu(self) -> bool:
        # calorine's CPUNEP evaluates NEP4 only (a NEP5 header had been passed to its reader,
        # whose refusal came with the advice to check that the file is complete)
        return self.version == 4


def read_model_info(path: str | Path) -> NEPModelInfo:
    """Read the header line of a NEP model file (``nep4 2 O H``, ``nep3_zbl 1 C``).

    The header is parsed here rather than with :func:`calorine.nep.read_model` because that
    reader accepts NEP4 only, and GPUMD runs NEP3 models too (the C/H ensemble of the shared
    data is NEP3). The whole file is checked by calorine where the CPU backend loads it.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "the NEP model file does not exist",
                             fix="give the nep.txt written by 'nep' or 'mdinsim train' with "
                                 "--model")
    try:
        with open(path, "r", errors="replace") as handle:
            first = handle.readline().split()
    except OSError as error:
        raise InputFileError(path, f"cannot be read ({error})") from error
    fix = "a NEP model file starts with a line such as 'nep4 2 O H'"
    if not first or not first[0].lower().startswith("nep"):
        raise InputFileError(path, "is not a NEP model file", where="line 1", fix=fix)
    token = first[0].lower()
    try:
        version = int(token[3])
        n_species = int(first[1])
    except (IndexError, ValueError):
        raise InputFileError(path, f"malformed header '{' '.join(first)}'", where="line 1",
                             fix=fix) from None
    species = tuple(first[2:2 + n_species])
    if len(species) != n_species or n_species < 1:
        raise InputFileError(path, f"the header names {len(species)} species but announces "
                             f"{n_species}", where="line 1", fix=fix)
    _check_finite_parameters(path)
    info = NEPModelInfo(path.resolve(), version, token, species)
    if not info.is_potential:
        raise InputFileError(path, f"is a {token} model (dipole or polarizability), not a "
                             "potential", where="line 1",
                             fix="give a NEP potential (energies, forces, virials)")
    return info


#: What a non-finite number looks like in a model file: nan, inf, or an exponent of three
#: digits (1e400 reads as inf); only files that hold one are read number by number.
_NOT_FINITE_HINT = re.compile(r"nan|inf|[eE][+]?\d{3}", re.IGNORECASE)


def _check_finite_parameters(path: Path) -> None:
    """Raise :class:`InputFileError` at the first number of the model that is not finite: a
    training that diverged writes NaN, and calorine's reader took it (CPUNEP then failed with
    an internal error; GPUMD would run on NaN forces)."""
    try:
        text = path.read_text(errors="replace")
    except OSError as error:
        raise InputFileError(path, f"cannot be read ({error})") from error
    if not _NOT_FINITE_HINT.search(text):
        return
    for number, line in enumerate(text.splitlines(), start=1):
        for word in line.split():
            try:
                value = float(word)
            except ValueError:
                continue
            if not math.isfinite(value):
                raise InputFileError(path, f"'{word}' is not a finite number: the model's "
                                     "parameters are damaged (a training that diverged writes "
                                     "NaN)", where=f"line {number}",
                                     fix="train the model again, or use an earlier nep.txt")


def check_model_loads_on_cpu(info: NEPModelInfo) -> None:
    """Raise :class:`InputFileError` unless calorine's CPUNEP can use the model."""
    if not info.runs_on_cpu:
        raise InputFileError(info.path, f"is a NEP{info.version} model, which calorine's "
                             "CPUNEP (the CPU backend) does not evaluate", where="line 1",
                             fix="run it with GPUMD (--backend gpumd on a GPU machine) or "
                                 "retrain it as NEP4")
    from . import calorine_loading  # noqa: F401  - calorine without scikit-learn
    from calorine.nep import read_model  # calorine takes seconds to import; CPU path only

    try:
        read_model(str(info.path))
    except (ValueError, OSError, IndexError) as error:
        raise InputFileError(info.path, f"calorine cannot read the model ({error})",
                             fix="check that the file is complete (a nep.txt written by "
                                 "'nep')") from error


def shortest_distance(atoms: Atoms, within_angstrom: float) -> tuple[float, int, int] | None:
    """(distance in Angstrom, atom i, atom j) of the closest pair of atoms (periodic images
    included) if closer than ``within_angstrom``, else None."""
    if within_angstrom <= 0 or len(atoms) == 0:
        return None
    first, second, distance = neighbor_list("ijd", atoms, within_angstrom,
                                            self_interaction=False)
    if distance.size == 0:
        return None
    closest = int(np.argmin(distance))
    return float(distance[closest]), int(first[closest]), int(second[closest])


def check_atom_distances(atoms: Atoms, min_distance_angstrom: float, path: str | Path,
                         where: str | None = None) -> None:
    """Raise :class:`InputFileError` where two atoms are closer than ``min_distance_angstrom``
    (0 switches the check off)."""
    closest = shortest_distance(atoms, min_distance_angstrom)
    if closest is None:
        return
    distance, i, j = closest
    symbols = atoms.get_chemical_symbols()
    raise InputFileError(path, f"atoms {i} ({symbols[i]}) and {j} ({symbols[j]}) are "
                         f"{distance:.3g} Angstrom apart, closer than the "
                         f"{min_distance_angstrom:g} Angstrom two atoms can be: overlapping "
                         "atoms make the forces explode", where=where,
                         fix="remove the duplicated atom (check partial occupancies of a CIF "
                             "and the length unit), or, if this is meant, lower "
                             "--min-atom-distance (0 switches the check off)")


def load_structure(path: str | Path,
                   min_atom_distance_angstrom: float = MIN_ATOM_DISTANCE_ANGSTROM) -> Atoms:
    """Read the starting structure with :func:`ase.io.read` (its last frame) and check it.

    The structure must be periodic in three dimensions with a non-degenerate cell, finite
    coordinates, and no two atoms closer than ``min_atom_distance_angstrom`` (0: no check).
    """
    import ase.io  # ase.io loads every file format, which takes seconds

    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "the structure file does not exist",
                             fix="give a CIF, POSCAR or extended XYZ file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # spglib/CIF chatter is not the user's concern
            atoms = ase.io.read(str(path), index=-1)
    except Exception as error:  # ASE raises many types for unreadable files
        detail = str(error).strip()
        detail = f"{type(error).__name__}: {detail}" if detail else type(error).__name__
        hint = ""
        if path.suffix.lower() == ".cif":
            # ASE's CIF reader fails with StopIteration, AssertionError or AttributeError on
            # a CIF without a data block, cell or atom sites: say what a CIF needs.
            hint = ("; a CIF needs a data_ block, the cell (_cell_length_a/b/c, "
                    "_cell_angle_alpha/beta/gamma) and an atom-site loop (_atom_site_label or "
                    "_atom_site_type_symbol, _atom_site_fract_x/y/z)")
        raise InputFileError(path, f"cannot be read as a structure ({detail}){hint}",
                             fix="give a CIF, POSCAR/CONTCAR or extended XYZ file that "
                                 "ase.io.read understands") from None
    if isinstance(atoms, list):  # pragma: no cover - index=-1 returns one Atoms
        atoms = atoms[-1]
    if len(atoms) == 0:
        raise InputFileError(path, "holds no atoms")
    _check_ordered(atoms, path)
    _check_poscar_counts(path, len(atoms))
    if not np.all(np.isfinite(np.asarray(atoms.cell))):
        raise InputFileError(path, "the cell holds values that are not finite numbers",
                             where="cell", fix="repair the lattice vectors")
    positions = atoms.get_positions()
    if not np.all(np.isfinite(positions)):
        atom = int(np.argwhere(~np.isfinite(positions))[0][0])
        raise InputFileError(path, f"atom {atom} has a coordinate that is not a finite number "
                             "(NaN or inf)", where=f"atom {atom}",
                             fix="repair the coordinates of the structure")
    if atoms.cell.rank < 3 or abs(atoms.get_volume()) < 1e-6:
        raise InputFileError(path, "has no three-dimensional cell",
                             fix="MD of a crystal, liquid or molecular crystal needs a "
                                 "periodic cell; add a Lattice (extended XYZ) or use a CIF")
    if not all(atoms.pbc):
        # A file with a cell but pbc=F (plain XYZ with a Lattice) is almost always meant to be
        # periodic; the NEP engines treat every direction as periodic here.
        atoms.pbc = True
    atoms = Atoms(atoms.get_chemical_symbols(), positions=atoms.get_positions(),
                  cell=atoms.get_cell(), pbc=True, masses=atoms.get_masses())
    check_atom_distances(atoms, min_atom_distance_angstrom, path)
    return atoms


def _check_poscar_counts(path: Path, n_atoms: int) -> None:
    """Raise :class:`InputFileError` where a POSCAR holds a coordinate line right after the
    ``n_atoms`` its counts line announces: ASE (and VASP) read only those, so a counts line
    one short silently dropped an atom. (A CONTCAR's velocities follow a blank line.)"""
    from ase.io.formats import filetype

    try:
        kind = filetype(str(path), guess=False)
    except Exception:  # ASE's UnknownFileTypeError and others: read by another reader
        return
    if kind != "vasp":
        return
    try:
        lines = path.read_text(errors="replace").splitlines()
        counts = 5 if lines[5].split()[0].isdigit() else 6
        mode = counts + 1
        if lines[mode].strip()[:1] in "sS":  # Selective dynamics
            mode += 1
        after = lines[mode + 1 + n_atoms].split()
        [float(word) for word in after[:3]]
    except (IndexError, ValueError, OSError):
        return  # no line after the positions, or not a coordinate line
    if len(after) >= 3:
        raise InputFileError(path, f"holds a coordinate line after the {n_atoms} atoms its "
                             f"counts line ('{lines[counts].strip()}') announces",
                             where=f"line {mode + 2 + n_atoms}",
                             fix="correct the counts line (line "
                                 f"{counts + 1}) to the number of coordinate lines, or remove "
                                 "the extra lines (a CONTCAR's velocities follow a blank line)")


#: A site is fully occupied within this much (CIFs write 0.9999 or 1.0000(2)).
_FULL_OCCUPANCY_TOLERANCE = 0.01


def _check_ordered(atoms: Atoms, path: Path) -> None:
    """Raise :class:`InputFileError` for a site of partial or mixed occupancy (a disordered
    CIF): ASE puts one whole atom of the majority species on it, so an Si0.5Ge0.5 site
    became pure Ge and a 70 % site a full one, with no word; MD needs an ordered cell."""
    occupancy = atoms.info.get("occupancy") or {}
    for site, fractions in occupancy.items():  # keyed by the row of the atom-site loop
        total = sum(float(value) for value in fractions.values())
        if len(fractions) == 1 and abs(total - 1.0) <= _FULL_OCCUPANCY_TOLERANCE:
            continue
        shares = ", ".join(f"{symbol} {float(value):g}" for symbol, value in fractions.items())
        raise InputFileError(path, f"atom site {int(site) + 1} (row of the atom-site loop) "
                             f"is partially occupied ({shares}): a disordered "
                             "structure, which MD cannot run as given (it would put one whole "
                             "atom of the majority species there)", where="_atom_site_occupancy",
                             fix="build an ordered cell (a supercell with the atoms placed, "
                                 "e.g. with pymatgen's OrderDisorderedStructureTransformation "
                                 "or by hand) and give it as CIF, POSCAR or extended XYZ")


def check_species(atoms: Atoms, model: NEPModelInfo, structure_path: str | Path) -> None:
    """Every species of the structure must be one the model was trained on."""
    missing = species_not_covered(atoms, model.species)
    if missing:
        raise InputFileError(structure_path, f"contains {', '.join(missing)}, which the NEP "
                             f"model {model.path.name} does not cover (it has "
                             f"{', '.join(model.species)})",
                             fix="use a model trained on every species of the structure")


#: The most atoms of a supercell: GPUMD runs about ten million atoms on one large GPU.
MAX_SUPERCELL_ATOMS = 10_000_000


def build_supercell(atoms: Atoms, repetitions: list[int] | tuple[int, ...]) -> Atoms:
    """The input cell repeated ``repetitions`` = (n_a, n_b, n_c) times."""
    repetitions = tuple(int(n) for n in repetitions)
    if len(repetitions) != 3:
        raise ParameterError("supercell", f"{len(repetitions)} values given",
                             "give three repetitions, e.g. --supercell 4 4 4")
    atom_count = len(atoms) * int(np.prod(repetitions, dtype=np.int64))
    if atom_count > MAX_SUPERCELL_ATOMS:
        # Checked before ase builds it: a 1000x1000x1000 request would otherwise die in a
        # MemoryError (tens of GiB) rather than tell the user.
        raise ParameterError("supercell", f"{' '.join(map(str, repetitions))} gives {atom_count:,} "
                             f"atoms, more than the {MAX_SUPERCELL_ATOMS:,} one run can hold",
                             "give fewer repetitions (a few thousand atoms resolve most spectra)")
    if atom_count < 2:
        # One atom has no vibration once the centre-of-mass motion is removed: its
        # temperature is 0/0 and the run would stop as a "runaway" at NaN K.
        raise ParameterError("supercell", f"{' '.join(map(str, repetitions))} gives "
                             f"{atom_count} atom, which has no vibrations to simulate",
                             "repeat the cell, e.g. --supercell 3 3 3")
    return atoms.repeat(repetitions)


def is_orthogonal(cell: np.ndarray, tolerance: float = 1e-8) -> bool:
    """Whether a cell (rows are a, b, c) is a diagonal matrix (GPUMD's isotropic barostat
    needs one)."""
    cell = np.asarray(cell, dtype=float)
    off_diagonal = cell - np.diag(np.diag(cell))
    return bool(np.all(np.abs(off_diagonal) <= tolerance * np.abs(cell).max()))
