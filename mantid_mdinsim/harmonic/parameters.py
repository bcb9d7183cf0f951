"""Parameters of the harmonic comparison (``mdinsim harmonic``): one definition each.

The harmonic (AbINS-style) spectrum of the same NEP model used for MD: phonons by finite
displacements (phonopy + calorine's CPUNEP), then the incoherent powder S(|Q|, w) with quantum
orders (abinslib), optionally through the same instrument step as the MD prediction.

Units: Angstrom, 1/Angstrom (2 pi included), meV, K.
"""

from __future__ import annotations

import dataclasses

from ..execution import SCHEDULER_PARAMETERS
from ..instrument.parameters import CORE_PARAMETERS
from ..md.parameters import MIN_ATOM_DISTANCE
from ..parameters import Kind, Parameter, ParameterSet, StepSettings
from ..sample import TEMPERATURE_K
from .phonons import RELAX_CHOICES
from .spectrum import (CROSS_SECTION_CHOICES, DEFAULT_FREQUENCY_MIN_MEV, MAX_ORDER,
                       METHOD_CHOICES)

STRUCTURE_EXTENSIONS = (".cif", ".vasp", ".poscar", ".xyz", ".extxyz", ".traj", ".json",
                        ".yaml", ".phonon", ".castep_bin", ".check")


def _instrument_parameters() -> tuple[Parameter, ...]:
    """The instrument step's own definitions of the few settings used here, so that the names,
    choices and checks are the same as for the MD prediction (the instrument is optional
    here)."""
    instrument = dataclasses.replace(
        CORE_PARAMETERS["instrument"], default=None, group="Instrument",
        doc="Spectrometer whose kinematics and resolution are applied to the harmonic "
            "S(|Q|,w), as for the MD prediction (no quantum correction: the harmonic S is "
            "quantum already); 'mdinsim instruments' lists them")
    return (instrument, CORE_PARAMETERS["incident_energy_mev"], CORE_PARAMETERS["setting"],
            CORE_PARAMETERS["resolution"])


