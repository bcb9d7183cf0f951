"""The GPUMD backend: run.in, model.xyz and the potential through calorine, the real ``gpumd``.

GPUMD 5.6 keywords used (checked against ``doc/gpumd/input_parameters`` and the parser in
``src/main_gpumd/run.cu``, ``src/integrate/integrate.cu`` of that version):

* ``potential nep.txt``; ``time_step <dt_fs>``; ``velocity <T> seed <seed>``;
* equilibration ``ensemble npt_scr <T> <T> <tau_T/dt> <p_GPa> <B_GPa> <tau_p/dt>`` for an
  orthogonal box (isotropic), with six pressures (``p p p 0 0 0``) and six moduli for a
  triclinic one; ``ensemble nvt_bdp|nvt_lan <T> <T> <tau_T/dt>``;
  ``ensemble pimd <beads> <T> <T> <tau_T/dt> [pressure control]``;
* between ``pimd`` and ``nve``: classical thermalisation ``ensemble nvt_lan <T> <T>
  <tau_T/dt>`` for ``Protocol.thermalisation_steps`` (the ring polymer's centroid is no
  classical thermal state; thermo rows of phase ``thermalisation``);
* production ``ensemble nve`` or ``ensemble trpmd <beads>`` (TRPMD takes its temperature
  from the PIMD run before it, as GPUMD requires);
* ``dump_thermo <steps>`` in every run, ``dump_xyz`` and ``dump_restart <steps>`` in
  production; ``run <steps>``.

``dump_xyz`` changed its syntax after the 5.6 release: the release (and GPUMD 4.6 on) takes
``dump_xyz <grouping_method> <group_id> <interval> <file> [properties]``, later sources (GPUMD's
master since August 2026, and the build of the project's device kit) take
``dump_xyz <interval> <file> [properties]`` and reject the old form. Which one a ``gpumd``
understands is read from the error messages compiled into the executable
(:func:`dump_xyz_syntax`), so that both work without asking the user.

Every run works in ``<run>/gpumd.partial/`` (inputs, gpumd's log, its outputs); on success
``dump.xyz`` becomes ``<run>/trajectory.xyz``, thermo.out is converted to ``thermo.csv`` and
the folder is renamed ``gpumd/``. An interrupted run, or a failed one with production frames
to resume from, leaves ``gpumd.partial/``; a failed run with nothing to resume from leaves
only gpumd's log, as ``<run>/gpumd.failed.log``. A run whose temperature or energy ran away
or whose positions are not finite stops with :class:`~mantid_mdinsim.errors.PhysicsError`.
An interrupted classical production resumes from GPUMD's ``restart.xyz`` (written with six
significant digits, so the continuation is physically but not bitwise that of an
uninterrupted run); the segments are joined with a continuous ``Time``. Path-integral runs
start again (GPUMD's restart file holds no bead coordinates).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
from ase import Atoms

from ..atomistic.inputs import is_orthogonal
from ..errors import ExternalProgramError, InputFileError, ParameterError, PhysicsError
from ..external import run_program
from ..io.trajectory_netcdf import NetcdfReader, NetcdfTrajectoryWriter, cell_from_parameters
from ..io.trajectory_species import read_species_source, write_species_file
from ..progress import ProgressReporter
from . import outputs
from .backends import MDJob, RunFolderBackend
from .guards import FIX, check_thermo, runaway_problem
from .msd import DisplacementAccumulator, minimum_image
from .protocol import Protocol, RunSpec

WORK_PARTIAL = "gpumd.partial"
WORK_DONE = "gpumd"
DUMP_NAME = "dump.xyz"
NETCDF_DUMP_NAME = "dump.nc"
THERMO_OUT = "thermo.out"
RESTART_NAME = "restart.xyz"
POTENTIAL_NAME = "nep.txt"


#: Syntaxes of ``dump_xyz`` (see the module documentation).
DUMP_XYZ_INTERVAL_FIRST = "interval_first"   # dump_xyz <interval> <file> [properties]
DUMP_XYZ_GROUP_FIRST = "group_first"         # dump_xyz <grouping> <group> <interval> <file> ...

# Messages of src/measure/dump_xyz.cu that only one syntax's parser contains.
_GROUP_FIRST_MARKER = b"dump_xyz should have at least 4 parameters"
_INTERVAL_FIRST_MARKER = b"no longer takes <grouping_method>"


# A message of src/measure/dump_netcdf.cu, compiled only into a gpumd built with NetCDF
# (USE_NETCDF), with the current syntax dump_netcdf <interval> <file> [options].
_NETCDF_MARKER = b"dump_netcdf no longer takes <grouping_method>"


def dump_netcdf_supported(executable: Path | None) -> bool:
    """Whether the ``gpumd`` at ``executable`` was built with NetCDF (``dump_netcdf``)."""
    try:
        return executable is not None and _NETCDF_MARKER in Path(executable).read_bytes()
    except OSError:
        return False


def dump_xyz_syntax(executable: Path | None) -> str:
    """Which ``dump_xyz`` syntax the ``gpumd`` at ``executable`` parses.

    Read from the parser's error messages in the executable; where neither is found (or there
    is no executable yet, as when inputs are only written) the current upstream syntax.
    """
    if executable is None:
        return DUMP_XYZ_INTERVAL_FIRST
    try:
        content = Path(executable).read_bytes()
    except OSError:
        return DUMP_XYZ_INTERVAL_FIRST
    if _INTERVAL_FIRST_MARKER in content:
        return DUMP_XYZ_INTERVAL_FIRST
    if _GROUP_FIRST_MARKER in content:
        return DUMP_XYZ_GROUP_FIRST
    return DUMP_XYZ_INTERVAL_FIRST


def _coupling(name: str, coupling_fs: float, time_step_fs: float) -> float:
    """GPUMD's coupling parameter tau/dt, which it requires to be >= 1."""
    ratio = coupling_fs / time_step_fs
    if ratio < 1.0:
        raise ParameterError(name, f"{coupling_fs:g} fs is shorter than the time step "
                             f"{time_step_fs:g} fs", "GPUMD needs a coupling time of at least "
                             "one time step (about 100 steps for a thermostat, 1000 for a "
                             "barostat)")
    return round(ratio, 6)


