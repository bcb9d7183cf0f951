"""Streaming trajectory readers: one frame at a time, species read from the file.

Formats (one module each): extended XYZ including GPUMD's ``dump.xyz`` (:mod:`.trajectory_extxyz`),
ASE ``.traj`` (:mod:`.trajectory_ase`), LAMMPS text dumps (:mod:`.trajectory_lammps`) and AMBER
NetCDF including GPUMD's ``dump_netcdf`` (:mod:`.trajectory_netcdf`, species of its type indices
from :mod:`.trajectory_species`).
:func:`open_trajectory` picks the reader from the extension or, failing that, from the content.

Every reader gives the same things: ``n_atoms``, ``species`` (a symbol per atom, from the file),
``cell`` (lattice vectors as rows, Angstrom) and :meth:`TrajectoryReader.frames`, an iterator
over Cartesian positions in Angstrom, shape ``(n_atoms, 3)``. Only the frame being read is in
memory, so a trajectory larger than RAM can be read.

Frames are checked as they are read; problems raise
:class:`~mantid_mdinsim.errors.InputFileError` naming the file and the frame (0-based, as
printed in messages): truncated or garbled frames, a changed number of atoms or species, a cell
that changes (NPT trajectories: q-points are defined by a fixed cell), positions that are not
finite, a frame repeated (the same positions, or the same recorded time, as the frame before:
a restarted run appended twice), and frames whose recorded times are not evenly spaced (a gap:
frames missing). The format parsers check the structure of their files; the checks of the
frames themselves are made once, here, for every format: :class:`TrajectoryReader` wraps the
``frames`` of each subclass (:meth:`TrajectoryReader.__init_subclass__`), so a reader added
later gets them without calling anything. A parser may yield whole batches of frames
(:class:`FrameBatch`); the checks then pass a batch's leading frames with whole-array
operations and look at the rest one by one, with the same messages.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import os
import stat
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import InputFileError, MdinsimError
from .paths import refuse_utf16_text

#: Smallest volume of a cell, in Angstrom^3, still taken as a three-dimensional cell.
MIN_CELL_VOLUME_ANGSTROM3 = 1e-6

#: Largest change of a cell vector component, in Angstrom, still taken as the same cell
#: (text dumps print the cell with a finite number of digits).
CELL_TOLERANCE_ANGSTROM = 1e-5

FORMATS = ("extxyz", "ase", "lammps", "netcdf")


class TrajectoryReader(abc.ABC):
    """A trajectory opened for streaming. Subclasses fill ``n_atoms``, ``species``, ``cell``."""

    format: str = ""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        _check_regular_file(self.path)
        self.n_atoms: int = 0
        self.species: list[str] = []
        self.cell: np.ndarray = np.zeros((3, 3))
        #: Time between the first two frames in fs where the file records frame times (the
        #: ``Time=`` of extended XYZ written by GPUMD and by mdinsim's MD), else None.
        self.frame_interval_fs: float | None = None
        #: The recorded time (or step number) of the frame last yielded by ``frames``, set by
        #: the parser where the file records one (extended XYZ ``Time=``, LAMMPS ``TIMESTEP``),
        #: else None; ``time_field`` names it in messages.
        self.frame_time: float | None = None

    #: How the file records a frame's time, for messages.
    time_field: str = "time"
    #: A text format (lines of numbers), whose last line may be cut inside a number.
    text_format: bool = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        parse = cls.__dict__.get("frames")
        if parse is not None and not getattr(parse, "_validated", False):
            cls.frames = _validated_frames(parse)  # type: ignore[method-assign]

    @abc.abstractmethod
    def frames(self, start: int = 0) -> Iterator[np.ndarray]:
        """Cartesian positions (Angstrom, shape ``(n_atoms, 3)``) of the frames from ``start``
        (0-based) to the end of the file. (A subclass's parser may yield :class:`FrameBatch`
        items too; the wrapper gives their frames one by one.)"""

    def estimated_frame_count(self) -> int | None:
        """The number of frames (exact or estimated from the file size), or None if unknown."""
        return None

    def close(self) -> None:
        """Release the file."""

    def __enter__(self) -> "TrajectoryReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- checks shared by the formats --------------------------------------------------------
    def frame_error(self, frame: int, problem: str, fix: str | None = None,
                    line: int | None = None) -> InputFileError:
        where = f"frame {frame}"
        if line is not None:
            where += f" (line {line})"
        error = InputFileError(self.path, problem, where=where, fix=fix)
        error.line = line       # where the reading stopped (TextTrajectoryReader's zero bytes)
        return error

    def check_cell(self, cell: np.ndarray, frame: int) -> None:
        if not np.all(np.isfinite(cell)):
            raise self.frame_error(frame, "the cell holds values that are not finite numbers",
                                   "repair or remove this frame")
        change = float(np.max(np.abs(cell - self.cell)))
        if change > CELL_TOLERANCE_ANGSTROM * max(1.0, float(np.max(np.abs(self.cell)))):
            raise self.frame_error(
                frame, f"the cell changes (by up to {change:.3g} Angstrom from frame 0); "
                "S(q,w) needs a fixed cell because the q-points are defined by it",
                "use a constant-volume (NVE or NVT) production trajectory")

    def check_positions(self, positions: np.ndarray, frame: int) -> None:
        # A finite sum has no NaN or inf in it (one pass, no temporary: 3x faster than
        # isfinite(...).all()); a sum that overflows is looked at element by element.
        with np.errstate(over="ignore"):
            total = np.add.reduce(positions, axis=None)
        if not np.isfinite(total) and not np.all(np.isfinite(positions)):
            atom = int(np.argwhere(~np.isfinite(positions))[0][0])
            raise self.frame_error(
                frame, f"atom {atom} has a position that is not a finite number (NaN or inf)",
                "the MD run probably blew up before this frame: use the frames before it or "
                "rerun the simulation")


#: Relative tolerance on the spacing of recorded frame times (text files print few digits).
TIME_SPACING_TOLERANCE = 1e-3


@dataclasses.dataclass(frozen=True)
class FrameBatch:
    """Consecutive frames a format parser may yield at once, instead of one ``(n_atoms, 3)``
    array at a time (the extended-XYZ reader parses whole batches): the shared checks then
    look at the batch with a few whole-array operations, not at each frame in Python. The
    frames reach the caller of ``frames`` one at a time, as always.

    ``positions``: shape ``(frames, n_atoms, 3)``, Angstrom; not written to by the parser
    afterwards. ``times``: each frame's recorded time (``frame_time``), NaN where a frame
    records none; None where no frame of the batch records one."""

    positions: np.ndarray
    times: np.ndarray | None = None
    #: the parser found every position a finite number (the finite check is then left out)
    finite: bool = False


class _FrameChecks:
    """The checks every format shares, on the frames in their order: finite positions, no
    repeated frame, evenly spaced recorded times. :meth:`check` raises the message for one
    frame; :meth:`clear_frames` finds, with whole-array operations, how many leading frames
    of a batch certainly pass it, so that only the rest go through :meth:`check`."""

    def __init__(self, reader: TrajectoryReader):
        self.reader = reader
        self.previous: np.ndarray | None = None
        self.previous_time: float | None = None
        self.interval: float | None = None

    def check(self, positions: np.ndarray, time: float | None, index: int) -> None:
        reader = self.reader
        reader.check_positions(positions, index)  # for every format: parsers leave it here
        previous, previous_time = self.previous, self.previous_time
        # the first coordinate tells almost every frame apart from the one before
        if previous is not None and (positions.size == 0
                                     or positions.flat[0] == previous.flat[0]) \
                and np.array_equal(positions, previous):
            raise reader.frame_error(index, f"the positions are those of frame {index - 1} "
                                     "again: a repeated frame (a restarted run appended "
                                     "twice?)", "remove the repeated frames")
        if time is not None and previous_time is not None:
            step = time - previous_time
            if step == 0:
                raise reader.frame_error(index, f"has the same {reader.time_field} "
                                         f"({time:g}) as frame {index - 1}: a repeated frame",
                                         "remove the repeated frames (a restarted run "
                                         "appended twice?)")
            if step < 0:
                raise reader.frame_error(index, f"its {reader.time_field} ({time:g}) is "
                                         f"before that of frame {index - 1} "
                                         f"({previous_time:g})", "the frames must be in time "
                                         "order (runs appended in the wrong order?)")
            if self.interval is None:
                self.interval = step
            elif not _evenly_spaced(step, self.interval):
                raise reader.frame_error(index, f"is {step:g} after frame {index - 1} "
                                         f"({reader.time_field}), the frames before are "
                                         f"{self.interval:g} apart: a gap in time (frames "
                                         "missing) or a changed dump interval",
                                         "S(q,w) needs evenly spaced frames: give the "
                                         "evenly spaced parts as separate trajectories")
        self.previous, self.previous_time = positions.copy(), time  # parsers may reuse buffers

    def clear_frames(self, batch: FrameBatch) -> int:
        """How many leading frames of ``batch`` pass :meth:`check`; the state then stands
        after the last of them. A frame not counted may still pass: it goes through
        :meth:`check`, which has the last word and the message."""
        positions = batch.positions
        frames = positions.shape[0]
        if frames == 0 or positions[0].size == 0:
            return 0
        if batch.finite or np.isfinite(positions).all():
            # the parser's word, else one test of the whole batch (large, unlike a frame: a
            # finite sum per frame under np.errstate took 20 % longer)
            clear = frames
        else:       # the frames up to the first with a number not finite
            clear = int(np.argmin(np.isfinite(positions.reshape(frames, -1)).all(axis=1)))
        if clear:
            # a repeated frame has the first coordinate of the frame before it
            firsts = positions[:clear, 0, 0]
            same = firsts[1:] == firsts[:-1]              # same[k]: frame k + 1
            if self.previous is not None and firsts[0] == self.previous.flat[0]:
                clear = 0
            elif same.any():
                clear = int(np.argmax(same)) + 1
        times = batch.times
        first_step = None
        if times is not None and clear:
            recorded = ~np.isnan(times[:clear])
            if not recorded.all():      # frames with and without a time: frame by frame
                clear = int(np.argmin(recorded))
            if clear:
                known = times[:clear] if self.previous_time is None else \
                    np.concatenate(([self.previous_time], times[:clear]))
                steps = np.diff(known)
                offset = int(self.previous_time is None)   # steps[k]: frame k + offset
                if steps.size:
                    first_step = float(steps[0])
                    interval = first_step if self.interval is None else self.interval
                    good = (steps > 0) & _evenly_spaced(steps, interval)
                    if not good.all():
                        clear = int(np.argmin(good)) + offset
                        first_step = first_step if clear > offset else None
        if clear:
            self.previous = positions[clear - 1].copy()   # the batch's array is reused later
            self.previous_time = None if times is None else float(times[clear - 1])
            if self.interval is None:
                self.interval = first_step
        return clear


def _six_digits(cell: np.ndarray) -> list[list[float]]:
    """The cell's numbers to 6 significant digits, for a message (``np.round`` to 6 decimals
    overflows, with a warning, on a garbled cell of 1e300)."""
    return [[float(f"{value:.6g}") for value in row] for row in np.asarray(cell)]


def _evenly_spaced(step, interval):
    """A step between recorded times equal to the first one, to the text's precision
    (works on arrays of steps too)."""
    return np.abs(step - interval) <= TIME_SPACING_TOLERANCE * abs(interval)


def _validated_frames(parse):
    """``frames`` of a format parser, with the checks every format shares: finite positions,
    no repeated frame, evenly spaced recorded times (:class:`_FrameChecks`)."""
    @functools.wraps(parse)
    def frames(self: TrajectoryReader, start: int = 0) -> Iterator[np.ndarray]:
        # One frame is held back: the last one is given only once the file is known not to
        # end inside its last line (a number cut short, '3.07' -> '3', reads as a number).
        # So a frame is given once the next one has been read and checked. (One generator,
        # not a checking one inside a holding one: 600 frames went through two before.)
        checks = _FrameChecks(self)
        index = start           # of the next frame from the parser
        held: np.ndarray | None = None
        self.frame_time = None
        for item in _clean_errors(self, parse(self, start), lambda: index):
            if not isinstance(item, FrameBatch):
                checks.check(item, self.frame_time, index)
                if held is not None:
                    yield held
                held = item
                index += 1
                continue
            clear = checks.clear_frames(item)
            count = len(item.positions)
            times = [None] * count if item.times is None else \
                [None if time != time else time for time in item.times.tolist()]  # NaN: none
            for k, (positions, time) in enumerate(zip(list(item.positions), times)):
                self.frame_time = time
                if k >= clear:
                    checks.check(positions, time, index + k)
                if held is not None:
                    yield held
                held = positions
            index += count
        if held is not None:
            if self.text_format and _ends_without_newline(self.path):
                raise self.frame_error(index - 1, "the file ends in the middle of a line of "
                                       "this frame (no newline at the end): it was cut short, "
                                       "and its last number may be incomplete",
                                       "remove this last frame; if the file is complete, end "
                                       "it with a newline")
            yield held

    frames._validated = True  # type: ignore[attr-defined]
    return frames


def _ends_without_newline(path: Path) -> bool:
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return False
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) not in (b"\n", b"\r")


#: What a format parser raises on bytes it does not expect, beyond its own checks (the
#: property-based tests of tests/io/test_reader_fuzz.py found these).
_PARSE_ERRORS = (ValueError, IndexError, KeyError, UnicodeDecodeError, OverflowError,
                 EOFError)


def _clean_errors(reader: TrajectoryReader, frames: Iterator[np.ndarray], index) -> Iterator:
    """``frames`` with an unforeseen parse error turned into a message naming the frame."""
    try:
        yield from frames
    except MdinsimError:
        raise
    except _PARSE_ERRORS as error:
        raise reader.frame_error(index(), f"cannot be read ({type(error).__name__}: {error})",
                                 "the file is damaged here: remove this frame and those "
                                 "after it, or write the trajectory again") from None


def check_symbols(path: Path, species: list[str], where: str) -> None:
    """Species must be non-empty text (a symbol such as Si, or D for deuterium), not type
    numbers. (Whether a model covers them is
    :func:`mantid_mdinsim.atomistic.inputs.check_species`.)"""
    bad = {symbol for symbol in set(species) if not symbol or symbol[0].isdigit()}
    if not bad:
        return          # each species looked at once; the first atom named otherwise
    for index, symbol in enumerate(species):
        if symbol in bad:
            raise InputFileError(path, f"atom {index} has the species '{symbol}', not a "
                                 "chemical symbol", where=where,
                                 fix="write element symbols in the trajectory (for LAMMPS, "
                                 "add the 'element' column with dump_modify ... element)")


#: A UTF-8 byte-order mark: skipped at the start of a text trajectory (ChunkedText).
UTF8_BOM = b"\xef\xbb\xbf"
#: The first bytes of compressed files, the program that made them, its usual suffix.
_COMPRESSED = ((b"\x1f\x8b", "gzip", ".gz"), (b"BZh", "bzip2", ".bz2"),
               (b"\xfd7zXZ\x00", "xz", ".xz"), (b"\x28\xb5\x2f\xfd", "zstd", ".zst"))


def _check_regular_file(path: Path) -> None:
    """A trajectory is a regular file: a missing path, a folder, a pipe or a device is
    refused with what to give instead."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        raise InputFileError(path, "the file does not exist",
                             fix="check the path of the trajectory") from None
    if stat.S_ISDIR(mode):
        raise InputFileError(path, "is a folder, not a trajectory file",
                             fix="give the trajectory file itself")
    if not stat.S_ISREG(mode):
        # a pipe (mdinsim sqw <(zcat run.xyz.gz)) would be read from its middle: its first
        # bytes are gone once looked at, and the frames are read at offsets
        raise InputFileError(path, "is not a regular file (a pipe or a device)",
                             fix="write the trajectory to a file first (zcat run.xyz.gz > "
                             "run.xyz) and give that file: it is read more than once, at "
                             "offsets")


