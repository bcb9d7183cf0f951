"""Species of trajectories that store type indices (NetCDF, as GPUMD's ``dump_netcdf``).

A type index is a position in a list of elements: for GPUMD with a NEP model, the list in the
model's first line (``nep4 2 Si O``). The MD step writes that list beside each trajectory, in a
species file ``<trajectory stem>.species.txt``::

    # mdinsim: element of each type index of trajectory.nc, in type order
    Si O

so that ``mdinsim sqw`` finds it on its own. ``--species-from FILE`` names another source: a NEP
model, a species file, or a structure file (anything ``ase.io.read`` reads) holding the same
atoms in the same order.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputFileError
from .atomic import write_text_atomic

SPECIES_SUFFIX = ".species.txt"


def species_file_for(trajectory: str | os.PathLike) -> Path:
    """The species file the MD step writes beside ``trajectory``."""
    trajectory = Path(trajectory)
    return trajectory.with_name(trajectory.stem + SPECIES_SUFFIX)


def write_species_file(trajectory: str | os.PathLike, elements: list[str]) -> Path:
    """Record the element of each type index beside ``trajectory`` (atomically)."""
    path = species_file_for(trajectory)
    write_text_atomic(path, f"# mdinsim: element of each type index of "
                      f"{Path(trajectory).name}, in type order\n" + " ".join(elements) + "\n")
    return path


@dataclass(frozen=True)
class SpeciesSource:
    """Either ``elements`` (type index -> symbol) or ``per_atom`` (a symbol per atom)."""

    path: Path
    elements: tuple[str, ...] | None = None
    per_atom: tuple[str, ...] | None = None


def read_species_source(path: str | os.PathLike) -> SpeciesSource:
    """A NEP model, a species file or a structure file, recognised from its content."""
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "the species file does not exist",
                             fix="give a NEP model, a species file or a structure file with "
                             "--species-from")
    first = ""
    try:
        with open(path, "rb") as handle:
            head = handle.read(65536).decode(errors="replace")
        lines = [line for line in head.splitlines() if line.strip()
                 and not line.lstrip().startswith("#")]
        first = lines[0] if lines else ""
    except OSError as error:
        raise InputFileError(path, f"cannot be read ({error.strerror})") from None
    words = first.split()
    if words and words[0].lower().startswith("nep"):
        try:
            count = int(words[1])
            elements = tuple(words[2:2 + count])
        except (IndexError, ValueError):
            count, elements = -1, ()
        if len(elements) != count:
            raise InputFileError(path, "its first line is not a NEP header ('nep4 <number of "
                                 "elements> <elements>')", where="line 1")
        return SpeciesSource(path, elements=elements)
    if path.name.endswith(SPECIES_SUFFIX):
        if not words:
            raise InputFileError(path, "lists no elements", fix="write the element of each "
                                 "type index on one line, in type order")
        return SpeciesSource(path, elements=tuple(words))
    from ase.io import read  # ase.io takes seconds to import; only a structure file needs it

    try:
        atoms = read(path)
    except Exception as error:  # ase raises many types for unreadable files
        raise InputFileError(path, f"is neither a NEP model, a species file ({SPECIES_SUFFIX}) "
                             f"nor a structure ase can read ({error})") from None
    return SpeciesSource(path, per_atom=tuple(atoms.get_chemical_symbols()))
