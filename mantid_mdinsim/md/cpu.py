"""The CPU backend: the protocol with ASE dynamics and calorine's CPUNEP, one process per run.

Integrators (ASE):

* NVT: :class:`ase.md.langevinbaoab.LangevinBAOAB` (``langevin``, the default; canonical
  temperature fluctuations in tests/md/test_cpu.py) or :class:`ase.md.bussi.Bussi`
  (``bussi``: stochastic velocity rescaling, GPUMD's ``nvt_bdp``; ASE's gave temperature
  fluctuations up to 1.5 times the canonical width for 64 Si atoms);
* NPT: :class:`~ase.md.langevinbaoab.LangevinBAOAB` with an isotropic Langevin-Hoover barostat
  (hydrostatic: the cell shape is kept, the volume fluctuates; the pressure it holds includes
  the kinetic term), the closest ASE has to GPUMD's stochastic cell rescaling;
* NVE production: :class:`~ase.md.verlet.VelocityVerlet`.

CPUNEP is single-threaded (about 1e4 to 2.4e4 atom-steps/s per core), so independent runs go
to separate processes (``concurrent.futures`` with the spawn start method), one per core.
Every run checkpoints (:mod:`.checkpoint`) and resumes exactly; its outputs stay ``.partial``
until it completes (:mod:`.outputs`).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import threading
import time
import warnings
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np
from ase import Atoms, units

from ..atomistic.inputs import shortest_distance
from ..errors import Cancelled, InputFileError, PhysicsError
from ..execution import available_cores
from ..io.trajectory_species import read_species_source, write_species_file
from ..lifetime import die_with_parent, parent_gone
from ..progress import ProgressReporter, ensure_progress
from . import checkpoint as ckpt
from . import outputs
from .backends import MDJob, RunFolderBackend, execute
from .guards import FIX, runaway_problem
from .msd import DisplacementAccumulator
from .protocol import Protocol

#: Integrator attributes that carry state from one step to the next beyond the atoms and the
#: random generator (LangevinBAOAB's cell momentum and cell force, Bussi's bookkeeping).
_INTEGRATOR_STATE = ("p_eps", "force_eps", "gamma_mod", "transferred_energy")


class _Control:
    """Between chunks of steps: report progress, and stop (after a checkpoint) when asked."""

    def __init__(self, report: Callable[[int], None], should_stop: Callable[[], bool]):
        self._report = report
        self._should_stop = should_stop
        self.interrupted = False     # a deferred Ctrl-C

    def between_chunks(self, steps_done: int) -> None:
        if self.interrupted:
            raise KeyboardInterrupt
        if self._should_stop():
            raise Cancelled("cancelled; the run resumes from its checkpoint when started again")
        self._report(steps_done)


@contextlib.contextmanager
def _deferred_interrupt(control: _Control) -> Iterator[None]:
    """Turn the first Ctrl-C or SIGTERM into a flag checked between chunks (so that the run
    checkpoints a consistent state), the second into an immediate KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    numbers = (signal.SIGINT, signal.SIGTERM)
    previous = {number: signal.getsignal(number) for number in numbers}

    def handler(signum, frame):  # pragma: no cover - exercised by hand
        control.interrupted = True
        for number in numbers:
            signal.signal(number, previous[number])

    for number in numbers:
        signal.signal(number, handler)
    try:
        yield
    finally:
        for number in numbers:
            signal.signal(number, previous[number])


def _thermalize(atoms: Atoms, temperature_k: float, rng: np.random.Generator) -> None:
    """Maxwell-Boltzmann momenta at ``temperature_k`` with zero total momentum."""
    from ase.md.velocitydistribution import Stationary  # ase.md loads ase.io: seconds

    try:
        from ase.md.velocitydistribution import thermalize_momenta  # ase.md loads ase.io: seconds
    except ImportError:  # ASE < 3.29
        from ase.md.velocitydistribution import (  # (as above)
            MaxwellBoltzmannDistribution as thermalize_momenta)
    thermalize_momenta(atoms, temperature_K=temperature_k, rng=rng)
    Stationary(atoms)


