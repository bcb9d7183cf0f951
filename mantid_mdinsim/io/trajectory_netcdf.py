"""NetCDF trajectories in the AMBER convention, as GPUMD's ``dump_netcdf`` writes them.

Layout (GPUMD ``src/measure/dump_netcdf.cu``; https://ambermd.org/netcdf/nctraj.xhtml):
dimensions ``frame`` (unlimited), ``atom``, ``spatial`` (3), ``cell_spatial``, ``cell_angular``,
``label``; per frame ``time`` (ps), ``cell_lengths`` (Angstrom), ``cell_angles`` (degrees),
``coordinates`` (Angstrom, float or double, in the restricted frame: a along x, b in the xy
plane) and GPUMD's integer ``type`` (an index into the model's element list; see
:mod:`.trajectory_species`). NetCDF-3 with 64-bit offsets, or NetCDF-4 (HDF5) when compressed.

Library: ``netCDF4``, the Python interface of Unidata's netCDF-C, the library GPUMD itself
writes with: one reader for both formats (scipy.io.netcdf_file reads NetCDF-3 only; h5netcdf
NetCDF-4 only), reading blocks of frames by hyperslab, so only a block is in memory. (netCDF-C
reads the missing records of a truncated NetCDF-3 file as fill values: scipy's NetCDF-3 header
parser checks the size at open.)

:class:`NetcdfReader` streams frames and checks them (truncated, garbled or mismatched files are
refused with the file, the frame and the fix); :class:`NetcdfTrajectoryWriter` writes the same
layout for the CPU MD backend, frame by frame, resumable from a frame count.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Iterator

import netCDF4
import numpy as np
from ase.geometry import cell_to_cellpar, cellpar_to_cell

from ..errors import InputFileError
from .trajectory import TrajectoryReader, check_symbols
from .trajectory_species import read_species_source, species_file_for

#: Frames read per hyperslab.
BLOCK_FRAMES = 64
#: File formats of the writer: NetCDF-3 64-bit offset (GPUMD's uncompressed) and NetCDF-4.
WRITE_FORMATS = {"netcdf3": "NETCDF3_64BIT_OFFSET", "netcdf4": "NETCDF4"}
_TIME_UNITS_FS = {"picosecond": 1000.0, "picoseconds": 1000.0, "ps": 1000.0,
                  "femtosecond": 1.0, "femtoseconds": 1.0, "fs": 1.0}
_LENGTH_UNITS = ("angstrom", "angstroms", "a")


def is_netcdf(path: str | os.PathLike) -> bool:
    """The file starts with a NetCDF-3 (``CDF``) or HDF5 (NetCDF-4) signature."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    return head.startswith(b"CDF") or head.startswith(b"\x89HDF\r\n\x1a\n")


def cell_from_parameters(lengths: np.ndarray, angles_degrees: np.ndarray) -> np.ndarray:
    """The restricted cell (a along x, b in the xy plane) of lengths and angles, rows."""
    return np.asarray(cellpar_to_cell(np.concatenate([lengths, angles_degrees])))


