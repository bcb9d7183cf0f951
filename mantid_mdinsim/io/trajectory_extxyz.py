"""Extended XYZ trajectories, including GPUMD's ``dump.xyz`` (``dump_xyz`` / ``dump_exyz``).

Each frame: a line with the number of atoms, a comment line of ``key=value`` pairs that must
hold ``Lattice="ax ay az bx by bz cx cy cz"`` (Angstrom) and may hold ``Properties=`` (default
``species:S:1:pos:R:3``), then one line per atom. The comment line is read with two patterns
(ASE's parser, whose import costs half a second, where they do not suffice);
the atom lines with the numba parser of :mod:`.trajectory_text`, which is what makes reading
fast. Plain XYZ without a cell (GPUMD's old ``movie.xyz``) cannot give q-points and is refused
with a message saying so.
"""

from __future__ import annotations

import re
from typing import Iterator

import numpy as np
from ase.data import chemical_symbols

from ..errors import InputFileError
from .trajectory import FrameBatch, check_symbols
from .trajectory_parts import FrameParts
from .trajectory_text import (COLUMN_IGNORED, COLUMN_SPECIES, STATUS_BAD_NUMBER,
                              STATUS_NEED_MORE, STATUS_OK, STATUS_TOO_FEW, STATUS_TOO_MANY,
                              ChunkedText, TextTrajectoryReader, species_hashes)

_LATTICE = re.compile(rb'Lattice\s*=\s*"([^"]*)"', re.IGNORECASE)
_PROPERTIES = re.compile(rb"Properties\s*=\s*(\S+)", re.IGNORECASE)
_DEFAULT_PROPERTIES = "species:S:1:pos:R:3"


def _columns(properties: str) -> list[tuple[str, str, int]]:
    """``species:S:1:pos:R:3`` -> ``[("species", "S", 1), ("pos", "R", 3)]``."""
    fields = properties.split(":")
    if len(fields) % 3:
        raise ValueError(properties)
    return [(fields[i], fields[i + 1].upper(), int(fields[i + 2]))
            for i in range(0, len(fields), 3)]


_TIME = re.compile(rb"(?:^|\s)Time=([-+0-9.eE]+)")


def _time_and_rest(comment: bytes) -> tuple[float | None, bytes]:
    """The ``Time=`` of an extended XYZ comment line (fs, as GPUMD and mdinsim write it; None
    where it has none or it is not a number), and the line with that value cut out."""
    match = _TIME.search(comment)
    if match is None:
        return None, comment
    rest = comment[:match.start(1)] + comment[match.end(1):]
    try:
        return float(match.group(1)), rest
    except ValueError:
        return None, rest


#: The characters of a time in _TIME.
_TIME_CHARACTERS = b"-+0123456789.eE"


def _parts_around_time(comment: bytes) -> tuple[bytes, bytes, int] | None:
    """The text before and after the value :func:`_time_and_rest` cuts out of ``comment``,
    and their length together; None where it cuts none. A line that is these two parts with
    characters of a time between is cut there too: the first match of _TIME depends on the
    parts alone (the one before ends in ``Time=``, the one after starts with no character
    of a time), so its text less the time is the same."""
    match = _TIME.search(comment)
    if match is None:
        return None
    before, after = comment[:match.start(1)], comment[match.end(1):]
    return before, after, len(before) + len(after)


def _frame_time(comment: bytes) -> float | None:
    """The ``Time=`` of an extended XYZ comment line (see :func:`_time_and_rest`)."""
    return _time_and_rest(comment)[0]


