"""Path-integral MD on CPU: i-PI (PyPI ``ipi``) driving calorine's CPUNEP through ASE's
SocketClient on a unix socket, several clients sharing the beads.

Two or three i-PI simulations per run, each in its own folder under ``<run>/ipi.partial/``:

1. ``equilibration``: PIMD with ``number_of_beads`` beads, the PILE-L thermostat (GPUMD's
   ``pimd`` uses Langevin thermostats on all normal modes too) and for ``pimd_npt`` i-PI's
   isotropic barostat at ``pressure_gpa``;
2. ``thermalisation`` (before ``nve`` production only): one bead (i-PI contracts the ring
   polymer to its centroid), momenta drawn afresh at the temperature, Langevin NVT at the
   equilibration's final cell for ``Protocol.thermalisation_steps``, so that classical
   production starts from a classical thermal state (the centroid's is not one: a run handed
   straight to NVE ran at 0.52 of the target, DEVELOPERS.md);
3. ``production``, initialised from the previous phase's final checkpoint (``mode='chk'``):
   ``trpmd``: thermostatted ring-polymer MD, PILE-L on the internal modes (lambda = 0.5,
   Rossi, Ceriotti and Manolopoulos, J. Chem. Phys. 140, 234116 (2014)) with the centroid left
   free; ``nve``: classical NVE.

The trajectory holds the centroid positions (as GPUMD's ``dump_xyz`` does in PIMD runs), with
``Time`` counted from the start of equilibration, in the orientation of the structure given
(i-PI runs in its upper-triangular one, :func:`ipi_orientation`). The thermo table holds i-PI's
centroid-virial kinetic energy and pressure for the ring polymer (the MD ones for one bead).
An interrupted phase restarts from i-PI's own checkpoint (``<checkpoint>``, which carries the
random generator's state); i-PI appends to its outputs then, and rows and frames repeated
after the restart replace the earlier ones of the same step.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
from ase import Atoms, units

from ..errors import ExternalProgramError, PhysicsError
from ..lifetime import parent_death_preexec
from ..progress import ProgressReporter
from . import outputs
from .backends import MDJob, RunFolderBackend
from .cpu import default_processes
from .guards import FIX, check_thermo, runaway_problem
from .msd import DisplacementAccumulator
from .protocol import Protocol, RunSpec

WORK_PARTIAL = "ipi.partial"
WORK_DONE = "ipi"
#: The i-PI simulations of a run, in order, each in its own folder (module docs).
PHASES = ("equilibration", "thermalisation", "production")
PREFIX = "sim"
#: The PES that i-PI's ffdirect loads by its path (one force process).
DRIVER_FILE = Path(__file__).with_name("ipi_driver.py")
#: The run's copies of the structure (in i-PI's orientation) and of the model, in its work folder.
STRUCTURE_NAME = "initial.extxyz"
MODEL_NAME = "model.nep.txt"
#: Friction of the internal ring-polymer modes relative to critical damping in TRPMD.
TRPMD_LAMBDA = 0.5
#: A centroid thermostat time this long (fs) leaves the centroid free (TRPMD).
FREE_CENTROID_TAU_FS = 1.0e12
_PROPERTIES = ("step", "time{femtosecond}", "temperature{kelvin}", "kinetic_md{electronvolt}",
               "kinetic_cv{electronvolt}", "potential{electronvolt}", "pressure_md{gigapascal}",
               "pressure_cv{gigapascal}", "volume{angstrom3}")


def find_ipi() -> list[str]:
    """The command that starts the i-PI server (the ``i-pi`` script of this environment)."""
    script = Path(sys.executable).with_name("i-pi")
    if script.is_file():
        return [sys.executable, str(script)]
    found = shutil.which("i-pi")
    if found:
        return [found]
    raise ExternalProgramError("i-pi: not found; install the pimd extra "
                               "(pip install 'mantid-mdinsim[pimd]') for path-integral MD on CPU")


def forcefield_xml(n_clients: int, address: str) -> str:
    """i-PI's force field ``nep``: with one force process, the NEP inside i-PI's own process
    (``ffdirect``, :mod:`.ipi_driver`); with several, a unix socket that ``n_clients`` client
    processes serve, the beads shared between them (``ffsocket``). The direct one reads the
    run's copies of the structure and the model by names relative to the phase's folder (i-PI's
    ``{key: value}`` parameters split at commas: a user's path is not passed through them)."""
    if n_clients == 1:
        return (f"<ffdirect name='nep' pbc='false'><pes>custom</pes>"
                f"<pes_path>{escape(str(DRIVER_FILE))}</pes_path>"
                f"<parameters>{{template: ../{STRUCTURE_NAME}, model: ../{MODEL_NAME}}}"
                "</parameters></ffdirect>")
    return (f"<ffsocket name='nep' mode='unix' pbc='false'><address>{address}</address>"
            "<latency>1e-4</latency></ffsocket>")


def input_xml(phase: str, protocol: Protocol, spec: RunSpec, forcefield: str,
              initial: str) -> str:
    """The i-PI input of one phase (:data:`PHASES`) with the force field ``forcefield``
    (:func:`forcefield_xml`). ``initial`` is an extended XYZ file (equilibration) or the
    previous phase's checkpoint."""
    dt = protocol.time_step_fs
    temperature = spec.temperature_k
    if phase == "equilibration":
        steps = protocol.equilibration_steps
        beads = protocol.number_of_beads
        stride_traj = None
        init = (f"<file mode='ase'>{escape(initial)}</file>"
                f"<velocities mode='thermal' units='kelvin'>{temperature!r}</velocities>")
        thermostat = (f"<thermostat mode='pile_l'><tau units='femtosecond'>"
                      f"{protocol.thermostat_coupling_fs!r}</tau></thermostat>")
        if protocol.equilibration == "pimd_npt":
            motion = (f"<dynamics mode='npt'><timestep units='femtosecond'>{dt!r}</timestep>"
                      f"{thermostat}<barostat mode='isotropic'><tau units='femtosecond'>"
                      f"{protocol.barostat_coupling_fs!r}</tau><thermostat mode='langevin'>"
                      f"<tau units='femtosecond'>{protocol.thermostat_coupling_fs!r}</tau>"
                      "</thermostat></barostat></dynamics>")
            ensemble = (f"<temperature units='kelvin'>{temperature!r}</temperature>"
                        f"<pressure units='gigapascal'>{protocol.pressure_gpa!r}</pressure>")
        else:
            motion = (f"<dynamics mode='nvt'><timestep units='femtosecond'>{dt!r}</timestep>"
                      f"{thermostat}</dynamics>")
            ensemble = f"<temperature units='kelvin'>{temperature!r}</temperature>"
    elif phase == "thermalisation":
        # Classical (one bead) from the ring polymer's checkpoint, at its final cell. The
        # momenta are drawn afresh at the temperature: i-PI's contraction to the centroid
        # scales them to 1/P of the thermal kinetic energy (a run handed over so went to 0.52 T
        # in NVE); the Langevin thermostat, local whatever --thermostat says, then relaxes
        # the configuration to the classical canonical one (protocol.py).
        steps = protocol.thermalisation_steps
        beads = 1
        stride_traj = None
        init = (f"<file mode='chk'>{escape(initial)}</file>"
                f"<velocities mode='thermal' units='kelvin'>{temperature!r}</velocities>")
        motion = (f"<dynamics mode='nvt'><timestep units='femtosecond'>{dt!r}</timestep>"
                  f"<thermostat mode='langevin'><tau units='femtosecond'>"
                  f"{protocol.thermostat_coupling_fs!r}</tau></thermostat></dynamics>")
        ensemble = f"<temperature units='kelvin'>{temperature!r}</temperature>"
    else:
        steps = protocol.production_steps
        stride_traj = protocol.dump_steps
        init = f"<file mode='chk'>{escape(initial)}</file>"
        if protocol.production == "trpmd":
            beads = protocol.number_of_beads
            motion = (f"<dynamics mode='nvt'><timestep units='femtosecond'>{dt!r}</timestep>"
                      f"<thermostat mode='pile_l'><tau units='femtosecond'>"
                      f"{FREE_CENTROID_TAU_FS!r}</tau><pile_lambda>{TRPMD_LAMBDA!r}</pile_lambda>"
                      "</thermostat></dynamics>")
        else:
            beads = 1
            motion = (f"<dynamics mode='nve'><timestep units='femtosecond'>{dt!r}</timestep>"
                      "</dynamics>")
        ensemble = f"<temperature units='kelvin'>{temperature!r}</temperature>"
    trajectories = ""
    if stride_traj:
        trajectories = (f"<trajectory filename='xc' stride='{stride_traj}' format='ase'> "
                        "x_centroid </trajectory>")
        if protocol.dump_velocities:
            trajectories += (f"<trajectory filename='vc' stride='{stride_traj}' format='ase'> "
                             "v_centroid </trajectory>")
    seed = spec.seed + {"equilibration": 0, "thermalisation": 104729}.get(phase, 7919)
    return f"""<simulation verbosity='low'>
  <output prefix='{PREFIX}'>
    <properties stride='{protocol.thermo_steps}' filename='out'>
      [ {', '.join(_PROPERTIES)} ]
    </properties>
    {trajectories}
    <checkpoint stride='{protocol.checkpoint_steps}' filename='checkpoint' overwrite='true'/>
  </output>
  <total_steps>{steps}</total_steps>
  <prng><seed>{seed}</seed></prng>
  {forcefield}
  <system>
    <initialize nbeads='{beads}'>{init}</initialize>
    <forces><force forcefield='nep'/></forces>
    <motion mode='dynamics'>{motion}</motion>
    <ensemble>{ensemble}</ensemble>
  </system>
</simulation>
"""


def client_main(arguments: list[str]) -> int:
    """A force client: ``python -m mantid_mdinsim.md.pimd ADDRESS MODEL STRUCTURE``."""
    import ase.io  # ase.io, calorine: seconds to import, only in the client process
    from ase.calculators.socketio import SocketClient  # (as above)
    from ..atomistic import calorine_loading  # noqa: F401  - calorine without scikit-learn
    from calorine.calculators import CPUNEP  # (as above)

    address, model, structure = arguments
    atoms = ase.io.read(structure)
    atoms.calc = CPUNEP(model)
    deadline = time.monotonic() + 120.0
    while True:
        try:
            client = SocketClient(unixsocket=address)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)  # the server has not opened its socket yet
    client.run(atoms, use_stress=True)
    return 0