class NetcdfReader(TrajectoryReader):
    """An AMBER-convention NetCDF trajectory, read in blocks of frames."""

    format = "netcdf"

    def __init__(self, path, species_from: str | os.PathLike | None = None):
        super().__init__(path)
        try:
            self._dataset = netCDF4.Dataset(self.path, "r")
        except OSError as error:
            raise InputFileError(self.path, f"cannot be opened as NetCDF ({error})",
                                 fix="the file is truncated or not NetCDF; rewrite it (GPUMD's "
                                 "dump_netcdf, or mdinsim md --trajectory-format netcdf)") from None
        try:
            self._dataset.set_auto_maskandscale(False)
            self._read_header(species_from)
        except BaseException:
            self.close()
            raise

    def _read_header(self, species_from) -> None:
        data = self._dataset
        conventions = str(getattr(data, "Conventions", ""))
        if "AMBER" not in conventions.upper():
            raise InputFileError(self.path, f"its Conventions attribute is '{conventions}', not "
                                 "AMBER", fix="write the trajectory with GPUMD's dump_netcdf or "
                                 "another AMBER NetCDF writer")
        for name, dims in (("coordinates", ("frame", "atom", "spatial")),
                           ("cell_lengths", ("frame", "cell_spatial")),
                           ("cell_angles", ("frame", "cell_angular"))):
            if name not in data.variables:
                raise InputFileError(self.path, f"has no '{name}' variable", where="header",
                                     fix="S(q,w) needs coordinates and a periodic cell in "
                                     "every frame")
            if data.variables[name].dimensions != dims:
                raise InputFileError(self.path, f"'{name}' has the dimensions "
                                     f"{data.variables[name].dimensions}, not {dims}",
                                     where="header")
        coordinates = data.variables["coordinates"]
        units = str(getattr(coordinates, "units", "angstrom")).lower()
        if units not in _LENGTH_UNITS or len(data.dimensions["spatial"]) != 3:
            raise InputFileError(self.path, f"coordinates are in '{units}' with "
                                 f"{len(data.dimensions['spatial'])} spatial dimensions; "
                                 "Angstrom in 3 dimensions are needed", where="header")
        self.n_atoms = len(data.dimensions["atom"])
        self._n_frames = len(data.dimensions["frame"])
        if self.n_atoms == 0 or self._n_frames == 0:
            raise InputFileError(self.path, f"holds {self._n_frames} frames of {self.n_atoms} "
                                 "atoms", fix="check that the MD run wrote its trajectory")
        self._cell_parameters = self._cell_parameters_of(0)
        self.cell = cell_from_parameters(*self._cell_parameters)
        self._types = self._types_of(0, 1)[0] if "type" in data.variables else None
        self.species = self._resolve_species(species_from)
        self.frame_interval_fs = self._frame_interval()
        # A truncated file keeps the frame count of its header: check now, so that the run
        # fails at once rather than hours in.
        if self._dataset.data_model.startswith("NETCDF3"):
            self._check_netcdf3_size()
        self._read_block(self._n_frames - 1, self._n_frames)

    def _check_netcdf3_size(self) -> None:
        """netCDF-C reads the missing records of a truncated NetCDF-3 file as fill values,
        silently; scipy's NetCDF-3 reader maps every record onto the file and fails when the
        file is shorter than its header says."""
        from scipy.io import netcdf_file  # only truncated NetCDF-3 files need scipy's reader

        try:
            data = netcdf_file(self.path, "r", mmap=True, maskandscale=False)
            data.variables.clear()   # their arrays map the file: only the size is wanted
            data.close()
        except (ValueError, TypeError, OSError) as error:
            # The half-read file lives in the error's frames; freed later, anywhere, it
            # closes itself warning that arrays still map it ("Cannot close a netcdf_file
            # opened with mmap=True"). Freed here, with that warning, which says nothing
            # about the user's file, kept quiet.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                error.__traceback__ = None
        else:
            return
        raise InputFileError(self.path, f"ends before the last of the {self._n_frames} "
                             "frames its header announces", where="header",
                             fix="the file is truncated (the MD run stopped while "
                             "writing?); rerun or resume the MD run")

    def _cell_parameters_of(self, frame: int) -> tuple[np.ndarray, np.ndarray]:
        lengths = np.asarray(self._dataset.variables["cell_lengths"][frame], dtype=float)
        angles = np.asarray(self._dataset.variables["cell_angles"][frame], dtype=float)
        if not (np.all(np.isfinite(lengths)) and np.all(lengths > 0)
                and np.all(np.isfinite(angles)) and np.all((angles > 0) & (angles < 180))):
            raise self.frame_error(frame, f"the cell (lengths {lengths}, angles {angles}) is not "
                                   "a periodic cell (GPUMD writes zero lengths without periodic "
                                   "boundaries)", "S(q,w) needs periodic boundaries in all "
                                   "three directions")
        return lengths, angles

    def _types_of(self, first: int, last: int) -> np.ndarray:
        return np.asarray(self._dataset.variables["type"][first:last], dtype=np.int64)

    def _resolve_species(self, species_from) -> list[str]:
        path = Path(species_from) if species_from else species_file_for(self.path)
        if not species_from and not path.is_file():
            raise InputFileError(self.path, "stores type indices, not element symbols, and no "
                                 f"species file {path.name} is beside it", where="header",
                                 fix="give --species-from with the NEP model of the run (its "
                                 "header lists the elements in type order) or a structure file "
                                 "with the same atoms in the same order")
        source = read_species_source(path)
        if source.elements is not None:
            if self._types is None:
                raise InputFileError(self.path, "has no 'type' variable, so a list of elements "
                                     f"({path.name}) cannot say which atom is which",
                                     where="header", fix="give --species-from a structure file "
                                     "with the same atoms in the same order")
            bad = (self._types < 0) | (self._types >= len(source.elements))
            if np.any(bad):
                atom = int(np.argmax(bad))
                raise InputFileError(self.path, f"atom {atom} has type {self._types[atom]}, but "
                                     f"{path.name} lists {len(source.elements)} elements "
                                     f"({' '.join(source.elements)})", where="frame 0",
                                     fix="give --species-from the NEP model the run used")
            species = [source.elements[t] for t in self._types]
        else:
            species = list(source.per_atom)
            if len(species) != self.n_atoms:
                raise InputFileError(path, f"holds {len(species)} atoms, the trajectory "
                                     f"{self.path.name} {self.n_atoms}",
                                     fix="give the structure the MD run started from (same "
                                     "atoms, same order)")
            if self._types is not None:
                for kind in np.unique(self._types):
                    symbols = set(np.asarray(species)[self._types == kind])
                    if len(symbols) > 1:
                        raise InputFileError(path, f"gives the atoms of type {kind} of "
                                             f"{self.path.name} the species "
                                             f"{', '.join(sorted(symbols))}",
                                             fix="give the structure the MD run started from "
                                             "(same atoms, same order)")
        check_symbols(self.path, species, f"frame 0 (species from {path.name})")
        return species

    def _frame_interval(self) -> float | None:
        if "time" not in self._dataset.variables or self._n_frames < 2:
            return None
        variable = self._dataset.variables["time"]
        units = str(getattr(variable, "units", "picosecond")).lower()
        if units not in _TIME_UNITS_FS:
            raise InputFileError(self.path, f"'time' is in '{units}'", where="header",
                                 fix="write the time in picoseconds (the AMBER convention)")
        times = np.asarray(variable[0:2], dtype=float) * _TIME_UNITS_FS[units]
        interval = float(times[1] - times[0])
        if not np.isfinite(interval) or interval <= 0:
            raise self.frame_error(1, f"the time does not increase ({times[0]:g} fs, then "
                                   f"{times[1]:g} fs)", "the file is garbled")
        return interval

    # -- frames ----------------------------------------------------------------------------
    def estimated_frame_count(self) -> int | None:
        return self._n_frames

    def _read_block(self, first: int, last: int) -> np.ndarray:
        try:
            return np.asarray(self._dataset.variables["coordinates"][first:last],
                              dtype=np.float64)
        except (RuntimeError, OSError, IndexError) as error:
            raise self.frame_error(first, f"frames {first} to {last - 1} cannot be read "
                                   f"({error})", "the file is truncated or garbled; rewrite "
                                   "it or keep the frames before this one") from None

    def frames(self, start: int = 0) -> Iterator[np.ndarray]:
        for first in range(start, self._n_frames, BLOCK_FRAMES):
            last = min(first + BLOCK_FRAMES, self._n_frames)
            block = self._read_block(first, last)
            lengths = np.asarray(self._dataset.variables["cell_lengths"][first:last], float)
            angles = np.asarray(self._dataset.variables["cell_angles"][first:last], float)
            same = (np.all(lengths == self._cell_parameters[0], axis=1)
                    & np.all(angles == self._cell_parameters[1], axis=1))
            types = self._types_of(first, last) if self._types is not None else None
            for offset in range(last - first):
                frame = first + offset
                if not same[offset]:
                    self.check_cell(cell_from_parameters(*self._cell_parameters_of(frame)),
                                    frame)
                if types is not None and not np.array_equal(types[offset], self._types):
                    atom = int(np.argmax(types[offset] != self._types))
                    raise self.frame_error(frame, f"atom {atom} has another type than in "
                                           "frame 0", "atoms must keep their order and species")
                positions = block[offset]
                yield positions

    @property
    def types(self) -> np.ndarray | None:
        """The type index of each atom (frame 0) where the file stores them, else None."""
        return self._types

    def frame_times_fs(self) -> np.ndarray:
        """The ``time`` of every frame, fs."""
        variable = self._dataset.variables["time"]
        units = str(getattr(variable, "units", "picosecond")).lower()
        return np.asarray(variable[:], dtype=float) * _TIME_UNITS_FS.get(units, 1000.0)

    def velocities_angstrom_per_fs(self, frame: int) -> np.ndarray | None:
        """The velocities of a frame where dumped (AMBER: Angstrom/ps), Angstrom/fs."""
        variable = self._dataset.variables.get("velocities")
        return None if variable is None else np.asarray(variable[frame], float) / 1000.0

    def close(self) -> None:
        dataset = getattr(self, "_dataset", None)
        if dataset is not None and dataset.isopen():
            dataset.close()


