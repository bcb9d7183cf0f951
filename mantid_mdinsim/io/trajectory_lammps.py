"""LAMMPS text dumps (``dump custom``), streamed frame by frame.

Each frame::

    ITEM: TIMESTEP
    1000
    ITEM: NUMBER OF ATOMS
    64
    ITEM: BOX BOUNDS [xy xz yz] pp pp pp
    xlo_bound xhi_bound [xy]
    ylo_bound yhi_bound [xz]
    zlo_bound zhi_bound [yz]
    ITEM: ATOMS id element x y z ...

Species come from the ``element`` column (``dump_modify ... element Si O``); numeric ``type``
alone does not say which element an atom is, so such a dump is refused with that fix. Positions
are ``x y z``, unwrapped ``xu yu zu`` or scaled ``xs ys zs`` (also ``xsu``...). Atoms are put in
the order of their ``id`` in every frame (LAMMPS writes them in processor order).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np

from .trajectory import check_symbols
from .trajectory_text import (COLUMN_IGNORED, COLUMN_SPECIES, STATUS_BAD_NUMBER,
                              STATUS_NEED_MORE, STATUS_OK, ChunkedText, TextTrajectoryReader,
                              species_hashes)

#: What :meth:`LammpsDumpReader._next_frame` gives for a frame before the first one read.
_SKIPPED = np.empty((0, 3))
_POSITION_SETS = (("x", "y", "z", False), ("xu", "yu", "zu", False), ("xs", "ys", "zs", True),
                  ("xsu", "ysu", "zsu", True))


def _cell_from_bounds(bounds: np.ndarray, tilts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lattice vectors (rows) and origin from LAMMPS' bounding box and tilt factors."""
    xy, xz, yz = tilts
    xlo = bounds[0, 0] - min(0.0, xy, xz, xy + xz)
    xhi = bounds[0, 1] - max(0.0, xy, xz, xy + xz)
    ylo = bounds[1, 0] - min(0.0, yz)
    yhi = bounds[1, 1] - max(0.0, yz)
    zlo, zhi = bounds[2]
    cell = np.array([[xhi - xlo, 0.0, 0.0], [xy, yhi - ylo, 0.0], [xz, yz, zhi - zlo]])
    return cell, np.array([xlo, ylo, zlo])