HARMONIC_PARAMETERS = ParameterSet("MDHarmonic", (
    # -- input ---------------------------------------------------------------------------
    Parameter("structure", str, "The structure (CIF, POSCAR, extended XYZ or any file "
              "ase.io.read reads), whose phonons the NEP model gives; or a phonon file read "
              "instead: a phonopy .yaml with force constants (as this command writes), CASTEP "
              ".phonon (modes at fixed q-points), .castep_bin or .check",
              kind=Kind.INPUT_FILE, cli_positional=True, extensions=STRUCTURE_EXTENSIONS,
              mantid_name="InputStructure", group="Input"),
    Parameter("model", str, "The NEP model file (NEP4, as for MD on CPU); needed with a "
              "structure", kind=Kind.INPUT_FILE, default=None, extensions=(".txt",),
              mantid_name="NEPModel", group="Input"),
    MIN_ATOM_DISTANCE,
    # -- phonons -------------------------------------------------------------------------
    Parameter("supercell", int, "Repetitions of the structure for the displaced supercells "
              "(one, three or nine integers); default: the smallest diagonal supercell at "
              "least twice the model's cutoff wide", default=None, minimum=1, multiple=True,
              group="Phonons"),
    Parameter("relax", str, "Relax before the displacements: positions (atoms in the given "
              "cell, e.g. a cell from NPT MD), cell (cell and atoms: the model's 0 K "
              "structure) or none", default="positions", choices=RELAX_CHOICES,
              group="Phonons"),
    Parameter("displacement_angstrom", float, "Finite displacement of the force-constant "
              "calculation (phonopy's distance)", unit="Angstrom", default=0.01, minimum=0.0,
              exclusive_minimum=True, maximum=0.2, flag="--displacement", group="Phonons"),
    Parameter("mesh", int, "Monkhorst-Pack q-mesh of the spectrum (three integers); default: "
              "at most 0.2 1/Angstrom between q-points", default=None, minimum=1,
              multiple=True, group="Phonons"),
    # -- spectrum ------------------------------------------------------------------------
    # 0 K is a harmonic spectrum too (no thermal population): the minimum is inclusive here.
    dataclasses.replace(TEMPERATURE_K, doc="Temperature of the Bose factors and Debye-Waller "
                        "factors (use the MD temperature to compare)", default=10.0,
                        exclusive_minimum=False, maximum=1.0e4, group="Spectrum"),
    Parameter("max_order", int, "Highest quantum order: 1 fundamentals, 2 adds overtones and "
              "binary combinations, higher orders by self-convolution (as Abins' "
              "autoconvolution)", default=2, minimum=1, maximum=MAX_ORDER, group="Spectrum"),
    Parameter("method", str, "almost_isotropic (abinslib's Abins-style fundamentals, exact "
              "second order), isotropic (fully isotropic displacements), or abins (reproduces "
              "Mantid's Abins, orders 1-2, including its halved overtones)",
              default="almost_isotropic", choices=METHOD_CHOICES, group="Spectrum"),
    Parameter("cross_section", str, "Cross section weighting each atom (Abins' "
              "ScaleByCrossSection): incoherent, total (coherent scattering treated as "
              "incoherent, e.g. for Si) or coherent", default="incoherent",
              choices=CROSS_SECTION_CHOICES, group="Spectrum"),
    Parameter("frequency_min_mev", float, "Modes below this energy are left out (acoustic "
              "modes at Gamma, imaginary modes); abinslib's default 10 cm^-1", unit="meV",
              default=round(DEFAULT_FREQUENCY_MIN_MEV, 6), minimum=0.0,
              flag="--frequency-min", mantid_name="FrequencyMin", group="Spectrum"),
    Parameter("energy_min_mev", float, "Lowest energy transfer of the grid", unit="meV",
              default=0.0, minimum=0.0, flag="--energy-min", mantid_name="EnergyMin",
              group="Spectrum"),
    Parameter("energy_max_mev", float, "Highest energy transfer of the grid (default: the "
              "highest phonon energy times max_order, plus 5 %)", unit="meV", default=None,
              minimum=0.0, exclusive_minimum=True, flag="--energy-max",
              mantid_name="EnergyMax", group="Spectrum"),
    Parameter("energy_step_mev", float, "Energy bin width (use the MD S(Q,w)'s to compare "
              "bin by bin)", unit="meV", default=0.25, minimum=0.0, exclusive_minimum=True,
              flag="--energy-step", mantid_name="EnergyStep", group="Spectrum"),
    Parameter("q_min_inv_angstrom", float, "Lowest |Q| of the S(|Q|,w) map", unit="1/Angstrom",
              default=0.0, minimum=0.0, flag="--q-min", mantid_name="QMin", group="Spectrum"),
    Parameter("q_max_inv_angstrom", float, "Highest |Q| of the S(|Q|,w) map (TOSCA's lines "
              "reach about 16 1/Angstrom at 500 meV)", unit="1/Angstrom", default=20.0,
              minimum=0.0, exclusive_minimum=True, flag="--q-max", mantid_name="QMax",
              group="Spectrum"),
    Parameter("q_step_inv_angstrom", float, "|Q| bin width of the map", unit="1/Angstrom",
              default=0.1, minimum=0.0, exclusive_minimum=True, flag="--q-step",
              mantid_name="QStep", group="Spectrum"),
    # -- instrument (optional) ----------------------------------------------------------
    *_instrument_parameters(),
    # -- output --------------------------------------------------------------------------
    Parameter("output", str, "Processed NeXus file: the harmonic S(|Q|,w) (total, per element, "
              "per quantum order) and, with --instrument, the instrument spectra; the phonopy "
              "force constants go beside it (<name>_phonopy.yaml, reusable as the input) and a "
              "PNG", kind=Kind.OUTPUT_FILE, default="harmonic.nxs", extensions=(".nxs",),
              mantid_name="OutputFile", group="Output"),
    Parameter("plot", bool, "Write a PNG next to the output file", default=True,
              group="Output"),
) + SCHEDULER_PARAMETERS)

#: What the core does not read: the output file and its plot (left out of the logs).
OUTPUT_NAMES = ("output", "plot")


@dataclasses.dataclass(frozen=True)
class HarmonicSettings(StepSettings, parameters=HARMONIC_PARAMETERS):
    """The validated settings of the harmonic comparison (see :data:`HARMONIC_PARAMETERS` for
    each one's meaning); build with
    :meth:`~mantid_mdinsim.parameters.StepSettings.from_values`."""

    structure: str
    model: str | None
    min_atom_distance_angstrom: float
    supercell: tuple[int, ...] | None
    relax: str
    displacement_angstrom: float
    mesh: tuple[int, ...] | None
    temperature_k: float
    max_order: int
    method: str
    cross_section: str
    frequency_min_mev: float
    energy_min_mev: float
    energy_max_mev: float | None
    energy_step_mev: float
    q_min_inv_angstrom: float
    q_max_inv_angstrom: float
    q_step_inv_angstrom: float
    instrument: str | None
    incident_energy_mev: float | None
    setting: str | None
    resolution: str
    output: str
    plot: bool
    scheduler: str | None
    threads_per_worker: int
