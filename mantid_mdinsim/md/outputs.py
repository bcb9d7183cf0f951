"""The files of one MD run, how they are written while it runs, and how they are read back.

Per run (``<output_dir>/T_<T>K/run_<i>/``):

``trajectory.xyz``
    Extended XYZ, one frame per dump of the production run: species, positions (Angstrom,
    not wrapped into the cell by the CPU backend; wrapped by GPUMD), the cell (``Lattice``),
    ``pbc`` and ``Time`` (fs since the start of the simulation, equilibration included:
    GPUMD's convention, so the CPU backend's files and GPUMD's ``dump.xyz`` read alike), and
    with ``dump_velocities`` ``vel`` in Angstrom/fs (GPUMD's unit; dynasor reads it).
``trajectory.nc`` (CPU backend, ``trajectory_format`` netcdf, the default) and
``trajectory.species.txt``
    The same frames in AMBER NetCDF-3, GPUMD's ``dump_netcdf`` layout
    (:mod:`mantid_mdinsim.io.trajectory_netcdf`): type indices into the NEP model's element
    list, which the species file beside it records (:mod:`mantid_mdinsim.io.trajectory_species`).
``thermo.csv``
    One row per thermo interval of equilibration and production (:data:`THERMO_COLUMNS`).
``summary.json``
    Means, the mean-squared displacement U, energy drift, timings (:mod:`.core`).

While a run is under way these are ``trajectory.xyz.partial`` and ``thermo.csv.partial``;
they are renamed when the run completes, so a file without ``.partial`` is always complete.
The writers flush after every frame/row and report their byte offsets, which checkpoints
record; a resumed run truncates the partial files back to those offsets.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from ase import Atoms

from ..errors import InputFileError, OutputWriteError, format_bytes, os_error_message
from ..io.atomic import atomic_path
from ..io.trajectory_netcdf import NetcdfReader, NetcdfTrajectoryWriter
from ..io.trajectory_species import species_file_for

PARTIAL_SUFFIX = ".partial"
TRAJECTORY_NAME = "trajectory.xyz"
TRAJECTORY_NETCDF_NAME = "trajectory.nc"
#: Trajectory file name per ``trajectory_format``.
TRAJECTORY_NAMES = {"extxyz": TRAJECTORY_NAME, "netcdf": TRAJECTORY_NETCDF_NAME}
THERMO_NAME = "thermo.csv"
SUMMARY_NAME = "summary.json"

#: Columns of thermo.csv, with units. ``phase`` is ``equilibration``, ``thermalisation``
#: (classical NVT between a PIMD equilibration and NVE production) or ``production``;
#: ``time_fs`` counts from the start of the simulation. For path-integral runs the energies
#: and the pressure are the centroid-virial estimators and the temperature is GPUMD's target.
THERMO_COLUMNS: tuple[tuple[str, str], ...] = (
    ("step", ""),
    ("time_fs", "fs"),
    ("phase", ""),
    ("temperature_k", "K"),
    ("pressure_gpa", "GPa"),
    ("potential_energy_ev", "eV"),
    ("kinetic_energy_ev", "eV"),
    ("total_energy_ev", "eV"),
    ("volume_angstrom3", "Angstrom^3"),
)
THERMO_NAMES = tuple(name for name, _ in THERMO_COLUMNS)
THERMO_UNITS = {name: unit for name, unit in THERMO_COLUMNS if unit}


def partial_path(path: Path) -> Path:
    return path.with_name(path.name + PARTIAL_SUFFIX)


def count_data_rows(path: Path) -> int:
    """Rows of an engine's growing text output (GPUMD's thermo.out, i-PI's properties) that
    are neither blank nor ``#`` comments: its progress; 0 before the file exists."""
    try:
        with open(path, "rb") as handle:
            return sum(1 for line in handle if line.strip() and not line.startswith(b"#"))
    except OSError:
        return 0


# -- writing -------------------------------------------------------------------------------
def format_frame(symbols: Sequence[str] | np.ndarray, positions: np.ndarray, cell: np.ndarray,
                 time_fs: float, velocities_angstrom_per_fs: np.ndarray | None = None,
                 numbers: np.ndarray | None = None) -> str:
    """One extended XYZ frame as text (ASE's writer, so every extxyz reader reads it)."""
    from ase.io.extxyz import write_xyz  # ase.io loads every file format (seconds)

    frame = Atoms(numbers=numbers if numbers is not None else None,
                  symbols=None if numbers is not None else list(symbols),
                  positions=positions, cell=cell, pbc=True)
    frame.info["Time"] = float(time_fs)
    columns = ["symbols", "positions"]
    if velocities_angstrom_per_fs is not None:
        frame.new_array("vel", np.asarray(velocities_angstrom_per_fs, dtype=float))
        columns.append("vel")
    buffer = io.StringIO()
    write_xyz(buffer, [frame], columns=columns, write_info=True)
    return buffer.getvalue()


