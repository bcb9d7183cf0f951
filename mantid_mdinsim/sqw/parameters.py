"""The parameters of the S(q,w) step (MDComputeSqw, ``mdinsim sqw``): one definition each.

Units: time in fs, wave vectors in 1/Angstrom (the physicist's convention, q = 4 pi sin(theta) /
lambda, the 2 pi included), energies in meV. The correlation window is counted in frames.
"""

from __future__ import annotations

from .. import steps
from ..approximation import CHOICES as APPROXIMATION_CHOICES
from ..approximation import FULL
from ..execution import SCHEDULER_PARAMETERS
from dataclasses import dataclass

from ..parameters import Kind, Parameter, ParameterSet, StepSettings, when

#: Trajectory file extensions the readers recognise (the format is also sniffed from content).
TRAJECTORY_EXTENSIONS = (".xyz", ".extxyz", ".traj", ".lammpstrj", ".dump", ".nc", ".netcdf")
WEIGHT_CHOICES = ("neutron", "xray", "electron", "none")
INCOHERENT_CHOICES = ("auto", "yes", "no")
#: Engines, devices and precisions of the correlator (see :mod:`.engines`).
ENGINE_CHOICES = ("auto", "numba", "torch")
DEVICE_CHOICES = ("auto", "cpu", "cuda")
PRECISION_CHOICES = ("double", "single")

SQW_PARAMETERS = ParameterSet(steps.SQW, (
    # -- input ---------------------------------------------------------------------------
    Parameter("trajectories", str, "MD trajectories of one system (extended XYZ including "
              "GPUMD dump.xyz, ASE .traj, or LAMMPS text dump with an 'element' column); "
              "several files are independent runs: their results are averaged and their "
              "spread gives the errors", kind=Kind.INPUT_FILES, cli_positional=True,
              extensions=TRAJECTORY_EXTENSIONS, mantid_name="InputTrajectories",
              group="Input"),
    Parameter("species_from", str, "For trajectories that store type indices instead of "
              "element symbols (NetCDF, as GPUMD's dump_netcdf writes): a NEP model (its header "
              "lists the elements in type order), a structure file with the same atoms in the "
              "same order, or a species file; by default the species file the MD step writes "
              "beside each trajectory (<trajectory>.species.txt). Given with trajectories "
              "that name their species, it is checked against them", kind=Kind.INPUT_FILE,
              default=None, group="Input"),
    Parameter("time_step_fs", float, "Time between two stored frames of the trajectory (the "
              "MD time step times the dump interval); by default the time between frames the "
              "trajectories record (extended XYZ Time=, NetCDF time), needed where they "
              "record none (LAMMPS dumps, ASE trajectories, XYZ without Time=) and refused "
              "where it disagrees with them", unit="fs", default=None, minimum=0.0,
              exclusive_minimum=True, group="Input"),
    Parameter("window", int, "Correlation window: the longest time lag, in frames (frame "
              "intervals); the energy resolution is 2 pi hbar / ((2 window + 1) time step), "
              "as in dynasor's window_size", unit="frames", default=500, minimum=2,
              group="Input"),
    # -- q-points ------------------------------------------------------------------------
    Parameter("q_max_inv_angstrom", float, "Largest |q| (1/Angstrom, 2 pi included): the "
              "radius of the spherical sampling, or the |q| limit of the zones of --q-path",
              unit="1/Angstrom", default=None, minimum=0.0, exclusive_minimum=True,
              flag="--q-max", mantid_name="QMax", group="q-points"),
    Parameter("q_count", int, "Target number of q-points of the spherical sampling (about "
              "this many are kept, evenly spread in |q|, as dynasor's get_spherical_qpoints)",
              unit="q-points", default=1000, minimum=1, group="q-points"),
    Parameter("q_file", str, "Explicit q-points: a text file with three columns qx qy qz in "
              "1/Angstrom (Cartesian, 2 pi included; '#' starts a comment); each must be "
              "commensurate with the supercell", kind=Kind.INPUT_FILE, default=None,
              extensions=(".txt", ".dat", ".csv"), group="q-points"),
    Parameter("q_path", str, "Brillouin-zone path through named high-symmetry points of the "
              "primitive cell (ASE's special points, e.g. G-X-K-L for fcc or diamond; a comma "
              "starts a new segment); only q-points commensurate with the supercell are kept",
              default=None, group="q-points"),
    Parameter("zones", int, "With --q-path: number of Brillouin zones the path is repeated "
              "in (the first zone and randomly chosen reciprocal lattice vectors G with "
              "|G + q| <= --q-max along the whole path; the paper: 52 zones up to 12 "
              "1/Angstrom for Si)", unit="zones", default=1, minimum=1, group="q-points"),
    Parameter("primitive_cell", str, "With --q-path: a structure file (any format ase.io.read "
              "reads; cell in Angstrom) whose cell is the primitive cell; by default spglib "
              "finds it from the mean of the first frames", kind=Kind.INPUT_FILE, default=None,
              group="q-points"),
    Parameter("seed", int, "Seed of the random choices (spherical pruning, zones)",
              default=42, minimum=0, group="q-points"),
    # -- physics -------------------------------------------------------------------------
    Parameter("weights", str, "Scattering weights of the partials (eq. 5): neutron "
              "(coherent b_a b_b, incoherent sigma_inc/(4 pi)), xray (form factors f(|q|)), "
              "electron (scattering factors f(|q|)), or none (the number-density S(q,w))",
              default="neutron", choices=WEIGHT_CHOICES, group="Physics"),
    Parameter("incoherent", str, "Compute the incoherent (self) part: auto = yes for "
              "neutron and none weights, no for xray and electron", default="auto",
              choices=INCOHERENT_CHOICES, group="Physics"),
    Parameter("approximation", str, "What the total S(q,w) holds: full (coherent + "
              "incoherent scattering, eq. 5: what the instrument measures) or incoherent (the "
              "incoherent approximation of AbINS and harmonic codes: each species' self part "
              "weighted by its total cross section sigma_tot/(4 pi) = b_coh^2 + b_inc^2, "
              "interference left out; right for hydrogen-rich samples, and the like-for-like "
              "partner of a harmonic spectrum). The coherent and incoherent parts are written "
              "either way", default=FULL, choices=APPROXIMATION_CHOICES, group="Physics"),
    # -- averaging -----------------------------------------------------------------------
    Parameter("q_width_inv_angstrom", float, "Standard deviation of the Gaussian broadening "
              "in |q| applied when averaging over |Q| shells (the paper: 0.01 1/Angstrom)",
              unit="1/Angstrom", default=0.01, minimum=0.0, exclusive_minimum=True,
              flag="--q-width", mantid_name="QWidth", group="Averaging"),
    Parameter("q_step_inv_angstrom", float, "Spacing of the |Q| axis of the shell average; "
              "default: the q-width", unit="1/Angstrom", default=None, minimum=0.0,
              exclusive_minimum=True, flag="--q-step", mantid_name="QStep", group="Averaging"),
    Parameter("per_q", bool, "Keep one spectrum per q-point (in the order of the q-list, "
              "with the q-vectors in a table) instead of averaging over |Q| shells",
              default=False, group="Averaging"),
    # -- engine ---------------------------------------------------------------------------
    Parameter("engine", str, "Correlation engine: numba (CPU threads) or torch (PyTorch, on "
              "a GPU or the CPU; equal to numba within 1e-10); auto = torch where a CUDA GPU "
              "is visible, else numba", default="auto", choices=ENGINE_CHOICES,
              group="Engine"),
    Parameter("device", str, "Where the torch engine runs: cuda (a GPU), cpu, or auto (the GPU "
              "where one is visible)", default="auto", choices=DEVICE_CHOICES, group="Engine"),
    Parameter("precision", str, "Floating-point precision of the torch engine's phases and "
              "FFTs: double (fp64, the default) or single (fp32, sums still in fp64; about 1e-6 "
              "relative to each spectrum's maximum, faster on most GPUs)", default="double",
              choices=PRECISION_CHOICES, group="Engine"),
    # -- output --------------------------------------------------------------------------
    Parameter("output", str, "Processed NeXus file to write (Mantid's format; default "
              "sqw.nxs); a PNG colour map is written next to it", kind=Kind.OUTPUT_FILE,
              default="sqw.nxs", extensions=(".nxs",), mantid_name="OutputFile", group="Output"),
    Parameter("plot", bool, "Write the PNG colour map next to the output file", default=True,
              group="Output"),
) + SCHEDULER_PARAMETERS)