def _pressure_control(protocol: Protocol, cell: np.ndarray) -> tuple:
    """GPUMD's pressure-control parameters (pressures and moduli in GPa, tau_p/dt)."""
    p = protocol.pressure_gpa
    b = protocol.bulk_modulus_gpa
    p_coupling = _coupling("barostat_coupling_fs", protocol.barostat_coupling_fs,
                           protocol.time_step_fs)
    if is_orthogonal(cell):
        return (p, b, p_coupling)
    # A triclinic box needs all six components (GPUMD refuses 1 or 3 for it); the shear
    # targets are zero and every modulus gets the bulk estimate (only its magnitude matters).
    return (p, p, p, 0, 0, 0, b, b, b, b, b, b, p_coupling)


def run_in_parameters(protocol: Protocol, spec: RunSpec, cell: np.ndarray,
                      resume_steps: int | None = None,
                      dump_syntax: str = DUMP_XYZ_INTERVAL_FIRST,
                      netcdf: bool = False) -> list[tuple[str, Any]]:
    """run.in as calorine's ``write_runfile`` takes it: (keyword, value(s)) pairs.

    With ``resume_steps``, only the rest of a classical production run (velocities come from
    the restart file in model.xyz). With ``netcdf``, positions go to ``dump_netcdf`` (double
    precision, NetCDF-3) instead of ``dump_xyz``.
    """
    dt = protocol.time_step_fs
    temperature = spec.temperature_k
    lines: list[tuple[str, Any]] = [("potential", POTENTIAL_NAME), ("time_step", dt)]
    if resume_steps is None:
        lines.append(("velocity", (temperature, "seed", spec.seed)))
        t_coupling = _coupling("thermostat_coupling_fs", protocol.thermostat_coupling_fs, dt)
        equilibration = protocol.equilibration
        ensemble: tuple | None = None
        if equilibration == "npt":
            ensemble = ("npt_scr", temperature, temperature, t_coupling,
                        *_pressure_control(protocol, cell))
        elif equilibration == "nvt":
            name = "nvt_bdp" if protocol.thermostat == "bussi" else "nvt_lan"
            ensemble = (name, temperature, temperature, t_coupling)
        elif equilibration == "pimd_nvt":
            ensemble = ("pimd", protocol.number_of_beads, temperature, temperature, t_coupling)
        elif equilibration == "pimd_npt":
            ensemble = ("pimd", protocol.number_of_beads, temperature, temperature, t_coupling,
                        *_pressure_control(protocol, cell))
        if ensemble is not None:
            lines += [("ensemble", ensemble), ("dump_thermo", protocol.thermo_steps),
                      ("run", protocol.equilibration_steps)]
        if protocol.thermalisation_steps:
            # Classical Langevin NVT at the PIMD run's final cell before classical production:
            # the ring polymer's centroid is no classical thermal state (protocol.py).
            lines += [("ensemble", ("nvt_lan", temperature, temperature, t_coupling)),
                      ("dump_thermo", protocol.thermo_steps),
                      ("run", protocol.thermalisation_steps)]
    production_steps = protocol.production_steps if resume_steps is None else resume_steps
    if protocol.production == "trpmd":
        lines.append(("ensemble", ("trpmd", protocol.number_of_beads)))
    else:
        lines.append(("ensemble", "nve"))
    lines.append(("dump_thermo", protocol.thermo_steps))
    if netcdf:
        keyword, dump = "dump_netcdf", [protocol.dump_steps, NETCDF_DUMP_NAME, "precision",
                                        "double"]
    else:
        keyword, dump = "dump_xyz", [protocol.dump_steps, DUMP_NAME]
        if dump_syntax == DUMP_XYZ_GROUP_FIRST:
            dump = [-1, 0] + dump  # grouping method -1: the whole system (group id ignored)
    if protocol.dump_velocities:
        dump.append("velocity")
    lines.append((keyword, tuple(dump)))
    if protocol.production == "nve":
        lines.append(("dump_restart", protocol.checkpoint_steps))
    lines.append(("run", production_steps))
    return lines