def _socket_file(address: str) -> Path:
    return Path(f"/tmp/ipi_{address}")


def ipi_orientation(cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cell in i-PI's orientation and the rotation back: ``(standard_cell, rotation)``
    with ``standard_cell @ rotation == cell`` (row vectors).

    i-PI holds the cell as an upper-triangular matrix of column vectors (a along x, b in the
    xy plane), which is ASE's lower-triangular standard form of row vectors. A cell given
    otherwise is rotated by i-PI's reader only up to rounding, and off-diagonal terms it
    leaves (1e-7 Angstrom sufficed) make the restart from its checkpoint fail with "The cell
    matrix must be upper triangular"; the standard form has exact zeros there. Positions go
    to i-PI as ``positions @ rotation.T`` and come back as ``positions @ rotation``.
    """
    from ase.cell import Cell

    standard, rotation = Cell(np.asarray(cell, dtype=float)).standard_form()
    return np.array(standard), rotation


def _log_tail(path: Path, n_lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n_lines:])
    except OSError:
        return "(no log)"


def _checkpoint_step(path: Path) -> int:
    """The step count an i-PI checkpoint holds (``<step>`` of its simulation; 0 when none)."""
    found = re.search(r"<step>\s*(\d+)\s*</step>", path.read_text(errors="replace"))
    return int(found.group(1)) if found else 0


def run_phase(directory: Path, xml: str, restart: bool, n_clients: int, model_path: str,
              structure_file: Path, address: str, on_poll) -> float:
    """Run one i-PI simulation in ``directory`` with ``n_clients`` force clients (none
    started for one: the NEP runs in i-PI's process, :func:`forcefield_xml`); return the wall
    time (s). ``restart`` resumes from i-PI's checkpoint there."""
    server_command = find_ipi()
    input_file = directory / ("RESTART.checkpoint" if restart else "input.xml")
    if restart:
        shutil.copyfile(directory / f"{PREFIX}.checkpoint", input_file)
    else:
        input_file.write_text(xml)
    with contextlib.suppress(FileNotFoundError):
        _socket_file(address).unlink()  # left behind by a killed server
    started = time.perf_counter()
    server_log = directory / "ipi.log"
    processes: list[subprocess.Popen] = []
    handles = []
    try:
        handle = open(server_log, "a")
        handles.append(handle)
        # Stopped in `finally` on an error, Ctrl-C, a cancel or SIGTERM of the command
        # (lifetime.py), and told by the kernel (Linux) when the command dies by SIGKILL.
        server = subprocess.Popen([*server_command, input_file.name], cwd=directory,
                                  stdout=handle, stderr=subprocess.STDOUT,
                                  preexec_fn=parent_death_preexec())
        processes.append(server)
        clients = []
        for index in range(n_clients if n_clients > 1 else 0):
            client_log = open(directory / f"client_{index}.log", "a")
            handles.append(client_log)
            clients.append(subprocess.Popen(
                [sys.executable, "-m", "mantid_mdinsim.md.pimd", address, model_path,
                 str(structure_file)], cwd=directory, stdout=client_log,
                stderr=subprocess.STDOUT, preexec_fn=parent_death_preexec()))
        processes.extend(clients)
        while server.poll() is None:
            on_poll()
            if clients and all(client.poll() is not None for client in clients):
                time.sleep(2.0)
                if server.poll() is None:
                    raise ExternalProgramError(
                        f"i-PI in {directory}: every force client exited while the server "
                        f"waited; the end of {directory / 'client_0.log'}:\n"
                        + _log_tail(directory / "client_0.log"))
            time.sleep(0.5)
        if server.returncode != 0:
            raise ExternalProgramError(
                f"i-PI failed with exit status {server.returncode} in {directory}; the end of "
                f"{server_log}:\n{_log_tail(server_log)}")
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        for handle in handles:
            handle.close()
        with contextlib.suppress(FileNotFoundError):
            _socket_file(address).unlink()
    return time.perf_counter() - started


def _read_properties(path: Path) -> np.ndarray:
    """i-PI's properties file: rows by step, the last row kept where a restart repeated
    steps, step 0 (the initial state) dropped."""
    if not path.is_file():
        raise ExternalProgramError(f"i-PI wrote no properties file {path}")
    data = np.loadtxt(path, comments="#", ndmin=2)
    by_step = {}
    for row in data:
        by_step[int(round(row[0]))] = row
    steps = sorted(step for step in by_step if step > 0)
    return np.array([by_step[step] for step in steps]).reshape(len(steps), data.shape[1])


def _read_centroid_frames(path: Path) -> dict[int, Atoms]:
    """i-PI's extended XYZ trajectory by step (``Step:`` of its comment), later repeats
    replacing earlier ones."""
    import ase.io  # ase.io loads every file format (seconds)

    frames: dict[int, Atoms] = {}
    if not path.is_file():
        return frames
    for frame in ase.io.iread(str(path), index=":", format="extxyz"):
        match = re.search(r"Step:\s*(\d+)", str(frame.info.get("ipi_comment", "")))
        if match:
            frames[int(match.group(1))] = frame
    return frames


def _phase_rows(properties: np.ndarray, protocol: Protocol, phase: str, beads: int,
                first_step: int) -> dict[str, np.ndarray]:
    index = {name.split("{")[0]: i for i, name in enumerate(_PROPERTIES)}
    kinetic = properties[:, index["kinetic_cv"] if beads > 1 else index["kinetic_md"]]
    pressure = properties[:, index["pressure_cv"] if beads > 1 else index["pressure_md"]]
    potential = properties[:, index["potential"]]
    steps = properties[:, index["step"]].astype(np.int64) + first_step
    return {"step": steps, "time_fs": steps * protocol.time_step_fs,
            "phase": np.array([phase] * len(steps), dtype=object),
            "temperature_k": properties[:, index["temperature"]], "pressure_gpa": pressure,
            "potential_energy_ev": potential, "kinetic_energy_ev": kinetic,
            "total_energy_ev": potential + kinetic,
            "volume_angstrom3": properties[:, index["volume"]]}


@dataclass(frozen=True)
class IPIBackend(RunFolderBackend):
    """Path-integral MD with i-PI on CPU, one run after the other, each with up to
    ``processes`` force clients (0: one per core, at most one per bead); an interrupted phase
    restarts from i-PI's own checkpoint."""

    processes: int = 0
    name = "cpu-ipi"

    def prepare(self, job: MDJob) -> None:
        work = job.directory / WORK_PARTIAL
        work.mkdir(parents=True, exist_ok=True)
        structure_file = work / STRUCTURE_NAME
        if not (work / MODEL_NAME).is_file():
            shutil.copyfile(job.model_path, work / MODEL_NAME)
        if not structure_file.is_file():
            import ase.io  # ase.io loads every file format (seconds)

            standard_cell, rotation = ipi_orientation(job.atoms.cell)
            oriented = job.atoms.copy()
            oriented.set_cell(standard_cell, scale_atoms=False)
            oriented.set_positions(job.atoms.get_positions() @ rotation.T)
            ase.io.write(str(structure_file), oriented, format="extxyz")
        address_file = work / "socket_address"
        if not address_file.is_file():
            address_file.write_text(f"mdinsim-{uuid.uuid4().hex[:16]}\n")

    def resume(self, job: MDJob, progress: ProgressReporter) -> dict[str, Any] | None:
        """The phases again, each from i-PI's checkpoint or its DONE mark, where one began."""
        work = job.directory / WORK_PARTIAL
        if not any((work / phase).is_dir() for phase in PHASES):
            return None
        return self.run(job, progress)

    def run(self, job: MDJob, progress: ProgressReporter) -> dict[str, Any]:
        spec, protocol = job.spec, job.protocol
        work = job.directory / WORK_PARTIAL
        structure_file = work / STRUCTURE_NAME
        address = (work / "socket_address").read_text().strip()
        n_clients = max(1, min(default_processes(self.processes), protocol.number_of_beads))
        total = protocol.total_steps
        wall_s = 0.0
        phases = [("equilibration", protocol.equilibration_steps, 0),
                  ("thermalisation", protocol.thermalisation_steps,
                   protocol.equilibration_steps),
                  ("production", protocol.production_steps, protocol.production_first_step)]
        previous = None  # the phase whose final checkpoint the next one starts from
        for phase, steps, first_step in phases:
            folder = work / phase
            if steps == 0:
                continue
            initial = (str(structure_file) if previous is None
                       else str(work / previous / "RESTART"))
            previous = phase
            if (folder / "DONE").is_file():
                continue
            folder.mkdir(exist_ok=True)
            restart = (folder / f"{PREFIX}.checkpoint").is_file()
            if restart and _checkpoint_step(folder / f"{PREFIX}.checkpoint") >= steps:
                # i-PI wrote its last checkpoint and was stopped before the DONE mark (or
                # before RESTART): it refuses to start a simulation that has run its
                # total_steps, and that checkpoint is the phase's final state (its outputs
                # come before the checkpoint in the input, so they were written).
                shutil.copyfile(folder / f"{PREFIX}.checkpoint", folder / "RESTART")
                (folder / "DONE").write_text("complete\n")
                continue
            if phase == "production" and protocol.equilibration_steps == 0:
                raise ExternalProgramError("path-integral production needs a PIMD equilibration")
            phase_clients = (n_clients if phase == "equilibration"
                             or protocol.production == "trpmd" else 1)
            xml = input_xml(phase, protocol, spec, forcefield_xml(phase_clients, address),
                            initial)

            def poll(folder: Path = folder, first_step: int = first_step,
                     phase: str = phase) -> None:
                rows = outputs.count_data_rows(folder / f"{PREFIX}.out")
                done = first_step + rows * protocol.thermo_steps
                progress.report(min(done / total, 0.999),
                                f"{spec.label}: i-PI {phase} step {done}")

            wall_s += run_phase(folder, xml, restart, phase_clients, job.model_path,
                                structure_file, address, poll)
            (folder / "DONE").write_text("complete\n")
        thermo, msd = _outputs(job, work)
        return self.publish(job, thermo, msd, wall_s, work=work, work_done=WORK_DONE,
                            extra={"ipi_clients": n_clients})


def _outputs(job: MDJob, work: Path) -> tuple[dict[str, np.ndarray], tuple]:
    """The thermo table of the phases and the mean-squared displacement; the centroid
    trajectory written to the run's ``.partial`` trajectory file."""
    spec, protocol = job.spec, job.protocol
    tables = []
    if protocol.equilibration_steps:
        tables.append(_phase_rows(_read_properties(work / "equilibration" / f"{PREFIX}.out"),
                                  protocol, "equilibration", protocol.number_of_beads, 0))
    if protocol.thermalisation_steps:
        tables.append(_phase_rows(_read_properties(work / "thermalisation" / f"{PREFIX}.out"),
                                  protocol, "thermalisation", 1, protocol.equilibration_steps))
    production_beads = protocol.number_of_beads if protocol.production == "trpmd" else 1
    tables.append(_phase_rows(_read_properties(work / "production" / f"{PREFIX}.out"),
                              protocol, "production", production_beads,
                              protocol.production_first_step))
    thermo = {name: np.concatenate([t[name] for t in tables]) for name in tables[0]}
    check_thermo(thermo, spec.label, spec.temperature_k, f"i-PI's run (outputs kept in {work})")
    positions = _read_centroid_frames(work / "production" / f"{PREFIX}.xc.extxyz")
    problem = next(filter(None, (runaway_problem(positions=frame.get_positions())
                                 for frame in positions.values())), None)
    if problem is not None:
        raise PhysicsError(f"{spec.label}: i-PI's centroid trajectory: {problem} (outputs kept "
                           f"in {work}); {FIX}")
    velocities = (_read_centroid_frames(work / "production" / f"{PREFIX}.vc.extxyz")
                  if protocol.dump_velocities else {})
    steps = [s for s in sorted(positions) if s > 0]
    # i-PI ran in its orientation (ipi_orientation): frames go back to the user's.
    _, rotation = ipi_orientation(job.atoms.cell)
    if len(steps) != protocol.number_of_frames:
        raise ExternalProgramError(f"i-PI wrote {len(steps)} centroid frames in {work}, "
                                   f"expected {protocol.number_of_frames}")
    symbols = job.atoms.get_chemical_symbols()
    accumulator = DisplacementAccumulator(job.atoms.get_masses())
    trajectory_partial = outputs.partial_path(spec.directory / outputs.TRAJECTORY_NAME)
    with open(trajectory_partial, "w") as handle:
        for step in steps:
            frame = positions[step]
            key = "x_centroid" if "x_centroid" in frame.arrays else None
            xyz = (frame.arrays[key] if key else frame.get_positions()) @ rotation
            cell = np.array(frame.cell) @ rotation
            velocity = None
            if step in velocities:
                velocity = (velocities[step].arrays["v_centroid"] @ rotation
                            * units.fs)  # ASE -> A/fs
            handle.write(outputs.format_frame(symbols, xyz, cell,
                                              (protocol.production_first_step + step)
                                              * protocol.time_step_fs, velocity))
            accumulator.add(xyz, cell)
    return thermo, accumulator.result(symbols)


if __name__ == "__main__":
    sys.exit(client_main(sys.argv[1:]))