class ExtxyzFrameWriter:
    """Extended XYZ frames appended to an :class:`AppendFile`; the same methods as
    :class:`~mantid_mdinsim.io.trajectory_netcdf.NetcdfTrajectoryWriter` (``write``,
    ``offset`` for checkpoints, ``sync``, ``close``)."""

    def __init__(self, path: Path, symbols: Sequence[str], numbers: np.ndarray,
                 resume_offset: int | None = None):
        self._file = AppendFile(path, truncate_to=resume_offset)
        self._symbols = symbols
        self._numbers = numbers

    def write(self, positions: np.ndarray, cell: np.ndarray, time_fs: float,
              velocities_angstrom_per_fs: np.ndarray | None = None) -> None:
        self._file.write(format_frame(self._symbols, positions, cell, time_fs,
                                      velocities_angstrom_per_fs, numbers=self._numbers))

    def offset(self) -> int:
        return self._file.offset()

    def sync(self) -> None:
        self._file.sync()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "ExtxyzFrameWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_frame_writer(trajectory_format: str, path: Path, symbols: Sequence[str],
                      numbers: np.ndarray, elements: Sequence[str], velocities: bool,
                      resume_offset: int | None = None):
    """The writer of a run's partial trajectory: extended XYZ or NetCDF (types = positions of
    the symbols in ``elements``, the model's list); ``resume_offset`` as its checkpoint
    recorded (bytes or frames)."""
    if trajectory_format == "netcdf":
        types = [list(elements).index(symbol) for symbol in symbols]
        return NetcdfTrajectoryWriter(path, types, velocities=velocities,
                                      resume_frames=resume_offset)
    return ExtxyzFrameWriter(path, symbols, numbers, resume_offset)


class AppendFile:
    """A text file appended to and flushed record by record, truncatable to a byte offset.

    Used for the partial trajectory and thermo files: :meth:`offset` after a flush is what a
    checkpoint records; :meth:`open` with ``truncate_to`` drops anything written after the
    checkpoint (a crash between checkpoints leaves such a tail).
    """

    def __init__(self, path: Path, truncate_to: int | None = None, header: str = ""):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if truncate_to is None:
            self._handle = open(self.path, "wb")
            if header:
                self._handle.write(header.encode())
                self._handle.flush()
        else:
            if not self.path.is_file():
                raise InputFileError(self.path, "the partial output of an interrupted run is "
                                     "missing, so the run cannot resume from its checkpoint",
                                     fix="delete the run's checkpoint.npz to start it again")
            size = self.path.stat().st_size
            if size < truncate_to:
                raise InputFileError(self.path, f"holds {size} bytes, fewer than the {truncate_to}"
                                     " its checkpoint recorded (the file was changed)",
                                     fix="delete the run's checkpoint.npz to start it again")
            self._handle = open(self.path, "r+b")
            self._handle.truncate(truncate_to)
            self._handle.seek(truncate_to)

    def write(self, text: str) -> None:
        data = text.encode()
        try:
            self._handle.write(data)
            self._handle.flush()
        except OSError as error:
            raise self._write_error(error, len(data)) from None

    def _write_error(self, error: OSError, size: int) -> OSError:
        """A disk-full (or other environment) error naming this file and the space it needed;
        what was written before the last checkpoint is kept and the run resumes from it."""
        self._failed = True
        known = os_error_message(error, self.path)
        if known is None:
            return error
        return OutputWriteError(self.path, f"{known.problem} (appending {format_bytes(size)} "
                                f"after {format_bytes(self._position())})",
                                f"{known.fix}; the run resumes from its last checkpoint when "
                                "started again", needed_bytes=size)

    def _position(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def offset(self) -> int:
        self._handle.flush()
        return self._handle.tell()

    def sync(self) -> None:
        """Flush to disk, so a checkpoint never records bytes the disk lacks."""
        try:
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as error:
            raise self._write_error(error, 0) from None

    def close(self) -> None:
        if not self._handle.closed:
            try:
                self._handle.close()
            except OSError:
                if not getattr(self, "_failed", False):
                    raise   # after a failed write, the error already raised says it all

    def __enter__(self) -> "AppendFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def thermo_header() -> str:
    """The CSV header of thermo.csv (names carry the units)."""
    return ",".join(THERMO_NAMES) + "\n"


def format_thermo_row(row: dict) -> str:
    values = []
    for name in THERMO_NAMES:
        value = row[name]
        if isinstance(value, str):
            values.append(value)
        elif name == "step":
            values.append(str(int(value)))
        else:
            values.append(repr(float(value)))
    return ",".join(values) + "\n"


# -- reading -------------------------------------------------------------------------------
def read_thermo_csv(path: str | Path) -> dict[str, np.ndarray]:
    """thermo.csv as arrays by column name (``phase`` as an array of strings)."""
    path = Path(path)
    try:
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            names = reader.fieldnames or []
    except OSError as error:
        raise InputFileError(path, f"cannot be read ({error})") from error
    missing = [name for name in THERMO_NAMES if name not in names]
    if missing:
        raise InputFileError(path, f"lacks the columns {', '.join(missing)}",
                             fix="give a thermo.csv written by mdinsim md")
    table: dict[str, np.ndarray] = {}
    for name in THERMO_NAMES:
        if name == "phase":
            table[name] = np.array([row[name] for row in rows], dtype=object)
        elif name == "step":
            table[name] = np.array([int(row[name]) for row in rows], dtype=np.int64)
        else:
            table[name] = np.array([float(row[name]) for row in rows], dtype=float)
    return table


def iter_frames(path: str | Path) -> Iterator[Atoms]:
    """The frames of a run's trajectory (ours or GPUMD's), one by one, as ASE Atoms: ``Time``
    (fs) in ``info``; velocities, where dumped, as the array ``vel`` (Angstrom/fs)."""
    import ase.io  # ase.io loads every file format (seconds)

    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "the trajectory does not exist")
    if path.name.endswith((".nc", ".nc" + PARTIAL_SUFFIX)):
        yield from _iter_netcdf_frames(path)
        return
    try:
        for frame in ase.io.iread(str(path), index=":", format="extxyz"):
            yield frame
    except (ValueError, IndexError, KeyError, OSError) as error:
        raise InputFileError(path, f"is not a complete extended XYZ trajectory ({error})",
                             fix="a run interrupted while writing leaves a .partial file; "
                                 "resume the run instead of reading it") from error