def write_inputs(directory: Path, protocol: Protocol, spec: RunSpec, atoms: Atoms,
                 model_path: str, resume_from: Path | None = None,
                 resume_steps: int | None = None,
                 dump_syntax: str = DUMP_XYZ_INTERVAL_FIRST, netcdf: bool = False) -> None:
    """Write run.in, model.xyz and nep.txt into ``directory`` (calorine's writers)."""
    from calorine.gpumd import write_runfile, write_xyz  # calorine: seconds to import

    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(model_path, directory / POTENTIAL_NAME)
    if resume_from is not None:
        # GPUMD's restart.xyz is a model.xyz with velocities (GPUMD restarts from it as is).
        shutil.copyfile(resume_from, directory / "model.xyz")
    else:
        model = atoms.copy()
        model.set_velocities(np.zeros((len(model), 3)))
        write_xyz(str(directory / "model.xyz"), model)
    write_runfile(directory / "run.in",
                  run_in_parameters(protocol, spec, np.array(atoms.cell), resume_steps,
                                    dump_syntax, netcdf))


def _expected_rows(protocol: Protocol) -> tuple[int, int, int]:
    """thermo.out rows GPUMD writes in equilibration, thermalisation and production."""
    n_eq = (protocol.equilibration_steps // protocol.thermo_steps
            if protocol.equilibration != "none" else 0)
    return (n_eq, protocol.thermalisation_steps // protocol.thermo_steps,
            protocol.production_steps // protocol.thermo_steps)


_TIME_PATTERN = re.compile(rb"(?<![A-Za-z_])Time=([-+0-9.eE]+)")


def _copy_frames(source: Path, target, n_frames: int | None, time_offset_fs: float) -> int:
    """Append up to ``n_frames`` frames of an extended XYZ file to the open binary ``target``,
    adding ``time_offset_fs`` to each ``Time=``; return the number of frames copied."""
    copied = 0
    with open(source, "rb") as handle:
        while n_frames is None or copied < n_frames:
            count_line = handle.readline()
            if not count_line.strip():
                break
            n_atoms = int(count_line)
            comment = handle.readline()
            if time_offset_fs:
                comment = _TIME_PATTERN.sub(
                    lambda m: b"Time=%.8f" % (float(m.group(1)) + time_offset_fs), comment)
            body = [handle.readline() for _ in range(n_atoms)]
            if len(body) != n_atoms or (body and not body[-1].endswith(b"\n")):
                break  # a frame cut off by a crash
            target.write(count_line + comment + b"".join(body))
            copied += 1
    return copied


def _segments(work: Path) -> list[Path]:
    return sorted(p for p in work.glob("segment_*") if p.is_dir())


@dataclass(frozen=True)
class GPUMDBackend(RunFolderBackend):
    """The ``gpumd`` executable at ``executable``, one run after the other on the GPU; an
    interrupted classical production resumes from GPUMD's restart file (module docs)."""

    executable: Path
    name = "gpumd"
    resources = {"GPU": 1}

    def input_files(self) -> list[str]:
        return [str(self.executable)]

    def netcdf(self, job: MDJob) -> bool:
        """Whether the run's frames go to NetCDF (asked for, and this gpumd writes it)."""
        return (job.protocol.trajectory_format == "netcdf"
                and dump_netcdf_supported(self.executable))

    def trajectory_name(self, job: MDJob) -> str:
        return outputs.TRAJECTORY_NAMES["netcdf" if self.netcdf(job) else "extxyz"]

    def prepare(self, job: MDJob) -> None:
        (job.directory / WORK_PARTIAL).mkdir(parents=True, exist_ok=True)

    def resume(self, job: MDJob, progress: ProgressReporter) -> dict[str, Any] | None:
        """Continue a classical production from the restart file of its last segment, where
        it holds the state of a dumped frame (GPUMD's restart holds no beads: PIMD restarts)."""
        protocol = job.protocol
        segments = _segments(job.directory / WORK_PARTIAL)
        if not segments or protocol.production != "nve":
            return None
        restart = segments[-1] / RESTART_NAME
        frames_done = _count_complete_frames(segments, protocol)
        restart_steps = (frames_done * protocol.dump_steps // protocol.checkpoint_steps
                         * protocol.checkpoint_steps)
        if not (restart.is_file() and restart_steps > 0 and _restart_matches_frame(
                restart, segments, protocol, restart_steps)):
            return None
        dump_name = NETCDF_DUMP_NAME if self.netcdf(job) else DUMP_NAME
        if any(not (segment / dump_name).is_file() for segment in segments):
            return None
        return self._run_segment(job, progress, restart, restart_steps)

    def run(self, job: MDJob, progress: ProgressReporter) -> dict[str, Any]:
        for segment in _segments(job.directory / WORK_PARTIAL):
            shutil.rmtree(segment)
        return self._run_segment(job, progress, None, 0)

    def _run_segment(self, job: MDJob, progress: ProgressReporter, resume_from: Path | None,
                     done_steps: int) -> dict[str, Any]:
        """Run gpumd in the next segment folder (from ``resume_from``, ``done_steps`` into
        production, or from the start), then join the segments into the run's outputs."""
        spec, protocol, executable = job.spec, job.protocol, self.executable
        directory = spec.directory
        netcdf = self.netcdf(job)
        trajectory_path = directory / self.trajectory_name(job)
        dump_name = NETCDF_DUMP_NAME if netcdf else DUMP_NAME
        work = directory / WORK_PARTIAL
        n_eq_rows, n_th_rows, n_prod_rows = _expected_rows(protocol)
        n_eq_rows += n_th_rows  # rows before production
        total_rows = n_eq_rows + n_prod_rows
        segment = work / f"segment_{len(_segments(work)):02d}"
        if segment.exists():
            shutil.rmtree(segment)
        remaining = protocol.production_steps - done_steps
        write_inputs(segment, protocol, spec, job.atoms, job.model_path,
                     resume_from=resume_from, resume_steps=remaining if resume_from else None,
                     dump_syntax=dump_xyz_syntax(executable), netcdf=netcdf)
        if resume_from is not None:
            (segment / "resumed_from_steps").write_text(f"{done_steps}\n")

        rows_before = n_eq_rows + done_steps // protocol.thermo_steps if resume_from else 0

        def poll() -> None:
            rows = rows_before + outputs.count_data_rows(segment / THERMO_OUT)
            progress.report(min(rows / max(total_rows, 1), 0.999),
                            f"{spec.label}: gpumd {rows}/{total_rows} thermo rows")

        started = time.perf_counter()
        try:
            run_program(executable, segment, log_name="gpumd.log", poll=poll,
                        expected_outputs=(THERMO_OUT, dump_name))
        except ExternalProgramError as error:
            raise _failed_run(error, directory, work, segment, protocol) from None
        wall_s = time.perf_counter() - started

        segments = _segments(work)
        thermo = _merge_thermo(segments, protocol)
        check_thermo(thermo, spec.label, spec.temperature_k,
                     f"gpumd's run (outputs kept in {work})")
        got = len(thermo["step"])
        if got != total_rows:
            raise ExternalProgramError(
                f"{executable} wrote {got} thermo rows in {work}, expected {total_rows} "
                f"({n_eq_rows} equilibration + {n_prod_rows} production); see gpumd.log there")
        trajectory_partial = outputs.partial_path(trajectory_path)
        if netcdf:
            elements = list(read_species_source(job.model_path).elements or ())
            write_species_file(trajectory_path, elements)
            frames = _merge_netcdf_frames(segments, protocol, trajectory_partial)
        else:
            with open(trajectory_partial, "wb") as target:
                frames = _merge_frames(segments, protocol, target)
        if frames != protocol.number_of_frames:
            raise ExternalProgramError(
                f"{executable} wrote {frames} frames into {dump_name} in {work}, expected "
                f"{protocol.number_of_frames}; see gpumd.log there")
        accumulator = DisplacementAccumulator(job.atoms.get_masses())
        accumulator.add_frames(_finite_frames(outputs.iter_frames(trajectory_partial), spec,
                                              work))
        for segment_dir in segments:
            dump = segment_dir / dump_name
            if dump.is_file():
                dump.unlink()  # its frames are in the trajectory now
        resumed_at = protocol.production_first_step + done_steps if resume_from else None
        return self.publish(
            job, thermo, accumulator.result(job.atoms.get_chemical_symbols()), wall_s,
            work=work, work_done=WORK_DONE,
            steps_this_session=protocol.total_steps - (resumed_at or 0),
            resumed_from_step=resumed_at, extra={"gpumd_executable": str(executable)})


#: Where the log of a failed gpumd run that left nothing to resume from is kept.
FAILED_LOG = "gpumd.failed.log"


def _failed_run(error: ExternalProgramError, directory: Path, work: Path, segment: Path,
                protocol: Protocol) -> ExternalProgramError:
    """After gpumd failed: keep ``gpumd.partial/`` where it holds production frames to resume
    from; otherwise keep only gpumd's log (as ``gpumd.failed.log``) and remove the folder, so
    that no half-made work folder is left behind."""
    if _count_complete_frames(_segments(work), protocol) > 0:
        return ExternalProgramError(f"{error}\nThe frames completed are kept in {work}; the run "
                                    "resumes from them when started again.")
    log = segment / "gpumd.log"
    kept = directory / FAILED_LOG
    if log.is_file():
        os.replace(log, kept)
    shutil.rmtree(work, ignore_errors=True)
    message = str(error).replace(str(log), str(kept))
    return ExternalProgramError(f"{message}\n(nothing was completed; gpumd's log is kept as "
                                f"{kept})")


def _finite_frames(frames: Iterator[Atoms], spec: RunSpec, work: Path) -> Iterator[Atoms]:
    for index, frame in enumerate(frames):
        problem = runaway_problem(positions=frame.get_positions())
        if problem is not None:
            raise PhysicsError(f"{spec.label}: frame {index} of gpumd's dump: {problem}. Its "
                               f"outputs are kept in {work}; {FIX}")
        yield frame


def _restart_matches_frame(restart: Path, segments: list[Path], protocol: Protocol,
                           restart_steps: int) -> bool:
    """Whether GPUMD's restart.xyz holds the state of the dumped frame at ``restart_steps``
    into production (it has no time stamp; a crash between the dump and the restart write
    would leave an older one, which must not be taken for the newer)."""
    import ase.io  # ase.io loads every file format (seconds); only a restart reads here

    try:
        restart_atoms = ase.io.read(str(restart), format="extxyz")
        frame_index = restart_steps // protocol.dump_steps - 1
        frame = None
        start = 0
        for index, segment in enumerate(segments):
            frames = _count_frames(_dump_of(segment))
            if index + 1 < len(segments):
                frames = min(frames, _resumed_from(segments[index + 1]) // protocol.dump_steps
                             - start)
            if frame_index < start + frames:
                if _dump_of(segment).suffix == ".nc":
                    frame = _netcdf_frame(_dump_of(segment), frame_index - start)
                    break
                buffer = io.BytesIO()
                _copy_frames(segment / DUMP_NAME, buffer, frame_index - start + 1, 0.0)
                frame = ase.io.read(io.StringIO(buffer.getvalue().decode()), index=-1,
                                    format="extxyz")
                break
            start += frames
        if frame is None or len(frame) != len(restart_atoms):
            return False
        delta = minimum_image(restart_atoms.get_positions() - frame.get_positions(),
                              np.array(frame.cell))
        return bool(np.abs(delta).max() < 1e-2)
    except Exception:  # an unreadable or cut-off restart file: start again
        return False


def _dump_of(segment: Path) -> Path:
    """The dump of a segment: dump.nc (dump_netcdf) or dump.xyz."""
    netcdf = segment / NETCDF_DUMP_NAME
    return netcdf if netcdf.is_file() else segment / DUMP_NAME


def _netcdf_frame(path: Path, index: int) -> Atoms:
    """Positions and cell of one frame of a dump_netcdf file (species not needed)."""
    import netCDF4  # netCDF4 loads HDF5's C library: only for GPUMD's NetCDF dumps

    with netCDF4.Dataset(path) as data:
        data.set_auto_maskandscale(False)
        cell = cell_from_parameters(np.asarray(data.variables["cell_lengths"][index], float),
                                    np.asarray(data.variables["cell_angles"][index], float))
        positions = np.asarray(data.variables["coordinates"][index], float)
    return Atoms(positions=positions, cell=cell, pbc=True)


def _count_frames(path: Path) -> int:
    if not path.is_file():
        return 0
    if path.suffix == ".nc":
        import netCDF4  # netCDF4 loads HDF5's C library: only for GPUMD's NetCDF dumps

        try:
            with netCDF4.Dataset(path) as data:
                return len(data.dimensions["frame"])
        except (OSError, KeyError):
            return 0
    with open(os.devnull, "wb") as sink:
        return _copy_frames(path, sink, None, 0.0)


def _count_complete_frames(segments: list[Path], protocol: Protocol) -> int:
    """Production frames in the segments, each trimmed to where the next resumed."""
    total = 0
    for index, segment in enumerate(segments):
        frames = _count_frames(_dump_of(segment))
        if index + 1 < len(segments):
            start = _resumed_from(segments[index + 1])
            frames = min(frames, (start // protocol.dump_steps) - total)
        total += frames
    return total


def _resumed_from(segment: Path) -> int:
    marker = segment / "resumed_from_steps"
    return int(marker.read_text()) if marker.is_file() else 0


def _segment_cut(segments: list[Path], index: int, protocol: Protocol,
                 frames_before: int) -> tuple[int | None, float]:
    """(frames of segment ``index`` to keep: up to where the next resumed, or None for all;
    the time offset in fs that makes its frame times continue those before it)."""
    limit = None
    if index + 1 < len(segments):
        limit = _resumed_from(segments[index + 1]) // protocol.dump_steps - frames_before
    offset = 0.0
    if index > 0:
        offset = ((protocol.production_first_step + _resumed_from(segments[index]))
                  * protocol.time_step_fs)
    return limit, offset


def _merge_frames(segments: list[Path], protocol: Protocol, target) -> int:
    """Join the dumps of the segments, each cut where the next resumed, Time continuous."""
    total = 0
    for index, segment in enumerate(segments):
        limit, offset = _segment_cut(segments, index, protocol, total)
        total += _copy_frames(segment / DUMP_NAME, target, limit, offset)
    return total


def _merge_netcdf_frames(segments: list[Path], protocol: Protocol, target: Path) -> int:
    """The dump_netcdf files of the segments as one NetCDF trajectory (mdinsim's writer, the same
    layout), each cut where the next resumed, time continuous."""
    total = 0
    writer = None
    try:
        for index, segment in enumerate(segments):
            limit, offset = _segment_cut(segments, index, protocol, total)
            with NetcdfReader(segment / NETCDF_DUMP_NAME,
                              species_from=segment / POTENTIAL_NAME) as reader:
                if writer is None:
                    writer = NetcdfTrajectoryWriter(target, reader.types,
                                                    velocities=protocol.dump_velocities,
                                                    program="GPUMD (joined by mdinsim)")
                times = reader.frame_times_fs()
                for frame, positions in enumerate(reader.frames()):
                    if limit is not None and frame >= limit:
                        break
                    writer.write(positions, reader.cell, times[frame] + offset,
                                 reader.velocities_angstrom_per_fs(frame))
                    total += 1
    finally:
        if writer is not None:
            writer.close()
    return total


def _merge_thermo(segments: list[Path], protocol: Protocol) -> dict[str, np.ndarray]:
    """thermo.out of the segments as one table in thermo.csv columns, with exact steps."""
    n_eq_rows, n_th_rows, _ = _expected_rows(protocol)
    parts = []
    for index, segment in enumerate(segments):
        path = segment / THERMO_OUT
        table = outputs.read_gpumd_thermo(path)
        n_rows = len(table["step"])
        if index == 0:
            eq = min(n_eq_rows, n_rows)
            th = min(n_th_rows, n_rows - eq)
            steps = np.concatenate([
                (np.arange(eq) + 1) * protocol.thermo_steps,
                protocol.equilibration_steps + (np.arange(th) + 1) * protocol.thermo_steps,
                protocol.production_first_step
                + (np.arange(n_rows - eq - th) + 1) * protocol.thermo_steps])
            phases = (["equilibration"] * eq + ["thermalisation"] * th
                      + ["production"] * (n_rows - eq - th))
        else:
            first = protocol.production_first_step + _resumed_from(segment)
            steps = first + (np.arange(n_rows) + 1) * protocol.thermo_steps
            phases = ["production"] * n_rows
        table["step"] = steps.astype(np.int64)
        table["phase"] = np.array(phases, dtype=object)
        table["time_fs"] = steps * protocol.time_step_fs
        if index + 1 < len(segments):
            keep = steps <= protocol.production_first_step + _resumed_from(segments[index + 1])
            table = {name: values[keep] for name, values in table.items()}
        parts.append(table)
    if not parts:
        raise InputFileError(segments[0] if segments else Path("."), "no GPUMD output")
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