class NetcdfTrajectoryWriter:
    """Writes frames in GPUMD's ``dump_netcdf`` layout (double precision), one at a time.

    ``types`` are the type indices of the atoms (positions in the element list recorded with
    :func:`~.trajectory_species.write_species_file`). ``resume_frames``: reopen a partial file
    and write from that frame on (frames after it, left by a crash after the last checkpoint,
    are overwritten, and the run ends with the same number of frames).
    """

    def __init__(self, path: str | os.PathLike, types: np.ndarray, *, format: str = "netcdf3",
                 velocities: bool = False, resume_frames: int | None = None,
                 program: str = "mdinsim"):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._types = np.asarray(types, dtype=np.int32)
        if resume_frames is not None:
            if not self.path.is_file():
                raise InputFileError(self.path, "the partial trajectory of an interrupted run "
                                     "is missing, so the run cannot resume from its checkpoint",
                                     fix="delete the run's checkpoint.npz to start it again")
            self._data = netCDF4.Dataset(self.path, "a")
            held = len(self._data.dimensions["frame"])
            if held < resume_frames:
                self._data.close()
                raise InputFileError(self.path, f"holds {held} frames, fewer than the "
                                     f"{resume_frames} its checkpoint recorded",
                                     fix="delete the run's checkpoint.npz to start it again")
            self.frames = resume_frames
            return
        self._data = netCDF4.Dataset(self.path, "w", format=WRITE_FORMATS[format])
        data = self._data
        data.program = program
        data.Conventions = "AMBER"
        data.ConventionVersion = "1.0"
        data.createDimension("frame", None)
        data.createDimension("spatial", 3)
        data.createDimension("atom", len(self._types))
        data.createDimension("cell_spatial", 3)
        data.createDimension("cell_angular", 3)
        data.createDimension("label", 10)
        data.createVariable("spatial", "S1", ("spatial",))[:] = np.array(list("xyz"), "S1")
        data.createVariable("cell_spatial", "S1", ("cell_spatial",))[:] = np.array(
            list("abc"), "S1")
        angular = data.createVariable("cell_angular", "S1", ("cell_angular", "label"))
        for index, name in enumerate(("alpha", "beta", "gamma")):
            angular[index, :len(name)] = np.array(list(name), "S1")
        data.createVariable("time", "f8", ("frame",)).units = "picosecond"
        data.createVariable("cell_lengths", "f8", ("frame", "cell_spatial")).units = "angstrom"
        data.createVariable("cell_angles", "f8", ("frame", "cell_angular")).units = "degree"
        data.createVariable("type", "i4", ("frame", "atom"))
        data.createVariable("coordinates", "f8", ("frame", "atom", "spatial")).units = "angstrom"
        if velocities:
            data.createVariable("velocities", "f8", ("frame", "atom", "spatial")).units = (
                "angstrom/picosecond")
        self.frames = 0

    def write(self, positions: np.ndarray, cell: np.ndarray, time_fs: float,
              velocities_angstrom_per_fs: np.ndarray | None = None) -> None:
        """Append a frame: Cartesian positions (Angstrom) in ``cell`` (rows), rotated into the
        restricted frame of the cell's lengths and angles, as GPUMD does."""
        parameters = cell_to_cellpar(np.asarray(cell))
        restricted = cell_from_parameters(parameters[:3], parameters[3:])
        rotation = np.linalg.solve(np.asarray(cell), restricted)
        data, frame = self._data, self.frames
        data.variables["time"][frame] = time_fs / 1000.0
        data.variables["cell_lengths"][frame] = parameters[:3]
        data.variables["cell_angles"][frame] = parameters[3:]
        data.variables["type"][frame] = self._types
        data.variables["coordinates"][frame] = np.asarray(positions) @ rotation
        if velocities_angstrom_per_fs is not None and "velocities" in data.variables:
            data.variables["velocities"][frame] = (
                np.asarray(velocities_angstrom_per_fs) @ rotation * 1000.0)
        self.frames += 1

    def offset(self) -> int:
        """Frames written (what a checkpoint records)."""
        return self.frames

    def sync(self) -> None:
        self._data.sync()

    def close(self) -> None:
        if self._data.isopen():
            self._data.close()

    def __enter__(self) -> "NetcdfTrajectoryWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