def _refuse_unreadable(path: Path) -> None:
    """What is no regular file is refused (:func:`_check_regular_file`, before any byte is
    read: a pipe's first bytes would be gone); a compressed trajectory (``traj.xyz.gz``, or a
    compressed file under a plain name) with the command that decompresses it (the text
    readers read the file in parts at given offsets, which a compressed stream has not);
    UTF-16 text with the command that makes it UTF-8. (An error at its first line, or "the
    format is not recognised", would not say what to do.)"""
    _check_regular_file(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError:
        return          # the reader says why it cannot be read
    refuse_utf16_text(path, head)
    if head.startswith(b"PK\x03\x04"):
        raise InputFileError(path, "is a zip archive", fix=f"unzip it first (unzip "
                             f"{path.name}) and give the trajectory it holds")
    for magic, program, suffix in _COMPRESSED:
        if head.startswith(magic):
            plain = path.name[:-len(suffix)] if path.name.lower().endswith(suffix) \
                else f"{path.stem}-decompressed{path.suffix}"
            raise InputFileError(path, f"is compressed ({program})",
                                 fix=f"decompress it first ({program} -dc {path.name} > "
                                 f"{plain}) and give {plain}: trajectories are read "
                                 "uncompressed")


def detect_format(path: str | os.PathLike) -> str:
    """The reader for ``path``: from its extension, else from its first line."""
    path = Path(path)
    suffix = path.suffix.lower()
    name = path.name.lower()
    if suffix == ".traj":
        return "ase"
    if suffix in (".nc", ".netcdf", ".ncdf"):
        return "netcdf"
    if suffix in (".xyz", ".extxyz"):
        return "extxyz"
    if suffix in (".lammpstrj", ".dump") or name.startswith("dump.") and suffix != ".xyz":
        return "lammps"
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError as error:
        raise InputFileError(path, f"cannot be read ({error.strerror})") from None
    if head.startswith(b"- of Ulm") or head.startswith(b"AFFormatASE"):
        return "ase"
    if head.startswith(b"CDF") or head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "netcdf"
    first = head.removeprefix(UTF8_BOM).split(b"\n", 1)[0].strip()
    if first.startswith(b"ITEM:"):
        return "lammps"
    if first.isdigit():
        return "extxyz"
    raise InputFileError(path, "the trajectory format is not recognised",
                         fix="use extended XYZ (.xyz), ASE (.traj), a LAMMPS text dump "
                         "(.lammpstrj) or AMBER NetCDF (.nc)")


def open_trajectory(path: str | os.PathLike, format: str | None = None,
                    species_from: str | os.PathLike | None = None) -> TrajectoryReader:
    """Open ``path`` with the reader of its format (``extxyz``, ``ase``, ``lammps`` or
    ``netcdf``; detected when None). ``species_from``: where the species of a trajectory that
    stores type indices come from (see :mod:`.trajectory_species`); other formats name their
    species themselves and do not use it. A folder, a pipe, a compressed or a UTF-16 file is
    refused (:func:`_refuse_unreadable`)."""
    _refuse_unreadable(Path(path))
    format = format or detect_format(path)
    # Each reader module imports this one (the base class), and the readers' libraries
    # (netCDF4, ase.io) load only for their format: imported here, when a file is opened.
    if format == "netcdf":
        from .trajectory_netcdf import NetcdfReader
        return NetcdfReader(path, species_from=species_from)
    if format == "extxyz":
        from .trajectory_extxyz import ExtxyzReader as reader_class
    elif format == "ase":
        from .trajectory_ase import AseTrajectoryReader as reader_class
    elif format == "lammps":
        from .trajectory_lammps import LammpsDumpReader as reader_class
    else:
        raise ValueError(f"unknown trajectory format {format!r}; known: {', '.join(FORMATS)}")
    try:
        reader = reader_class(path)
    except MdinsimError:
        raise
    except _PARSE_ERRORS as error:
        raise InputFileError(path, f"cannot be read as a {format} trajectory "
                             f"({type(error).__name__}: {error})", where="frame 0",
                             fix="the file is damaged at its start: write it again") from None
    volume = 0.0
    if np.all(np.isfinite(reader.cell)):
        with np.errstate(over="ignore", invalid="ignore"):   # a garbled huge cell: inf, refused
            volume = abs(float(np.linalg.det(reader.cell)))
    if not volume >= MIN_CELL_VOLUME_ANGSTROM3 or not np.isfinite(volume):
        # q-points are lattice vectors of this cell: a zero, flat or non-finite one has none.
        reader.close()
        raise InputFileError(path, "the cell of frame 0 has no finite three-dimensional volume "
                             f"(lattice {_six_digits(reader.cell)})", where="frame 0",
                             fix="S(q,w) needs a periodic 3D cell: write the trajectory with its "
                             "box (extended XYZ Lattice=, LAMMPS BOX BOUNDS)")
    if species_from is not None:
        try:
            _check_species_from_agrees(reader, Path(species_from))
        except MdinsimError:
            reader.close()
            raise
    return reader


def _check_species_from_agrees(reader: TrajectoryReader, species_from: Path) -> None:
    """A trajectory that names its species does not use ``species_from``; one given anyway is
    checked against them, not ignored (a junk file, or the model of another run, had passed
    without a word): a NEP model or species file must list every species the trajectory names,
    a structure file must hold its atoms in its order."""
    from .trajectory_species import read_species_source

    source = read_species_source(species_from)
    fix = ("give the file of this run, or leave --species-from out: this trajectory names "
           "its species itself")
    if source.elements is not None:
        missing = sorted(set(reader.species) - set(source.elements))
        if missing:
            raise InputFileError(species_from, f"lists the elements "
                                 f"{' '.join(source.elements)}, but the trajectory "
                                 f"{Path(reader.path).name} holds {', '.join(missing)}", fix=fix)
        return
    given = list(source.per_atom)
    if given != list(reader.species):
        atom = next((index for index, (a, b) in enumerate(zip(given, reader.species)) if a != b),
                    min(len(given), len(reader.species)))
        raise InputFileError(species_from, f"holds {len(given)} atoms, the trajectory "
                             f"{Path(reader.path).name} {len(reader.species)}"
                             if len(given) != len(reader.species) else
                             f"gives atom {atom} the species {given[atom]}, the trajectory "
                             f"{Path(reader.path).name} {reader.species[atom]}", fix=fix)