def _iter_netcdf_frames(path: Path) -> Iterator[Atoms]:
    final = path.with_name(path.name[:-len(PARTIAL_SUFFIX)]) if path.name.endswith(
        PARTIAL_SUFFIX) else path
    with NetcdfReader(path, species_from=species_file_for(final)) as reader:
        times = reader.frame_times_fs()
        for index, positions in enumerate(reader.frames()):
            frame = Atoms(reader.species, positions=positions, cell=reader.cell, pbc=True)
            frame.info["Time"] = float(times[index])
            velocities = reader.velocities_angstrom_per_fs(index)
            if velocities is not None:
                frame.new_array("vel", velocities)
            yield frame


def frame_time_fs(frame: Atoms) -> float:
    """The ``Time`` (fs) of a frame's comment line (GPUMD writes ``Time=``, so do we)."""
    for key in ("Time", "time"):
        if key in frame.info:
            return float(frame.info[key])
    raise KeyError("Time")


def read_gpumd_thermo(path: str | Path, time_step_fs: float | None = None,
                      first_step: int = 0,
                      phase: Sequence[str] | str = "") -> dict[str, np.ndarray]:
    """GPUMD's thermo.out in :data:`THERMO_COLUMNS` (calorine's reader underneath).

    calorine reads the per-run header blocks GPUMD 5.6 writes (``# dt_output``), the time
    (ps, from the header), and derives the pressure (mean of the diagonal, GPa) and the volume
    (Angstrom^3). ``phase`` labels the rows (one label for all, or one per row).
    """
    from calorine.gpumd import read_thermo  # calorine: seconds to import, only on this path

    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise InputFileError(path, "GPUMD wrote no thermo output",
                             fix="check the gpumd log beside it")
    try:
        frame = read_thermo(str(path))
    except (ValueError, OSError) as error:
        raise InputFileError(path, f"is not a thermo.out calorine can read ({error})") from error
    n_rows = len(frame)
    if "time" in frame:
        time_fs = frame["time"].to_numpy() * 1000.0
    elif time_step_fs is not None:  # header-less thermo.out of older GPUMD versions
        time_fs = np.arange(1, n_rows + 1) * float(time_step_fs)
    else:
        raise InputFileError(path, "has no header to take the time from",
                             fix="pass the time step and thermo interval")
    if time_step_fs:
        step = np.rint(time_fs / time_step_fs).astype(np.int64) + first_step
    else:
        step = np.zeros(n_rows, dtype=np.int64)
    labels = np.array([phase] * n_rows if isinstance(phase, str) else list(phase), dtype=object)
    kinetic = frame["kinetic_energy"].to_numpy()
    potential = frame["potential_energy"].to_numpy()
    return {
        "step": step,
        "time_fs": time_fs + first_step * (time_step_fs or 0.0),
        "phase": labels,
        "temperature_k": frame["temperature"].to_numpy(),
        "pressure_gpa": frame["pressure"].to_numpy(),
        "potential_energy_ev": potential,
        "kinetic_energy_ev": kinetic,
        "total_energy_ev": potential + kinetic,
        "volume_angstrom3": frame["volume"].to_numpy(),
    }


def write_thermo_csv(path: Path, table: dict[str, np.ndarray]) -> None:
    """Write a whole thermo table (atomically) in thermo.csv format."""
    n_rows = len(table["step"])
    with atomic_path(path) as temporary:
        with open(temporary, "w") as handle:
            handle.write(thermo_header())
            for i in range(n_rows):
                handle.write(format_thermo_row({name: table[name][i] for name in THERMO_NAMES}))