#: Settings that apply only with another's value: greyed out in the Mantid dialog, a warning
#: when given otherwise. (The plot needs an output file, which only Mantid may leave out:
#: that condition is MDComputeSqw's own.)
SQW_PARAMETERS = SQW_PARAMETERS.with_conditions({
    # Refused, not only warned of: zones or a primitive cell say that a path was meant.
    "zones": when("q_path", refuse="zones repeat a --q-path, which is not given"),
    "primitive_cell": when("q_path", refuse="the primitive cell defines the points of a "
                           "--q-path, which is not given"),
    "q_width_inv_angstrom": when("per_q", False),
    "q_step_inv_angstrom": when("per_q", False),
    "device": when("engine", "auto", "torch"),
    "precision": when("engine", "auto", "torch"),
})


@dataclass(frozen=True)
class SqwSettings(StepSettings, parameters=SQW_PARAMETERS):
    """The validated settings of MDComputeSqw (see :data:`SQW_PARAMETERS` for each one's
    meaning); build with :meth:`~mantid_mdinsim.parameters.StepSettings.from_values`."""

    trajectories: tuple[str, ...]
    species_from: str | None
    time_step_fs: float | None      # None: from the frame times the trajectories record
    window: int
    q_max_inv_angstrom: float | None
    q_count: int
    q_file: str | None
    q_path: str | None
    zones: int
    primitive_cell: str | None
    seed: int
    weights: str
    incoherent: str
    approximation: str
    q_width_inv_angstrom: float
    q_step_inv_angstrom: float | None
    per_q: bool
    engine: str
    device: str
    precision: str
    output: str
    plot: bool
    scheduler: str | None
    threads_per_worker: int
