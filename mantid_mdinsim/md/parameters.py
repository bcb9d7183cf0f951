"""The parameters of the MD step (MDRunGPUMD, ``mdinsim md``): one definition each.

Units: temperatures in K, pressure in GPa (GPUMD's unit), the time step, dump, thermo and
coupling intervals in fs, the durations of equilibration and production in ps, frequencies in
meV. The protocol (paper section 2.2): equilibrate (NPT or NVT; PIMD for light atoms), then a
production run (NVE; TRPMD for light atoms) that dumps positions often enough to resolve the
fastest vibration.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import steps
from ..atomistic import MIN_ATOM_DISTANCE
from ..execution import SCHEDULER_PARAMETERS
from ..parameters import Kind, Parameter, ParameterSet, StepSettings, when

#: Equilibration ensembles. ``pimd_*`` are path-integral (ring-polymer) ensembles with
#: ``number_of_beads`` beads; ``none`` starts production from the input structure.
EQUILIBRATION_CHOICES = ("npt", "nvt", "pimd_npt", "pimd_nvt", "none")
#: Production ensembles: classical NVE, or thermostatted ring-polymer MD (needs a PIMD
#: equilibration before it, with the same number of beads).
PRODUCTION_CHOICES = ("nve", "trpmd")
BACKEND_CHOICES = ("auto", "gpumd", "cpu")
THERMOSTAT_CHOICES = ("bussi", "langevin")

_STRUCTURE_EXTENSIONS = (".cif", ".vasp", ".poscar", ".xyz", ".extxyz", ".traj", ".json")

MD_PARAMETERS = ParameterSet(steps.MD, (
    # -- inputs ----------------------------------------------------------------------------
    Parameter("structure", str, "The starting structure (CIF, POSCAR/CONTCAR, extended XYZ or "
              "any file ase.io.read reads); its cell is repeated by 'supercell'",
              kind=Kind.INPUT_FILE, cli_positional=True, extensions=_STRUCTURE_EXTENSIONS,
              mantid_name="InputStructure", group="Input"),
    Parameter("model", str, "The NEP model file (nep.txt, NEP4 for the CPU backend) covering "
              "every species of the structure", kind=Kind.INPUT_FILE, extensions=(".txt",),
              mantid_name="NEPModel", group="Input"),
    Parameter("supercell", int, "Repetitions of the input cell along a, b and c (three "
              "integers)", default=(1, 1, 1), minimum=1, multiple=True, group="Input"),
    MIN_ATOM_DISTANCE,
    Parameter("output_dir", str, "Folder for the runs: <dir>/T_<T>K/run_<i>/ holds "
              "trajectory.xyz, thermo.csv and summary.json; an interrupted run started again "
              "with the same folder resumes from its last checkpoint",
              kind=Kind.DIRECTORY, group="Output"),
    # -- protocol --------------------------------------------------------------------------
    Parameter("temperature_k", float, "Temperatures to simulate, one set of runs each",
              unit="K", minimum=0.0, exclusive_minimum=True, maximum=1.0e5, multiple=True,
              flag="--temperature", mantid_name="Temperatures", group="Protocol"),
    Parameter("time_step_fs", float, "Integration time step", unit="fs", default=1.0,
              minimum=0.0, exclusive_minimum=True, maximum=20.0, group="Protocol"),
    Parameter("equilibration", str, "Equilibration ensemble: npt (stochastic cell rescaling "
              "in GPUMD, Langevin-BAOAB barostat on CPU), nvt (Bussi or Langevin thermostat), "
              "pimd_npt / pimd_nvt (path integrals, for light atoms), or none",
              default="npt", choices=EQUILIBRATION_CHOICES, group="Protocol"),
    Parameter("equilibration_time_ps", float, "Duration of the equilibration", unit="ps",
              default=10.0, minimum=0.0, group="Protocol"),
    Parameter("pressure_gpa", float, "Target pressure of NPT equilibration (isotropic)",
              unit="GPa", default=0.0, minimum=-100.0, maximum=1000.0, group="Protocol"),
    Parameter("production", str, "Production ensemble: nve (classical), or trpmd "
              "(thermostatted ring-polymer MD; needs a pimd_* equilibration)",
              default="nve", choices=PRODUCTION_CHOICES, group="Protocol"),
    Parameter("production_time_ps", float, "Duration of the production run whose frames "
              "are written", unit="ps", default=100.0, minimum=0.0, exclusive_minimum=True,
              group="Protocol"),
    Parameter("dump_interval_fs", float, "Time between written frames; a multiple of the "
              "time step, short enough to resolve the fastest vibration (the paper: 14 fs "
              "for Si, 3 fs for benzene)", unit="fs", default=10.0, minimum=0.0,
              exclusive_minimum=True, group="Protocol"),
    Parameter("thermo_interval_fs", float, "Time between rows of the thermo table (a "
              "multiple of the time step); default: the dump interval", unit="fs",
              default=None, minimum=0.0, exclusive_minimum=True, group="Protocol"),
    Parameter("number_of_runs", int, "Independent runs per temperature (different seeds)",
              default=1, minimum=1, maximum=10000, group="Protocol"),
    Parameter("seed", int, "Seed of the random numbers (initial velocities, thermostats); "
              "the runs derive their own seeds from it", default=42, minimum=0,
              maximum=2**31 - 2, group="Protocol"),
    Parameter("number_of_beads", int, "Ring-polymer beads for pimd_* and trpmd (even)",
              default=8, minimum=2, maximum=128, group="Path integrals"),
    # -- thermostat and barostat -----------------------------------------------------------
    Parameter("thermostat", str, "NVT thermostat: langevin (GPUMD nvt_lan, ASE "
              "Langevin-BAOAB) or bussi (stochastic velocity rescaling, GPUMD nvt_bdp; ASE's "
              "Bussi gave wider than canonical temperature fluctuations in tests here)",
              default="langevin", choices=THERMOSTAT_CHOICES, group="Thermostat and barostat"),
    Parameter("thermostat_coupling_fs", float, "Relaxation time of the thermostat; after a "
              "pimd_* equilibration, nve production follows 5 of it of classical Langevin NVT "
              "(thermo phase 'thermalisation')",
              unit="fs", default=100.0, minimum=0.0, exclusive_minimum=True,
              group="Thermostat and barostat"),
    Parameter("barostat_coupling_fs", float, "Relaxation time of the barostat", unit="fs",
              default=1000.0, minimum=0.0, exclusive_minimum=True,
              group="Thermostat and barostat"),
    Parameter("bulk_modulus_gpa", float, "Rough estimate of the bulk modulus; GPUMD's "
              "barostat converts its coupling time with it (the right magnitude suffices)",
              unit="GPa", default=100.0, minimum=0.0, exclusive_minimum=True,
              group="Thermostat and barostat"),
    # -- checks ------------------------------------------------------------------------------
    Parameter("max_frequency_mev", float, "Highest vibrational energy of the system, used "
              "to check that the dump interval and the time step resolve it; default: "
              "estimated from the model's harmonic frequencies of the input structure",
              unit="meV", default=None, minimum=0.0, exclusive_minimum=True, group="Checks"),
    Parameter("trajectory_format", str, "File format of the trajectories: netcdf "
              "(trajectory.nc, AMBER NetCDF-3 as GPUMD's dump_netcdf writes it, with "
              "trajectory.species.txt naming the element of each type index: binary, read "
              "several times faster) or extxyz (trajectory.xyz, text). GPUMD writes NetCDF "
              "where it was built with NetCDF (USE_NETCDF), else extxyz; path-integral runs "
              "write extxyz", default="netcdf", choices=("netcdf", "extxyz"), group="Output"),
    Parameter("dump_velocities", bool, "Also write velocities (vel, Angstrom/fs, GPUMD's "
              "convention) into the trajectory", default=False, group="Output"),
    # -- execution ---------------------------------------------------------------------------
    Parameter("backend", str, "Engine: gpumd (GPU), cpu (ASE + calorine CPUNEP, i-PI for "
              "path integrals) or auto (gpumd when an executable is found)", default="auto",
              choices=BACKEND_CHOICES, group="Execution"),
    Parameter("gpumd_executable", str, "The gpumd executable (default: $MDINSIM_GPUMD, then "
              "PATH)", default=None, group="Execution"),
    Parameter("processes", int, "CPU backend: processes running independent runs (or "
              "i-PI clients) at once; 0 uses every core", default=0, minimum=0,
              group="Execution"),
    Parameter("checkpoint_interval_ps", float, "CPU backend: simulated time between "
              "checkpoints from which an interrupted run resumes", unit="ps", default=1.0,
              minimum=0.0, exclusive_minimum=True, group="Execution"),
    Parameter("overwrite", bool, "Start again in an output folder that holds runs made "
              "with other parameters (they are deleted)", default=False, group="Execution"),
) + SCHEDULER_PARAMETERS)

_PIMD = ("pimd_npt", "pimd_nvt")
_BAROSTAT = ("npt", "pimd_npt")

#: Settings that apply only with another's value: greyed out in the Mantid dialog, a warning
#: when given otherwise.
MD_PARAMETERS = MD_PARAMETERS.with_conditions({
    "equilibration_time_ps": when("equilibration", "npt", "nvt", *_PIMD),
    "pressure_gpa": when("equilibration", *_BAROSTAT),
    "barostat_coupling_fs": when("equilibration", *_BAROSTAT),
    "bulk_modulus_gpa": when("equilibration", *_BAROSTAT),
    "number_of_beads": when("equilibration", *_PIMD),
    "gpumd_executable": when("backend", "auto", "gpumd"),
    "processes": when("backend", "auto", "cpu"),
    "checkpoint_interval_ps": when("backend", "auto", "cpu"),
})


@dataclass(frozen=True)
class MDSettings(StepSettings, parameters=MD_PARAMETERS):
    """The MD step's settings, validated and complete (``MDSettings.from_values(...)``);
    fields in the order of :data:`MD_PARAMETERS` (the order of the records written from them)."""

    structure: str
    model: str
    supercell: tuple[int, ...]
    min_atom_distance_angstrom: float
    output_dir: str
    temperature_k: tuple[float, ...]
    time_step_fs: float
    equilibration: str
    equilibration_time_ps: float
    pressure_gpa: float
    production: str
    production_time_ps: float
    dump_interval_fs: float
    thermo_interval_fs: float | None
    number_of_runs: int
    seed: int
    number_of_beads: int
    thermostat: str
    thermostat_coupling_fs: float
    barostat_coupling_fs: float
    bulk_modulus_gpa: float
    max_frequency_mev: float | None
    trajectory_format: str
    dump_velocities: bool
    backend: str
    gpumd_executable: str | None
    processes: int
    checkpoint_interval_ps: float
    overwrite: bool
    scheduler: str | None
    threads_per_worker: int
