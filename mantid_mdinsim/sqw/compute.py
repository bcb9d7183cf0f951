"""MDComputeSqw's core: trajectories -> S(|Q|, E) (or S(q, E) per q-point), S(E) and partials.

:func:`compute_sqw` takes the settings of :data:`~.parameters.SQW_PARAMETERS` (a
:class:`~.parameters.SqwSettings`, or values by name) and returns an
:class:`SqwResult`, whose :meth:`~SqwResult.workspaces` are the Spectrum/Table objects that the
Mantid algorithm turns into workspaces and :meth:`~SqwResult.save` writes (processed NeXus and a
PNG colour map).

Statistics: all windows of all runs are pooled (for one run this is exactly dynasor's estimate).
The errors (E) are standard errors of the mean from the spread of independent samples: the runs
when there are several trajectories; for a single trajectory, consecutive segments of it (batch
means, each about ten windows long). With a single sample the errors are zero and the logs say
so (``errors_method``).

Checkpoints: with ``checkpoint=path``, the sums are saved (atomically) after each completed
sample at most every ``checkpoint_interval_s``; a later call with the same parameters and files
resumes from there, and a successful run removes the file.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
from ase import units
from ase.data import atomic_masses, atomic_numbers

from .. import execution, steps
from ..approximation import FULL, INCOHERENT
from ..approximation import LOG_NAME as APPROXIMATION_LOG
from ..errors import InputFileError, ParameterError
from ..io.atomic import atomic_path
from ..io.nexus import save_processed_nexus
from ..io.paths import file_digest
from ..io.trajectory import TrajectoryReader, open_trajectory
from ..progress import ProgressReporter, ensure_progress
from ..provenance import provenance_logs
from ..spectrum import Axis, Spectrum, Table, energy_axis, momentum_axis, text_axis
from . import WORKER_MODULES, averaging
from .correlation import (DEFAULT_MEMORY_BYTES, BlockPlan, CorrelationSums, species_pairs,
                          too_short_error)
from .engines import make_correlator, resolve_engine
from .parameters import SqwSettings
from .pieces import correlate_in_pieces
from .qpoints import (QPoints, average_structure, file_qpoints, find_primitive_cell, path_qpoints,
                      spherical_qpoints)
from .weights import ScatteringWeights, scattering_weights

if TYPE_CHECKING:
    from ..plot_process import PlotProcess

STEP_NAME = steps.SQW
#: A batch of a single trajectory spans about this many windows (batch means for the errors).
BATCH_WINDOWS = 10
#: Frames averaged to find the primitive cell of a --q-path calculation.
PRIMITIVE_FRAMES = 50
#: Largest relative difference of the cells of independent runs of one system.
RUN_CELL_TOLERANCE = 0.02
#: A kinetic temperature of the atoms' motion between frames above this (K) is reported as
#: unphysical: that estimate is a lower bound (motion between frames is partly undone within
#: the interval), so a trajectory over it has blown up (seen: an MD run at 1.8e13 K).
UNPHYSICAL_TEMPERATURE_K = 1.0e4


@dataclass
class SqwResult:
    """S(q, E) from one call of :func:`compute_sqw`.

    Attributes
    ----------
    settings
        The validated settings.
    energy_mev
        Energy transfer, meV, from -E_max to E_max (2W + 1 points; positive = neutron energy
        loss).
    rows_inv_angstrom
        The vertical axis: |Q| shell centres, or |q| of each q-point with ``per_q``.
    q_points
        The q-points used (Cartesian, 1/Angstrom).
    parts
        ``name -> (values, errors)``, each ``(n_rows, 2W + 1)`` in 1/meV times the weight unit:
        ``total`` (in the chosen ``approximation``), ``coherent``, ``incoherent``, the
        partials ``coherent_A_B``, ``incoherent_A``, and with the incoherent approximation
        ``full`` (the coherent + incoherent total, for comparison).
    q_average
        ``name -> (values, errors)``, each ``(2W + 1,)``: the average over all q-points.
    logs
        Sample logs: provenance, weights, q-points, statistics.
    """

    settings: SqwSettings
    energy_mev: np.ndarray
    rows_inv_angstrom: np.ndarray
    q_points: QPoints
    parts: dict[str, tuple[np.ndarray, np.ndarray]]
    q_average: dict[str, tuple[np.ndarray, np.ndarray]]
    unit_label: str
    logs: dict[str, Any] = field(default_factory=dict)

    @property
    def per_q(self) -> bool:
        return bool(self.settings.per_q)

    def _part_title(self, name: str) -> str:
        if name == "total" and self.settings.approximation == INCOHERENT:
            return "total in the incoherent approximation"
        if name == "full":
            return "full total (coherent + incoherent)"
        return name.replace("_", " ")

    def _part_logs(self, name: str) -> dict[str, Any]:
        """The logs of one output: the approximation log says what a total holds (``full``
        for ``sqw_full``); parts and partials, which are neither, do not carry it."""
        logs = dict(self.logs)
        if name == "full":
            logs[APPROXIMATION_LOG] = FULL
        elif name != "total":
            logs.pop(APPROXIMATION_LOG, None)
        return logs

    def workspaces(self) -> list[Spectrum | Table]:
        """The outputs as Spectrum/Table objects: ``sqw`` (the weighted total in the chosen
        approximation; with the incoherent one, ``sqw_full`` holds the full total), ``sqw_coherent``,
        ``sqw_incoherent``, the partials ``sqw_coherent_A_B`` and ``sqw_incoherent_A``, ``sw``
        (the q-averaged parts, one labelled spectrum each) and ``qpoints`` (a table)."""
        x = energy_axis(self.energy_mev)
        vertical = momentum_axis(self.rows_inv_angstrom)
        kind = "S(q,E) per q-point" if self.per_q else "S(|Q|,E)"
        result: list[Spectrum | Table] = []
        for name, (values, errors) in self.parts.items():
            workspace_name = "sqw" if name == "total" else f"sqw_{name}"
            result.append(Spectrum(
                x=x.copy(), values=values, errors=errors, vertical=vertical.copy(),
                distribution=True, y_unit="", y_unit_label=self.unit_label,
                title=f"{kind}, {self._part_title(name)} ({self.settings.weights} weights)",
                name=workspace_name, logs=self._part_logs(name)))
        names = list(self.q_average)
        result.append(Spectrum(
            x=x.copy(), values=np.array([self.q_average[n][0] for n in names]),
            errors=np.array([self.q_average[n][1] for n in names]), vertical=text_axis(names),
            distribution=True, y_unit="", y_unit_label=self.unit_label,
            title=f"S(E) averaged over the q-points ({self.settings.weights} weights)",
            name="sw", logs=self._part_logs("sw")))
        columns: dict[str, Any] = {
            "qx": self.q_points.cartesian[:, 0].copy(), "qy": self.q_points.cartesian[:, 1].copy(),
            "qz": self.q_points.cartesian[:, 2].copy(), "q": self.q_points.norms,
            "n1": self.q_points.indices[:, 0].copy(), "n2": self.q_points.indices[:, 1].copy(),
            "n3": self.q_points.indices[:, 2].copy()}
        units = {name: "1/Angstrom" for name in ("qx", "qy", "qz", "q")}
        for name, column in self.q_points.columns.items():
            columns[name] = list(column) if name == "label" else np.asarray(column)
        if "path_distance" in columns:
            units["path_distance"] = "1/Angstrom"
        result.append(Table(columns, units=units, title="q-points (1/Angstrom; n: integer "
                            "coordinates on the reciprocal supercell lattice)", name="qpoints",
                            logs=dict(self.logs)))
        return result

    def save(self, path: str | os.PathLike, plot: bool = True,
             plotter: "PlotProcess | None" = None) -> list[Path]:
        """Write the processed NeXus file ``path`` and, with ``plot``, a PNG colour map of the
        total beside it (``<stem>.png``; drawn by ``plotter`` while the NeXus file is written,
        where one is given). Returns the files written."""
        path = Path(path)
        picture = self.save_plot(path.with_suffix(".png"), plotter) if plot else None
        if plotter is None:
            written = [save_processed_nexus(path, self.workspaces())]
        else:
            try:
                written = [save_processed_nexus(path, self.workspaces())]
            except BaseException:
                plotter.discard(*([picture] if picture else []))   # no picture of nothing
                raise
            plotter.wait()
        return written + ([picture] if picture else [])

    def save_plot(self, path: str | os.PathLike,
                  plotter: "PlotProcess | None" = None) -> Path:
        """Colour map of the total, logarithmic, without the elastic line (|E| < 1.5 energy
        steps), which would set the colour scale; q-point index up with ``per_q``. Drawn by
        ``plotter`` (a :class:`~..plot_process.PlotProcess`) where given."""
        total = next(w for w in self.workspaces() if w.name == "sqw")
        step = float(self.energy_mev[1] - self.energy_mev[0])
        values = total.values.copy()
        values[:, np.abs(self.energy_mev) < 1.5 * step] = np.nan
        changes: dict[str, Any] = {"values": values,
                                   "title": total.title + ", elastic line left out"}
        if self.per_q:
            changes["vertical"] = Axis(values=np.arange(total.n_spectra, dtype=float),
                                       unit="Label", caption="q-point", label="index")
        if total.n_spectra == 1:
            changes["vertical"] = None
        total = total.copy(**changes)
        finite = values[np.isfinite(values)]
        log_scale = bool(finite.size and np.any(finite > 0))
        if plotter is not None:
            return plotter.save_plot(total, path, log_scale=log_scale)
        from ..plotting import save_plot  # matplotlib takes seconds; only a plot needs it

        return save_plot(total, path, log_scale=log_scale)


# ------------------------------------------------------------------------------------------
class UnphysicalTrajectoryWarning(UserWarning):
    """The trajectory moves as no physical system does (S(q,w) is computed, with this note)."""


def compute_sqw(parameters: SqwSettings | Mapping[str, Any] | None = None,
                progress: ProgressReporter | None = None, *,
                checkpoint: str | os.PathLike | None = None,
                checkpoint_interval_s: float = 300.0,
                memory_bytes: int = DEFAULT_MEMORY_BYTES, **kwargs: Any) -> SqwResult:
    """Compute S(q, E) from MD trajectories; see :data:`~.parameters.SQW_PARAMETERS`.

    Parameters
    ----------
    parameters, kwargs
        The settings (:class:`~.parameters.SqwSettings`), or values by name
        (``trajectories``, ``time_step_fs``, ``window``, ...), validated into one.
    progress
        Receives the fraction done; cancelling raises :class:`~mantid_mdinsim.errors.Cancelled`
        between blocks of frames (nothing is written).
    checkpoint
        File for the partial sums of a long run, to resume an interrupted one.
    memory_bytes
        Budget for the frame buffer and the FFT work arrays.
    """
    settings = SqwSettings.from_values(parameters, **kwargs)
    # local workers load the kernels while this process opens and checks the trajectories
    execution.prepare(settings.scheduler, settings.threads_per_worker, WORKER_MODULES)
    progress = ensure_progress(progress)
    paths = [Path(p) for p in settings.trajectories]
    _check_distinct(paths)
    readers = []
    try:
        for path in paths:
            readers.append(open_trajectory(path, species_from=settings.species_from))
        time_step_fs = _frame_interval_fs(readers, settings.time_step_fs)
        if settings.time_step_fs is None:
            settings = settings.replace(time_step_fs=time_step_fs)
        with execution.session(settings.scheduler, settings.threads_per_worker,
                               preload=WORKER_MODULES):
            return _compute(settings, readers, progress, checkpoint, checkpoint_interval_s,
                            memory_bytes)
    finally:
        for reader in readers:
            reader.close()


#: Relative mismatch between --time-step-fs and the frame times of a file that is refused.
FRAME_INTERVAL_TOLERANCE = 1e-3


def _frame_interval_fs(readers: list[TrajectoryReader], time_step_fs: float | None) -> float:
    """The time between stored frames (fs): ``time_step_fs`` where given, refused where it
    disagrees with the frame times a file records; else the frame times the files record, which
    must agree (independent runs of one frame interval) and be recorded by every file.

    The time between stored frames is easily confused with the MD integration time step (they
    differ by the dump interval), and every energy would scale by their ratio without notice.
    """
    if time_step_fs is None:
        recorded = [reader.frame_interval_fs for reader in readers]
        for reader, interval in zip(readers, recorded):
            if interval is None:
                raise ParameterError(
                    "time_step_fs", f"is needed: {reader.path} records no frame times",
                    "give --time-step-fs: the time between stored frames, which is the MD "
                    "time step times the dump interval")
        first = recorded[0]
        for reader, interval in zip(readers, recorded):
            if abs(interval - first) > FRAME_INTERVAL_TOLERANCE * first:
                raise ParameterError(
                    "time_step_fs", f"the frames of {readers[0].path} are {first:g} fs apart, "
                    f"those of {reader.path} {interval:g} fs (the frame times the files "
                    "record)", "give independent runs of one frame interval")
        return first
    for reader in readers:
        recorded = reader.frame_interval_fs
        if recorded is not None and abs(recorded - time_step_fs) > (
                FRAME_INTERVAL_TOLERANCE * recorded):
            raise ParameterError(
                "time_step_fs", f"{time_step_fs:g} fs, but the frames of {reader.path} are "
                f"{recorded:g} fs apart (the frame times the file records)",
                f"give --time-step-fs {recorded:g}, or none (the frame times are taken): the "
                "time between stored frames, which is the MD time step times the dump "
                "interval")
    return time_step_fs


class _MotionCheck:
    """The kinetic temperature implied by the atoms' motion between consecutive frames,
    sum m |dr|^2 / (3 N k_B dt^2) (minimum image), its largest value over the frames: a lower
    bound of the real temperature, far above any real one where a run has blown up."""

    def __init__(self, species: list[str], cell: np.ndarray, frame_interval_fs: float):
        known = {"D": 2.014, "T": 3.016}
        masses = [known.get(s) or (atomic_masses[atomic_numbers[s]] if s in atomic_numbers
                                   else np.nan) for s in species]
        self.masses = np.asarray(masses, dtype=float)
        self.cell = np.asarray(cell, dtype=float)
        self.scale = 1.0 / (3 * len(species) * units.kB * (frame_interval_fs * units.fs) ** 2)
        self.previous: np.ndarray | None = None
        self.highest_k = 0.0
        self.frame = -1

    def reset(self) -> None:
        self.previous = None

    def add(self, fractional: np.ndarray, frame: int) -> None:
        if self.previous is not None:
            step = fractional - self.previous
            step -= np.round(step)
            displacement = step @ self.cell
            temperature = float(np.nansum(self.masses * np.einsum("ij,ij->i", displacement,
                                                                  displacement)) * self.scale)
            if temperature > self.highest_k:
                self.highest_k, self.frame = temperature, frame
        self.previous = fractional.copy()

    def warning(self, paths: list[Path]) -> str | None:
        if self.highest_k <= UNPHYSICAL_TEMPERATURE_K:
            return None
        return (f"the atoms move between frames as at {self.highest_k:.3g} K or more (around "
                f"frame {self.frame}, {', '.join(p.name for p in paths)}): an unphysical "
                "trajectory (the MD run blew up?); check the MD run's thermo output and its "
                "temperature before trusting this S(q,w)")


def _check_distinct(paths: list[Path]) -> None:
    """Refuse a trajectory given twice, under its name or as a copy: averaged as two
    independent runs it would halve nothing and give zero error bars. Files are compared by
    size first and by content (SHA-256) only where sizes are equal."""
    if len(paths) < 2:
        return
    sizes: dict[int, list[Path]] = {}
    for path in paths:
        if path.is_file():
            sizes.setdefault(path.stat().st_size, []).append(path)
    for same_size in sizes.values():
        if len(same_size) < 2:
            continue
        seen: dict[str, Path] = {}
        for path in same_size:
            digest = file_digest(path)
            if digest in seen:
                first = seen[digest]
                what = ("is given twice" if first.resolve() == path.resolve() else
                        f"has the same content as {first}")
                raise InputFileError(path, f"{what}: the trajectories are averaged as "
                                     "independent runs, and one run counted twice gives wrong "
                                     "error bars", where="parameter 'trajectories'",
                                     fix="give each independent run once")
            seen[digest] = path


def _check_runs(readers: list[TrajectoryReader]) -> None:
    first = readers[0]
    for reader in readers[1:]:
        if reader.n_atoms != first.n_atoms or reader.species != first.species:
            raise InputFileError(reader.path, f"holds {reader.n_atoms} atoms "
                                 f"({_composition(reader.species)}); {first.path.name} holds "
                                 f"{first.n_atoms} ({_composition(first.species)})",
                                 where="frame 0", fix="average only independent runs of the "
                                 "same system, with the atoms in the same order")
        change = np.max(np.abs(reader.cell - first.cell)) / np.max(np.abs(first.cell))
        if change > RUN_CELL_TOLERANCE:
            raise InputFileError(reader.path, f"its cell differs from that of {first.path.name} "
                                 f"by {100 * change:.2g}%", where="frame 0",
                                 fix="average only runs of the same system and volume")


def _composition(species: list[str]) -> str:
    names, counts = np.unique(species, return_counts=True)
    return " ".join(f"{n}{c}" for n, c in zip(names, counts))


def _choose_qpoints(settings: SqwSettings, reader: TrajectoryReader) -> QPoints:
    cell = reader.cell
    if settings.q_file and settings.q_path:
        raise ParameterError("q_file", "--q-file and --q-path both choose the q-points",
                             "give one of them")
    if settings.q_file:
        return file_qpoints(settings.q_file, cell)
    if settings.q_path:
        if settings.primitive_cell:
            from ase.io import read  # ase.io takes seconds to import; only this option needs it

            try:
                primitive = read(settings.primitive_cell).cell.array
            except Exception as error:
                raise InputFileError(settings.primitive_cell, f"cannot be read as a structure "
                                     f"({error})", fix="give a structure file whose cell is "
                                     "the primitive cell (CIF, POSCAR, extended XYZ)") from None
            volume = abs(float(np.linalg.det(primitive)))
            if not np.all(np.isfinite(primitive)) or not np.isfinite(volume) or volume < 1e-6:
                # a plain XYZ has no cell: its zero matrix ended in a LinAlgError
                raise InputFileError(settings.primitive_cell, "holds no three-dimensional "
                                     "cell", fix="give a structure file whose cell is the "
                                     "primitive cell (CIF, POSCAR, extended XYZ with "
                                     "Lattice=)")
            notes = {"primitive_cell_source": str(settings.primitive_cell)}
        else:
            frames = list(itertools.islice(reader.frames(), PRIMITIVE_FRAMES))
            positions = average_structure(frames, cell)
            primitive, symprec = find_primitive_cell(cell, positions, reader.species)
            notes = {"primitive_cell_source": f"spglib on the mean of the first {len(frames)} "
                     f"frames, tolerance {symprec:g} Angstrom"}
        q_points = path_qpoints(cell, settings.q_path, primitive, settings.zones,
                                settings.q_max_inv_angstrom, settings.seed)
        q_points.notes.update(notes)
        return q_points
    if settings.q_max_inv_angstrom is None:
        raise ParameterError("q_max_inv_angstrom", "no q-points are chosen",
                             "give --q-max (spherical sampling), --q-path or --q-file")
    return spherical_qpoints(cell, settings.q_max_inv_angstrom, settings.q_count,
                             settings.seed)


@dataclass
class _Context:
    """What turns correlation sums into output arrays."""

    n_atoms: int
    species: list[str]
    pairs: list[tuple[int, int]]
    weights: ScatteringWeights
    time_step_fs: float
    q_norms: np.ndarray
    reduce: np.ndarray | None      # (n_rows, n_q) shell weights, or None for per-q
    incoherent: bool
    approximation: str = FULL

    def outputs(self, sums: CorrelationSums) -> dict[str, np.ndarray]:
        """Output arrays at E >= 0: ``rows:<part>`` (n_rows, W+1) and ``mean:<part>`` (W+1,)."""
        coherent, incoherent = sums.intermediate_scattering(self.n_atoms)
        spectra: dict[str, np.ndarray] = {}
        s_coherent = averaging.spectrum_from_correlation(coherent, self.time_step_fs)
        total_coherent = 0.0
        for index, (a, b) in enumerate(self.pairs):
            first, second = self.species[a], self.species[b]
            weight = self.weights.pair_weight(first, second, self.q_norms)
            spectra[f"coherent_{first}_{second}"] = s_coherent[index] * weight[:, None]
            total_coherent = total_coherent + spectra[f"coherent_{first}_{second}"]
        parts = {"total": None, "coherent": total_coherent}
        if incoherent is not None:
            s_incoherent = averaging.spectrum_from_correlation(incoherent, self.time_step_fs)
            total_incoherent = 0.0
            for a, symbol in enumerate(self.species):
                weight = self.weights.incoherent_weight(symbol)
                spectra[f"incoherent_{symbol}"] = s_incoherent[a] * weight
                total_incoherent = total_incoherent + spectra[f"incoherent_{symbol}"]
            parts["incoherent"] = total_incoherent
        parts["total"] = parts["coherent"] + (parts["incoherent"] if incoherent is not None
                                              and self.weights.incoherent_in_total else 0.0)
        if self.approximation == INCOHERENT:
            # Each species' self part, weighted by <|f|^2> instead of the incoherent weight;
            # the full total is kept beside it (sqw_full) for comparison.
            parts["full"] = parts["total"]
            parts["total"] = sum(
                s_incoherent[a] * self.weights.incoherent_approximation_weight(
                    symbol, self.q_norms)[:, None] for a, symbol in enumerate(self.species))
        parts.update(spectra)
        result = {}
        for name, values in parts.items():
            result[f"rows:{name}"] = values if self.reduce is None else self.reduce @ values
            result[f"mean:{name}"] = values.mean(axis=0)
        return result


class _Spread:
    """Weighted mean and spread of per-sample outputs (West's weighted Welford update)."""

    def __init__(self) -> None:
        self.count = 0
        self.weight = 0.0
        self.mean: dict[str, np.ndarray] = {}
        self.m2: dict[str, np.ndarray] = {}

    def add(self, outputs: dict[str, np.ndarray], weight: float) -> None:
        self.count += 1
        self.weight += weight
        for name, value in outputs.items():
            if name not in self.mean:
                self.mean[name] = np.zeros_like(value)
                self.m2[name] = np.zeros_like(value)
            delta = value - self.mean[name]
            self.mean[name] += (weight / self.weight) * delta
            self.m2[name] += weight * delta * (value - self.mean[name])

    def standard_errors(self) -> dict[str, np.ndarray] | None:
        """sqrt(sum w (x - mean)^2 / ((n - 1) sum w)): the standard error of the mean for n
        samples of equal weight; None below two samples."""
        if self.count < 2:
            return None
        scale = 1.0 / ((self.count - 1) * self.weight)
        return {name: np.sqrt(np.maximum(m2, 0.0) * scale) for name, m2 in self.m2.items()}

    def state(self) -> dict[str, np.ndarray]:
        state = {"spread_count": np.array(self.count), "spread_weight": np.array(self.weight)}
        for name in self.mean:
            state[f"spread_mean|{name}"] = self.mean[name]
            state[f"spread_m2|{name}"] = self.m2[name]
        return state

    def restore(self, state: Mapping[str, np.ndarray]) -> None:
        self.count = int(state["spread_count"])
        self.weight = float(state["spread_weight"])
        for key, value in state.items():
            if key.startswith("spread_mean|"):
                self.mean[key.split("|", 1)[1]] = np.array(value)
            elif key.startswith("spread_m2|"):
                self.m2[key.split("|", 1)[1]] = np.array(value)


#: A window more than this many times the frames a text or NetCDF file holds (and 64 more)
#: is refused before reading it.
_FAR_BEYOND_FRAMES = 4


def _compute(settings: SqwSettings, readers: list[TrajectoryReader],
             progress: ProgressReporter, checkpoint: str | os.PathLike | None,
             checkpoint_interval_s: float, memory_bytes: int) -> SqwResult:
    _check_runs(readers)
    first = readers[0]
    window = settings.window
    for reader in readers:
        estimate = reader.estimated_frame_count()
        # ASE counts its frames; text and NetCDF files may still grow (a run being written)
        # and text counts are estimates, so these are refused here only far beyond their
        # frames (the frames read give the exact message): --window 1e18 hung in the block
        # plan, and a large one ran out of memory allocating its sums before any frame was read.
        if estimate is not None and (
                estimate < window + 1 if reader.format == "ase"
                else _FAR_BEYOND_FRAMES * estimate + 64 < window + 1):
            raise too_short_error(reader, estimate, window,
                                  estimated=reader.format != "ase")
    species = sorted(set(first.species))
    try:
        weights = scattering_weights(settings.weights, species)
    except ParameterError as error:
        raise InputFileError(first.path, error.problem, where="frame 0, species",
                             fix=error.fix) from None
    approximation = settings.approximation
    if approximation == INCOHERENT and settings.incoherent == "no":
        raise ParameterError("incoherent", "the incoherent approximation is made of the "
                             "self (incoherent) part, which --incoherent no leaves out",
                             "give --incoherent auto (or yes) with --approximation incoherent")
    incoherent = {"yes": True, "no": False}.get(
        settings.incoherent, settings.weights in ("neutron", "none")
        or approximation == INCOHERENT)
    engine = resolve_engine(settings.engine, settings.device, settings.precision)
    progress.report(0.0, "choosing q-points")
    q_points = _choose_qpoints(settings, first)
    q_norms = q_points.norms
    step = settings.q_step_inv_angstrom or settings.q_width_inv_angstrom
    if settings.per_q:
        rows, reduce, empty = q_norms, None, np.zeros(len(q_norms), dtype=bool)
    else:
        rows = averaging.shell_grid(q_norms, step, "q_step_inv_angstrom"
                                    if settings.q_step_inv_angstrom else "q_width_inv_angstrom")
        reduce, empty = averaging.shell_weights(q_norms, rows, settings.q_width_inv_angstrom)
    species_index = np.searchsorted(species, first.species)
    context = _Context(first.n_atoms, species, [], weights, settings.time_step_fs, q_norms,
                       reduce, incoherent, approximation)

    store = _Checkpoint(checkpoint, settings, readers, q_points) if checkpoint else None
    executor = execution.active()
    state = store.load() if store and not executor.spec.distributed else None
    spread = _Spread()
    total: CorrelationSums | None = None
    start_run, start_frame, frames_per_run = 0, 0, [0] * len(readers)
    if executor.spec.distributed:
        # On a cluster: pieces merged in a fixed order (.pieces); the loop below has no runs
        # left to stream.
        context.pairs = species_pairs(len(species))
        total, frames_per_run = correlate_in_pieces(
            executor, readers, species_index, len(species), q_points.indices, window,
            incoherent, memory_bytes, _batch_blocks(window, first.n_atoms, incoherent,
                                                    len(species), len(q_norms), memory_bytes),
            lambda sample, total: _add_sample(sample, context, spread, total),
            progress.sub(0.0, 0.98), checkpoint, store.key if store else "", engine=engine,
            species_from=settings.species_from)
        start_run = len(readers)
    if state is not None:
        spread.restore(state)
        total = CorrelationSums(state["total_coherent"],
                                state.get("total_incoherent"), state["total_counts"],
                                int(state["total_frames"]))
        start_run, start_frame = int(state["run"]), int(state["frame"])
        frames_per_run = [int(v) for v in state["frames_per_run"]]
    estimates = [r.estimated_frame_count() or 1 for r in readers]
    all_frames = float(sum(estimates))
    done_before = float(sum(estimates[:start_run]) + start_frame)
    last_report = last_save = time.monotonic()
    single = len(readers) == 1
    motion = _MotionCheck(first.species, first.cell, settings.time_step_fs)

    for run in range(start_run, len(readers)):
        reader = readers[run]
        inverse_cell = np.linalg.inv(reader.cell)
        correlator = make_correlator(engine, species_index, len(species), q_points.indices,
                                     window, incoherent, memory_bytes=memory_bytes)
        context.pairs = correlator.pairs
        batch_blocks = _batch_blocks(window, first.n_atoms, incoherent, len(species),
                                     len(q_norms), memory_bytes)
        first_frame = start_frame if run == start_run else 0
        frame = first_frame
        blocks_at_batch = blocks_reported = 0
        motion.reset()
        for positions in reader.frames(start=first_frame):
            fractional = positions @ inverse_cell
            motion.add(fractional, frame)
            correlator.push(fractional)
            frame += 1
            if single and correlator.blocks_done - blocks_at_batch >= batch_blocks:
                blocks_at_batch = correlator.blocks_done
                total = _add_sample(correlator.take(), context, spread, total)
                next_start = frame - correlator.held_frames
                if store and time.monotonic() - last_save > checkpoint_interval_s:
                    frames_per_run[run] = frame
                    store.save(spread, total, run, next_start, frames_per_run)
                    last_save = time.monotonic()
            now = time.monotonic()
            if correlator.blocks_done != blocks_reported or now - last_report > 0.5:
                # Every block (the unit of work), and twice a second within long blocks.
                last_report, blocks_reported = now, correlator.blocks_done
                fraction = (done_before + frame - first_frame) / max(all_frames, 1.0)
                progress.report(min(fraction, 0.99), f"run {run + 1}/{len(readers)}: frame "
                                f"{frame} of ~{estimates[run]}")
        correlator.finish()
        correlator.close()
        if frame < window + 1:
            raise too_short_error(reader, frame, window)
        frames_per_run[run] = frame
        sample = correlator.take()
        if sample.windows > 0:
            total = _add_sample(sample, context, spread, total)
        done_before += frame - first_frame
        if store and run + 1 < len(readers):
            store.save(spread, total, run + 1, 0, frames_per_run)
        progress.report(min(done_before / all_frames, 0.99), f"run {run + 1} done")

    progress.report(0.99, "writing spectra")
    pooled = context.outputs(total)
    errors = spread.standard_errors()
    energies = averaging.energy_points_mev(window, settings.time_step_fs)
    parts, q_average = {}, {}
    for key, values in pooled.items():
        kind, name = key.split(":", 1)
        error = errors[key] if errors is not None else np.zeros_like(values)
        values, error = averaging.two_sided(values), averaging.two_sided(error)
        if kind == "rows":
            values[empty] = np.nan
            error[empty] = np.nan
            parts[name] = (values, error)
        else:
            q_average[name] = (values, error)
    logs = _logs(settings, readers, species, weights, q_points, window, frames_per_run, spread,
                 single, int(np.count_nonzero(empty)), incoherent)
    logs["engine"] = engine.label
    unphysical = motion.warning([r.path for r in readers])
    if unphysical:
        warnings.warn(unphysical, UnphysicalTrajectoryWarning, stacklevel=3)
        logs["trajectory_warnings"] = unphysical
    if store:
        store.remove()
    progress.report(1.0, "done")
    return SqwResult(settings, averaging.two_sided_energies(energies), np.asarray(rows, float),
                     q_points, parts, q_average, weights.unit_label, logs)


def _batch_blocks(window: int, n_atoms: int, incoherent: bool, n_species: int, n_q: int,
                  memory_bytes: int) -> int:
    """Blocks per sample of a single trajectory (batch means over about BATCH_WINDOWS
    windows); also the frame block of the pieces on a cluster."""
    plan = BlockPlan.choose(window, n_atoms, incoherent, n_species, n_q, memory_bytes)
    return max(1, round(BATCH_WINDOWS * window / plan.starts))


def _add_sample(sample: CorrelationSums, context: _Context, spread: _Spread,
                total: CorrelationSums | None) -> CorrelationSums:
    if sample.windows > 0 and np.all(sample.counts > 0):
        spread.add(context.outputs(sample), float(sample.windows))
    return sample if total is None else total + sample


def _logs(settings: SqwSettings, readers, species, weights, q_points, window, frames_per_run, spread, single,
          empty_shells, incoherent) -> dict[str, Any]:
    first = readers[0]
    logs = provenance_logs(STEP_NAME, settings)
    logs.update(weights.logs)
    logs.update({key: value for key, value in q_points.notes.items()})
    names, counts = np.unique(first.species, return_counts=True)
    resolution = averaging.energy_resolution_mev(window, settings.time_step_fs)
    logs.update({
        "n_atoms": int(first.n_atoms),
        "species": " ".join(species),
        "composition": " ".join(f"{n}:{c}" for n, c in zip(names, counts)),
        "supercell": np.asarray(first.cell, float).reshape(-1),
        "frames_per_run": np.asarray(frames_per_run, dtype=float),
        "runs": len(readers),
        "energy_resolution_mev": float(resolution),
        "energy_max_mev": float(resolution * window),
        "incoherent_computed": int(incoherent),
        "incoherent_in_total": int(incoherent and weights.incoherent_in_total),
        APPROXIMATION_LOG: settings.approximation,
        "empty_shells": int(empty_shells),

        "normalisation": "per atom (1/N of all atoms); integral over E of S(q,E) = F(q,t=0); "
                         "E in meV, S in 1/meV times the weight unit",
        "samples_for_errors": int(spread.count),
        "errors_method": ("none: a single sample, the errors are zero" if spread.count < 2 else
                          f"standard error of the mean over {spread.count} "
                          + ("consecutive segments of the trajectory" if single
                             else "independent runs")),
    })
    fraction = weights.coherent_fraction({str(n): int(c) for n, c in zip(names, counts)})
    if fraction is not None:
        logs["coherent_fraction_cross_section"] = fraction
    return logs


class _Checkpoint:
    """Partial sums of a long run, saved atomically, valid only for the same inputs."""

    def __init__(self, path: str | os.PathLike, settings: SqwSettings,
                 readers: list[TrajectoryReader], q_points: QPoints):
        self.path = Path(path)
        identity = settings.as_values(exclude=("output", "plot") + execution.EXECUTION_NAMES)
        identity["files"] = [(str(r.path.resolve()), r.path.stat().st_size,
                              r.path.stat().st_mtime_ns) for r in readers]
        identity["q"] = hashlib.sha1(q_points.indices.tobytes()).hexdigest()
        self.key = hashlib.sha1(json.dumps(identity, sort_keys=True,
                                           default=str).encode()).hexdigest()

    def load(self) -> dict[str, np.ndarray] | None:
        if not self.path.is_file():
            return None
        try:
            with np.load(self.path, allow_pickle=False) as data:
                state = {key: data[key] for key in data.files}
        except Exception:
            return None
        if str(state.get("key", "")) != self.key:
            return None
        return state

    def save(self, spread: _Spread, total: CorrelationSums | None, run: int, frame: int,
             frames_per_run: list[int]) -> None:
        if total is None:
            return
        state = spread.state()
        state.update({"key": np.array(self.key), "run": np.array(run),
                      "frame": np.array(frame), "frames_per_run": np.array(frames_per_run),
                      "total_coherent": total.coherent, "total_counts": total.counts,
                      "total_frames": np.array(total.frames)})
        if total.incoherent is not None:
            state["total_incoherent"] = total.incoherent
        with atomic_path(self.path) as temporary:
            with open(temporary, "wb") as handle:
                np.savez(handle, **state)

    def remove(self) -> None:
        if self.path.is_file():
            self.path.unlink()