class ExtxyzReader(TextTrajectoryReader):
    """Extended XYZ, streamed frame by frame."""

    format = "extxyz"
    time_field = "Time="

    def _read_first_frame(self, text: ChunkedText, header: tuple[int, bytes]) -> None:
        self.n_atoms, comment = header
        self._lattice_text, self.cell, properties = self._cell_and_properties(comment, 0)
        self._properties_text = properties
        self._roles, species_column = self._roles_for(properties)
        lines = self._first_atom_lines(text)
        try:
            # the species word of each line (the lines' other words are not needed here)
            words = [line.split(None, species_column + 1)[species_column] for line in lines]
        except IndexError:
            raise self.frame_error(0, "an atom line lacks its species column",
                                   line=3) from None
        # a few species: each decoded once
        symbols = {word: word.decode(errors="replace") for word in set(words)}
        tokens = list(map(symbols.__getitem__, words))
        self._hashes = species_hashes(tokens)   # of the text, as the frames hold it
        #: A comment line with its Time= value cut out that passed _check_comment.
        self._plain_comment: bytes | None = None
        #: Its parts around the time (:func:`_parts_around_time`).
        self._plain_parts: tuple[bytes, bytes, int] | None = None
        if species_column == self._z_column:
            tokens = [self._symbol_from_number(token) for token in tokens]
        check_symbols(self.path, tokens, "frame 0")
        self.species = tokens
        self.frame_interval_fs = self._frame_interval(text, comment)

    def _frame_interval(self, text: ChunkedText, first_comment: bytes) -> float | None:
        """Time= of frame 1 minus Time= of frame 0 (fs), where both frames carry it."""
        first_time = _frame_time(first_comment)
        if first_time is None:
            return None
        try:
            # The atom lines of frame 0 have been read: the text is at frame 1's header.
            header = self._read_header(text, 1)
        except InputFileError:
            return None  # a garbled second frame is reported where the frames are read
        second_time = _frame_time(header[1]) if header else None
        if second_time is None or second_time <= first_time:
            return None
        return second_time - first_time

    # -- header ------------------------------------------------------------------------------
    def _read_header(self, text: ChunkedText, frame: int) -> tuple[int, bytes] | None:
        """(number of atoms, comment line) of the next frame, or None at the end of the file."""
        while True:
            line = text.readline()
            if line is None:
                return None
            if line.strip():
                break
        try:
            n_atoms = int(line.strip())
        except ValueError:
            raise self.frame_error(frame, f"expected the number of atoms, found "
                                   f"'{line[:40].decode(errors='replace')}'",
                                   "the frame before is garbled or has extra lines",
                                   line=text.line_number) from None
        if n_atoms <= 0:
            raise self.frame_error(frame, f"the frame announces {n_atoms} atoms",
                                   line=text.line_number)
        comment = text.readline()
        if comment is None:
            raise self.frame_error(frame, "the file ends after the number of atoms",
                                   "the file is truncated")
        return n_atoms, comment

    def _cell_and_properties(self, comment: bytes, frame: int):
        lattice = _LATTICE.search(comment)
        properties = _PROPERTIES.search(comment)
        if lattice is not None:
            # The usual line (GPUMD's, ASE's, ours): read with the two patterns, sparing the
            # import of ase.io (most of ASE's I/O stack, about half a second).
            try:
                cell = np.array(lattice.group(1).split(), dtype=float).reshape(3, 3)
            except ValueError:
                cell = None
            text = properties.group(1).decode().strip('"') if properties else _DEFAULT_PROPERTIES
            if cell is not None and '"' not in text:
                return lattice.group(1), cell, text
        return self._cell_and_properties_by_ase(comment, frame)

    def _cell_and_properties_by_ase(self, comment: bytes, frame: int):
        # ase.io takes seconds to import; only comment lines the fast parser cannot read
        from ase.io.extxyz import key_val_str_to_dict

        try:
            info = key_val_str_to_dict(comment.decode(errors="replace"))
        except Exception as error:  # ASE raises several types for bad comment lines
            raise self.frame_error(frame, f"the comment line cannot be read ({error})") from None
        if "Lattice" not in info:
            raise self.frame_error(
                frame, "the comment line has no Lattice=\"...\" (a plain XYZ file, such as "
                "GPUMD's old movie.xyz, has no cell, and S(q,w) needs one for its q-points)",
                "write the trajectory with GPUMD's dump_xyz/dump_exyz or ase.io.write(..., "
                "format='extxyz')")
        lattice = _LATTICE.search(comment)
        try:
            # the nine numbers are a, b, c one after the other: rows of the cell (ASE's
            # key_val_str_to_dict returns them column by column)
            cell = np.array(lattice.group(1).split(), dtype=float).reshape(3, 3)
        except (AttributeError, ValueError):
            cell = np.asarray(info["Lattice"], dtype=float).reshape(3, 3).T
        properties = info.get("Properties", _DEFAULT_PROPERTIES)
        if not isinstance(properties, str):
            properties = _PROPERTIES.search(comment).group(1).decode(errors="replace")
        return (lattice.group(1) if lattice else b""), cell, properties

    def _roles_for(self, properties: str) -> tuple[np.ndarray, int]:
        try:
            columns = _columns(properties)
        except ValueError:
            raise self.frame_error(0, f"Properties={properties} cannot be read") from None
        roles: list[int] = []
        species_column = position_column = -1
        self._z_column = -2
        for name, kind, count in columns:
            lowered = name.lower()
            if lowered in ("species", "symbols", "element") and species_column < 0:
                species_column = len(roles)
                roles.append(COLUMN_SPECIES)
                roles.extend([COLUMN_IGNORED] * (count - 1))
            elif lowered in ("z", "numbers") and kind == "I" and species_column < 0:
                species_column = self._z_column = len(roles)
                roles.append(COLUMN_SPECIES)
                roles.extend([COLUMN_IGNORED] * (count - 1))
            elif lowered in ("pos", "positions") and count == 3 and position_column < 0:
                position_column = len(roles)
                roles.extend([0, 1, 2])
            else:
                roles.extend([COLUMN_IGNORED] * count)
        if species_column < 0:
            raise self.frame_error(0, f"Properties={properties} has no species column",
                                   "write the species (species:S:1) in the trajectory")
        if position_column < 0:
            raise self.frame_error(0, f"Properties={properties} has no positions (pos:R:3)")
        return np.asarray(roles, dtype=np.int64), species_column

    def _symbol_from_number(self, token: str) -> str:
        try:
            return chemical_symbols[int(token)]
        except (ValueError, IndexError):
            raise self.frame_error(0, f"'{token}' is not an atomic number") from None

    # -- frames ------------------------------------------------------------------------------
    def frames(self, start: int = 0) -> Iterator[np.ndarray]:
        text = ChunkedText(self.path)
        parts = FrameParts(self.path, self.n_atoms, self._roles, self._hashes,
                           self._first_frame_bytes)
        hashes = np.empty(self.n_atoms, dtype=np.uint64)
        frame = 0
        try:
            while frame < start:
                # Skipping still checks the frame structure through the atom counts.
                header = self._read_header(text, frame)
                if header is None:
                    return
                if header[0] != self.n_atoms:
                    raise self._count_error(frame, header[0])
                if not text.skip(self.n_atoms):
                    raise self.frame_error(frame, "the file ends inside this frame",
                                           "the file is truncated; remove the last frame")
                frame += 1
            while True:
                # The plain whole frames, parsed in parts on threads (no Python per frame but
                # the comment line); the first frame that is not one of them (garbled,
                # truncated, another atom count...) is read frame by frame below, which
                # gives its exact error, and the parts start again after it.
                for positions, comments, finite in parts.batches(text.offset):
                    times, plain = self._comment_times(comments, frame)
                    if plain:
                        yield FrameBatch(positions[:plain], times[:plain], finite)
                        frame += plain
                    for index in range(plain, len(comments)):
                        self._check_comment(comments[index], frame)   # raises its message
                        yield positions[index]
                        frame += 1
                text.seek(parts.stop_offset, text.line_number + parts.lines)
                with self._zero_bytes_named(frame, parts.stop_offset, text.line_number):
                    positions = self._read_frame(text, frame, hashes)
                if positions is None:
                    return
                yield positions
                frame += 1
        finally:
            parts.close()
            text.close()

    def _read_frame(self, text: ChunkedText, frame: int,
                    hashes: np.ndarray) -> np.ndarray | None:
        """The next frame read line by line (None at the end of the file); every check with
        its message."""
        header = self._read_header(text, frame)
        if header is None:
            return None
        n_atoms, comment = header
        if n_atoms != self.n_atoms:
            raise self._count_error(frame, n_atoms)
        self._check_comment(comment, frame)
        positions = np.empty((self.n_atoms, 3))
        first_line = frame * (self.n_atoms + 2) + 3
        status, line, column = text.parse_lines(self.n_atoms, self._roles, positions, hashes)
        if status != STATUS_OK:
            raise self._parse_error(frame, status, line, column, first_line)
        if not np.array_equal(hashes, self._hashes):
            atom = int(np.argmax(hashes != self._hashes))
            raise self.frame_error(frame, f"atom {atom} has another species than in "
                                   "frame 0", "atoms must keep their order and species",
                                   line=first_line + atom)
        return positions

    def _comment_times(self, comments: list[bytes], frame: int) -> tuple[np.ndarray, int]:
        """The ``Time=`` of each comment line of a batch (NaN where none) and how many
        leading ones pass :meth:`_check_comment`. That check runs once per distinct text
        around the time: the lines of a trajectory differ only in it, and a line that is the
        text last checked with a time between its parts is read without a pattern."""
        times = [np.nan] * len(comments)
        plain, parts = self._plain_comment, self._plain_parts
        for index, comment in enumerate(comments):
            if parts is None:
                if comment == plain:
                    continue                 # no time, the text checked
            elif len(comment) > parts[2] and comment.startswith(parts[0]) \
                    and comment.endswith(parts[1]):
                value = comment[len(parts[0]):len(comment) - len(parts[1])]
                if not value.strip(_TIME_CHARACTERS):
                    try:
                        times[index] = float(value)
                    except ValueError:       # not a number: no time, as _time_and_rest
                        pass
                    continue                 # a time between the text checked
            time, key = _time_and_rest(comment)
            if time is not None:
                times[index] = time
            if key != plain:
                try:
                    self._check_comment(comment, frame + index)
                except InputFileError:
                    return np.array(times), index   # raised again, in its turn, frame by frame
                plain = self._plain_comment = key
                parts = self._plain_parts = _parts_around_time(comment)
        return np.array(times), len(comments)

    def _check_comment(self, comment: bytes, frame: int) -> None:
        """A frame's comment line: the same cell and columns as frame 0; its ``Time=`` kept
        in ``frame_time``."""
        self.frame_time = _frame_time(comment)
        lattice = _LATTICE.search(comment)
        if lattice is None or lattice.group(1) != self._lattice_text:
            _, cell, properties = self._cell_and_properties(comment, frame)
            self.check_cell(cell, frame)
        else:
            properties_match = _PROPERTIES.search(comment)
            properties = (properties_match.group(1).decode(errors="replace").strip('"')
                          if properties_match else _DEFAULT_PROPERTIES)
        if properties != self._properties_text:
            raise self.frame_error(frame, f"the columns change (Properties={properties}"
                                   f", frame 0 has {self._properties_text})")

    def _count_error(self, frame: int, n_atoms: int):
        return self.frame_error(frame, f"has {n_atoms} atoms, frame 0 has {self.n_atoms}",
                                "all frames must hold the same atoms (a garbled or "
                                "truncated frame also shows this way)")

    def _parse_error(self, frame: int, status: int, line: int, column: int, first_line: int):
        where = first_line + line
        if status == STATUS_NEED_MORE:
            return self.frame_error(frame, f"the file ends inside this frame (after {line} of "
                                    f"{self.n_atoms} atom lines)",
                                    "the file is truncated; remove the incomplete last frame",
                                    line=where)
        if status == STATUS_BAD_NUMBER:
            problem = f"column {column + 1} of atom {line} is not a number"
        elif status == STATUS_TOO_FEW:
            problem = f"atom {line} has fewer columns than Properties= announces"
        elif status == STATUS_TOO_MANY:
            problem = f"atom {line} has more columns than Properties= announces"
        else:
            problem = f"atom {line} cannot be read"
        return self.frame_error(frame, problem, "the frame is garbled", line=where)