class LammpsDumpReader(TextTrajectoryReader):
    """LAMMPS ``dump custom`` text files with an ``element`` column."""

    format = "lammps"
    time_field = "TIMESTEP"

    def _read_first_frame(self, text: ChunkedText, header) -> None:
        self.n_atoms, self.cell, _, columns = header
        self._columns = columns
        self._roles, self._scaled, element_column = self._roles_for(columns)
        rows = self._first_atom_rows(text)
        try:
            ids = np.array([int(float(words[self._id_column])) for words in rows]) \
                if self._id_column >= 0 else np.arange(self.n_atoms)
            tokens = [words[element_column].decode(errors="replace") for words in rows]
        except (IndexError, ValueError, UnicodeDecodeError):
            raise self.frame_error(0, "an atom line is garbled", line=10) from None
        order = np.argsort(ids, kind="stable")
        self.species = [tokens[i] for i in order]
        check_symbols(self.path, self.species, "frame 0")
        self._hashes = species_hashes(self.species)

    def _read_header(self, text: ChunkedText, frame: int):
        """(atoms, cell, origin, column names) of the next frame, or None at the end."""
        lines = []
        while len(lines) < 9:
            line = text.readline()
            if line is None:
                if not lines or not any(item.strip() for item in lines):
                    return None
                raise self.frame_error(frame, "the file ends inside the frame header",
                                       "the file is truncated")
            if not lines and not line.strip():
                continue
            lines.append(line.decode(errors="replace"))
        start = text.line_number - 8
        expected = ("ITEM: TIMESTEP", "ITEM: NUMBER OF ATOMS", "ITEM: BOX BOUNDS")
        try:
            self.frame_time = float(lines[1].split()[0])
        except (ValueError, IndexError):
            self.frame_time = None
        for offset, label in zip((0, 2, 4), expected):
            if not lines[offset].startswith(label):
                raise self.frame_error(frame, f"expected '{label}', found "
                                       f"'{lines[offset][:40]}'", "the frame is garbled",
                                       line=start + offset)
        if not lines[8].startswith("ITEM: ATOMS"):
            raise self.frame_error(frame, f"expected 'ITEM: ATOMS', found '{lines[8][:40]}'",
                                   "the frame is garbled", line=start + 8)
        try:
            n_atoms = int(lines[3])
            box = np.array([[float(v) for v in lines[5 + d].split()] for d in range(3)],
                           dtype=object)
            bounds = np.array([[float(row[0]), float(row[1])] for row in box])
            triclinic = "xy" in lines[4].split()
            tilts = np.array([float(box[d][2]) for d in range(3)]) if triclinic \
                else np.zeros(3)
        except (ValueError, IndexError):
            raise self.frame_error(frame, "the number of atoms or the box cannot be read",
                                   "the frame is garbled", line=start + 3) from None
        cell, origin = _cell_from_bounds(bounds, tilts)
        columns = lines[8].split()[2:]
        return n_atoms, cell, origin, columns

    def _roles_for(self, columns: list[str]):
        self._id_column = columns.index("id") if "id" in columns else -1
        if "element" not in columns:
            raise self.frame_error(
                0, "the dump has no 'element' column, so the species of the atoms are unknown "
                "(numeric types are not elements)",
                "dump with 'dump ID all custom N file id element x y z' and "
                "'dump_modify ID element Si O ...' (one symbol per type)")
        roles = [COLUMN_IGNORED] * len(columns)
        roles[columns.index("element")] = COLUMN_SPECIES
        for names in _POSITION_SETS:
            if all(name in columns for name in names[:3]):
                for index, name in enumerate(names[:3]):
                    roles[columns.index(name)] = index
                scaled = names[3]
                break
        else:
            raise self.frame_error(0, "the dump has no positions (x y z, xu yu zu or xs ys zs)",
                                   line=9)
        if self._id_column >= 0:
            roles[self._id_column] = 3
        return np.asarray(roles, dtype=np.int64), scaled, columns.index("element")

    def frames(self, start: int = 0) -> Iterator[np.ndarray]:
        text = ChunkedText(self.path)
        values = np.empty((self.n_atoms, 4))
        hashes = np.empty(self.n_atoms, dtype=np.uint64)
        frame = 0
        try:
            while True:
                with self._zero_bytes_named(frame, text.offset, text.line_number):
                    positions = self._next_frame(text, frame, start, values, hashes)
                if positions is None:
                    return
                if positions is not _SKIPPED:
                    yield positions
                frame += 1
        finally:
            text.close()

    def _next_frame(self, text: ChunkedText, frame: int, start: int, values: np.ndarray,
                    hashes: np.ndarray) -> np.ndarray | None:
        """The next frame's positions (Angstrom), ``_SKIPPED`` for one before ``start``
        (checked through its header, its atom lines skipped), None at the end of the file."""
        header = self._read_header(text, frame)
        if header is None:
            return None
        n_atoms, cell, origin, columns = header
        if n_atoms != self.n_atoms:
            raise self.frame_error(frame, f"has {n_atoms} atoms, frame 0 has "
                                   f"{self.n_atoms}", "all frames must hold the same "
                                   "atoms", line=text.line_number - 5)
        if columns != self._columns:
            raise self.frame_error(frame, "the columns differ from frame 0",
                                   line=text.line_number)
        self.check_cell(cell, frame)
        if frame < start:
            if not text.skip(self.n_atoms):
                raise self.frame_error(frame, "the file ends inside this frame",
                                       "the file is truncated")
            return _SKIPPED
        first_line = text.line_number + 1
        status, line, column = text.parse_lines(self.n_atoms, self._roles, values, hashes)
        if status != STATUS_OK:
            if status == STATUS_NEED_MORE:
                raise self.frame_error(frame, f"the file ends inside this frame (after "
                                       f"{line} of {self.n_atoms} atom lines)",
                                       "the file is truncated; remove the incomplete "
                                       "last frame", line=first_line + line)
            problem = (f"column {column + 1} of atom line {line} is not a number"
                       if status == STATUS_BAD_NUMBER else
                       f"atom line {line} does not have {len(columns)} columns")
            raise self.frame_error(frame, problem, "the frame is garbled",
                                   line=first_line + line)
        if self._id_column >= 0:
            order = np.argsort(values[:, 3], kind="stable")
            positions = values[order, :3]
            frame_hashes = hashes[order]
        else:
            positions = values[:, :3].copy()
            frame_hashes = hashes
        if not np.array_equal(frame_hashes, self._hashes):
            atom = int(np.argmax(frame_hashes != self._hashes))
            raise self.frame_error(frame, f"atom {atom} (by id) has another species "
                                   "than in frame 0")
        if self._scaled:
            positions = positions @ cell + origin
        return positions