def make_integrator(phase: str, protocol: Protocol, atoms: Atoms, temperature_k: float,
                    rng: np.random.Generator):
    """The ASE integrator of ``phase`` (``equilibration`` or ``production``)."""
    dt = protocol.time_step_fs * units.fs
    if phase == "production":
        from ase.md.verlet import VelocityVerlet  # ase.md loads ase.io: seconds

        return VelocityVerlet(atoms, timestep=dt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LangevinBAOAB announces its heuristic barostat mass
        if protocol.equilibration == "npt":
            from ase.md.langevinbaoab import LangevinBAOAB  # ase.md loads ase.io: seconds

            return LangevinBAOAB(atoms, timestep=dt, temperature_K=temperature_k,
                                 externalstress=-protocol.pressure_gpa * units.GPa,
                                 hydrostatic=True,
                                 T_tau=protocol.thermostat_coupling_fs * units.fs,
                                 P_tau=protocol.barostat_coupling_fs * units.fs, rng=rng)
        if protocol.thermostat == "langevin":
            from ase.md.langevinbaoab import LangevinBAOAB  # ase.md loads ase.io: seconds

            return LangevinBAOAB(atoms, timestep=dt, temperature_K=temperature_k,
                                 T_tau=protocol.thermostat_coupling_fs * units.fs, rng=rng)
        from ase.md.bussi import Bussi  # ase.md loads ase.io: seconds

        return Bussi(atoms, timestep=dt, temperature_K=temperature_k,
                     taut=protocol.thermostat_coupling_fs * units.fs, rng=rng)


def thermo_row(atoms: Atoms, step: int, time_step_fs: float, phase: str) -> dict[str, Any]:
    """One row of thermo.csv from the current state (energies eV, pressure GPa incl. the
    kinetic term, volume Angstrom^3)."""
    potential = float(atoms.get_potential_energy())
    kinetic = float(atoms.get_kinetic_energy())
    stress = atoms.get_stress(voigt=True, include_ideal_gas=True)
    return {"step": step, "time_fs": step * time_step_fs, "phase": phase,
            "temperature_k": float(atoms.get_temperature()),
            "pressure_gpa": float(-stress[:3].mean() / units.GPa),
            "potential_energy_ev": potential, "kinetic_energy_ev": kinetic,
            "total_energy_ev": potential + kinetic,
            "volume_angstrom3": float(atoms.get_volume())}


def _phases(protocol: Protocol) -> list[tuple[str, int, int]]:
    """(phase, first step, last step) in global steps."""
    n_eq = protocol.equilibration_steps
    return [("equilibration", 0, n_eq), ("production", n_eq, n_eq + protocol.production_steps)]


@dataclass(frozen=True)
class CPUBackend(RunFolderBackend):
    """Classical MD with ASE and calorine's CPUNEP, ``processes`` runs at once (0: one per
    core); each run checkpoints and resumes exactly (:mod:`.checkpoint`)."""

    processes: int = 0
    name = "cpu"

    def trajectory_name(self, job: MDJob) -> str:
        return outputs.TRAJECTORY_NAMES[job.protocol.trajectory_format]

    def prepare(self, job: MDJob) -> None:
        job.directory.mkdir(parents=True, exist_ok=True)

    def resume(self, job: MDJob, progress: ProgressReporter) -> dict[str, Any] | None:
        if not (job.directory / ckpt.CHECKPOINT_NAME).is_file():
            return None
        return _simulate(self, job, _control(job, progress))

    def run(self, job: MDJob, progress: ProgressReporter) -> dict[str, Any]:
        return _simulate(self, job, _control(job, progress))

    def run_all(self, jobs, progress: ProgressReporter) -> list[dict[str, Any]]:
        return run_jobs(self, jobs, progress)


def _control(job: MDJob, progress: ProgressReporter) -> _Control:
    """Report the steps of ``job`` to ``progress``; its cancellation stops the run (after a
    checkpoint: Cancelled is raised between chunks)."""
    total = max(job.protocol.total_steps, 1)
    return _Control(lambda steps: progress.report(steps / total, f"{job.label}: step {steps}"),
                    lambda: False)


def _simulate(backend: CPUBackend, job: MDJob, control: _Control) -> dict[str, Any]:
    """One classical run, from its checkpoint where there is one, else from the start;
    return its summary."""
    from ..atomistic import calorine_loading  # noqa: F401  - calorine without scikit-learn
    from calorine.calculators import CPUNEP  # calorine: seconds to import, only to run

    spec, protocol = job.spec, job.protocol
    directory = spec.directory
    trajectory_path = directory / backend.trajectory_name(job)
    thermo_path = directory / outputs.THERMO_NAME
    checkpoint_path = directory / ckpt.CHECKPOINT_NAME
    directory.mkdir(parents=True, exist_ok=True)

    atoms = job.atoms.copy()
    atoms.calc = CPUNEP(job.model_path)
    masses = atoms.get_masses()
    accumulator = DisplacementAccumulator(masses)
    trajectory_partial = outputs.partial_path(trajectory_path)
    thermo_partial = outputs.partial_path(thermo_path)
    symbols = atoms.get_chemical_symbols()
    numbers = atoms.get_atomic_numbers()
    elements = _model_elements(job.model_path, symbols)
    integrator_state: dict[str, Any] = {}
    elapsed_s = 0.0
    resumed_from = None
    if checkpoint_path.is_file():
        arrays, meta = ckpt.load_checkpoint(checkpoint_path)
        atoms.set_cell(arrays["cell"], scale_atoms=False)
        atoms.set_positions(arrays["positions"])
        atoms.set_momenta(arrays["momenta"])
        rng = ckpt.restore_generator(meta["rng"])
        step = int(meta["step"])
        accumulator.restore(arrays)
        integrator_state = {name: arrays[f"integrator_{name}"] for name in meta["integrator"]}
        elapsed_s = float(meta["elapsed_s"])
        trajectory = outputs.open_frame_writer(
            protocol.trajectory_format, trajectory_partial, symbols, numbers, elements,
            protocol.dump_velocities, resume_offset=meta["trajectory_bytes"])
        thermo = outputs.AppendFile(thermo_partial, truncate_to=meta["thermo_bytes"])
        resumed_from = step
    else:
        rng = np.random.default_rng(spec.seed)
        _thermalize(atoms, spec.temperature_k, rng)
        step = 0
        trajectory = outputs.open_frame_writer(
            protocol.trajectory_format, trajectory_partial, symbols, numbers, elements,
            protocol.dump_velocities)
        thermo = outputs.AppendFile(thermo_partial, header=outputs.thermo_header())

    dt = protocol.time_step_fs
    started = time.perf_counter()
    cpu_started = time.process_time()
    steps_at_start = step
    dynamics = None

    def save() -> None:
        trajectory.sync()
        thermo.sync()
        arrays = {"positions": atoms.get_positions(), "momenta": atoms.get_momenta(),
                  "cell": np.array(atoms.cell), **accumulator.state()}
        names = []
        for name in _INTEGRATOR_STATE:
            if dynamics is not None and hasattr(dynamics, name):
                arrays[f"integrator_{name}"] = np.asarray(getattr(dynamics, name))
                names.append(name)
        ckpt.save_checkpoint(checkpoint_path, arrays, {
            "step": step, "rng": ckpt.generator_state(rng), "integrator": names,
            # bytes of extended XYZ, or frames of NetCDF
            "trajectory_bytes": trajectory.offset(), "thermo_bytes": thermo.offset(),
            "elapsed_s": elapsed_s + time.perf_counter() - started, "label": spec.label})

    n_atoms = len(atoms)
    created_at = step                       # the step at which the integrator was made
    production_energy: list[float] = []     # total energy at the start of NVE production

    def guard(phase: str, every_step: bool = False) -> None:
        """Stop a run that has become unphysical before its state is written (guards.py).

        ``every_step``: the cheap checks (finite positions, temperature), run after every
        step, because a run blowing up within a chunk reaches coordinates on which the
        force engine's neighbour search never ends (``predict`` hung there)."""
        positions = atoms.get_positions()
        problem = runaway_problem(positions=positions)
        if problem is None and every_step:
            problem = runaway_problem(temperature_k=float(atoms.get_temperature()),
                                      target_k=spec.temperature_k)
        elif problem is None:
            energy_change = None
            if phase == "production":
                total = float(atoms.get_potential_energy() + atoms.get_kinetic_energy())
                if not production_energy:
                    production_energy.append(total)
                energy_change = (total - production_energy[0]) / n_atoms
            problem = runaway_problem(
                temperature_k=float(atoms.get_temperature()), target_k=spec.temperature_k,
                energy_change_ev_per_atom=energy_change,
                closest=shortest_distance(atoms, job.min_atom_distance_angstrom),
                min_distance_angstrom=job.min_atom_distance_angstrom)
        if problem is not None:
            trajectory.sync()
            thermo.sync()
            now = step
            if every_step and dynamics is not None:
                now = created_at + int(getattr(dynamics, "nsteps", 0))
            raise PhysicsError(
                f"{spec.label}: the run was stopped at step {now} ({phase}): {problem}. "
                f"Kept: the frames written before in {trajectory_partial} and the thermo rows "
                f"in {thermo_partial} (started again unchanged, the run would resume from "
                f"its last checkpoint and blow up again); {FIX}")

    with _deferred_interrupt(control), trajectory, thermo:
        for phase, first, last in _phases(protocol):
            if step >= last:
                continue
            dynamics = make_integrator(phase, protocol, atoms, spec.temperature_k, rng)
            for name, value in integrator_state.items():
                if hasattr(dynamics, name):
                    setattr(dynamics, name, value.item() if value.ndim == 0 else value.copy())
            integrator_state = {}
            created_at = step
            dynamics.attach(lambda phase=phase: guard(phase, every_step=True), interval=1)
            while step < last:
                since = step - first
                boundaries = [last - step,
                              protocol.thermo_steps - since % protocol.thermo_steps,
                              protocol.checkpoint_steps - since % protocol.checkpoint_steps]
                if phase == "production":
                    boundaries.append(protocol.dump_steps - since % protocol.dump_steps)
                chunk = min(boundaries)
                if phase == "production" and not production_energy:
                    guard(phase)    # the reference energy of NVE
                dynamics.run(chunk)
                step += chunk
                guard(phase)
                since = step - first
                if since % protocol.thermo_steps == 0:
                    thermo.write(outputs.format_thermo_row(
                        thermo_row(atoms, step, dt, phase)))
                if phase == "production" and since % protocol.dump_steps == 0:
                    positions = atoms.get_positions()
                    velocities = (atoms.get_velocities() * units.fs
                                  if protocol.dump_velocities else None)
                    trajectory.write(positions, np.array(atoms.cell), step * dt, velocities)
                    accumulator.add(positions, np.array(atoms.cell))
                if since % protocol.checkpoint_steps == 0 or step == last:
                    save()
                try:
                    control.between_chunks(step)
                except Cancelled:
                    save()
                    raise
                except KeyboardInterrupt:
                    if control.interrupted:
                        save()   # a deferred Ctrl-C: the state is at a boundary
                    raise
    wall_s = elapsed_s + time.perf_counter() - started
    cpu_s = time.process_time() - cpu_started
    if protocol.trajectory_format == "netcdf":
        write_species_file(trajectory_path, elements)
    os.replace(thermo_partial, thermo_path)
    summary = backend.publish(
        job, outputs.read_thermo_csv(thermo_path), accumulator.result(symbols), wall_s,
        thermo_written=True, steps_this_session=step - steps_at_start,
        resumed_from_step=resumed_from, cpu_s=cpu_s)
    with contextlib.suppress(FileNotFoundError):
        checkpoint_path.unlink()
    return summary


def _model_elements(model_path: str, symbols: list[str]) -> list[str]:
    """The NEP model's elements in its order (the type indices of NetCDF trajectories, as
    GPUMD's), or the run's species sorted where the header cannot be read."""
    try:
        elements = read_species_source(model_path).elements
    except InputFileError:
        elements = None
    if not elements or not set(symbols) <= set(elements):
        return sorted(set(symbols))
    return list(elements)


# -- running many runs -----------------------------------------------------------------------
def default_processes(requested: int) -> int:
    """``requested`` processes, or one per available core for 0."""
    return requested if requested > 0 else available_cores()


#: A worker's link to the command that started it (set by :func:`_start_worker`).
_WORKER: dict[str, Any] = {}


def _start_worker(parent_pid: int, messages, stop) -> None:
    """Initializer of a worker process: it dies with its parent (even a SIGKILLed one, so that
    it never writes into a run folder a later command may be using) and keeps the channels
    for steps done and for stopping."""
    die_with_parent(parent_pid)
    messages.cancel_join_thread()  # progress not yet read may be lost; an exit never blocks
    _WORKER.update(parent_pid=parent_pid, messages=messages, stop=stop)


def _worker(backend: CPUBackend, job: MDJob, job_index: int) -> dict[str, Any]:
    """Entry point of a worker process: its steps go to the parent, which may stop it."""
    total = job.protocol.total_steps
    parent_pid, messages, stop = _WORKER["parent_pid"], _WORKER["messages"], _WORKER["stop"]

    def report(fraction: float, message: str) -> None:
        messages.put((job_index, round(fraction * total)))

    def should_stop() -> bool:
        if parent_gone(parent_pid):
            os._exit(1)  # where the kernel cannot tell us (not Linux): nothing more written
        return stop.is_set()

    return execute(backend, job, ProgressReporter(report, should_stop))


def run_jobs(backend: CPUBackend, jobs: list[MDJob],
             progress: ProgressReporter | None = None) -> list[dict[str, Any]]:
    """Run classical jobs, ``backend.processes`` at a time; their summaries in job order.

    With one process (or one job) they run in this process, one after the other, which spares
    the start-up of workers and keeps tracebacks simple.
    """
    progress = ensure_progress(progress)
    total_steps = sum(job.protocol.total_steps for job in jobs) or 1
    done = [0] * len(jobs)

    def fraction() -> float:
        return sum(done) / total_steps

    processes = min(default_processes(backend.processes), len(jobs))
    if processes <= 1:
        return RunFolderBackend.run_all(backend, jobs, progress)

    context = multiprocessing.get_context("spawn")
    # Plain queue and event handed over at start-up rather than a Manager's: a Manager is a
    # server process of its own, which outlived a killed command.
    messages = context.Queue()
    stop = context.Event()
    with ProcessPoolExecutor(max_workers=processes, mp_context=context,
                             initializer=_start_worker,
                             initargs=(os.getpid(), messages, stop)) as pool:
        futures = {pool.submit(_worker, backend, job, index): index
                   for index, job in enumerate(jobs)}
        pending = set(futures)
        try:
            while pending:
                finished, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in finished:
                    index = futures[future]
                    if future.exception() is None:
                        done[index] = jobs[index].protocol.total_steps
                while True:
                    try:
                        index, steps = messages.get_nowait()
                    except queue.Empty:
                        break
                    done[index] = max(done[index], steps)
                progress.report(fraction(), f"{len(jobs) - len(pending)}/{len(jobs)} runs "
                                "complete")
                failed = [f for f in finished if f.exception() is not None]
                if failed:
                    raise failed[0].exception()
        except BaseException:
            # Cancelled, Ctrl-C or a failed run: runs not started yet are dropped, the
            # running ones checkpoint at their next chunk boundary and stop.
            stop.set()
            for future in pending:
                future.cancel()
            wait(pending, timeout=None)
            raise
    return [future.result() for future in sorted(futures, key=futures.get)]
