"""Parameters of MDApplyInstrument / ``mdinsim instrument``: one definition for core, CLI, Mantid.

* :data:`CORE_PARAMETERS`: what :func:`~mantid_mdinsim.instrument.apply.apply_instrument`
  takes besides the S(|Q|, w) itself.
* :data:`INSTRUMENT_PARAMETERS`: the whole step on the command line: the input file, the core
  parameters and the output files.
* :data:`ALGORITHM_PARAMETERS`: the same without the input file, for MDApplyInstrument, whose
  input is a workspace.
* :class:`InstrumentSettings`: the validated settings the core takes (every parameter of the
  step; the files are optional there, the core reads none of them).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..parameters import Kind, Parameter, ParameterSet, StepSettings, when
from ..sample import TEMPERATURE_K
from .instruments import DirectGeometryInstrument, RunSettings
from .registry import get_instrument, instrument_aliases, instrument_names, list_instruments

#: The step's name: the algorithm, the title of its parameters, its outputs' ``mdinsim_step``.
STEP_NAME = "MDApplyInstrument"
GROUP_INSTRUMENT = "Instrument"
GROUP_CORRECTIONS = "Corrections"
GROUP_OUTPUT = "Output"

INPUT_FILE = Parameter(
    "input_file", str, "Processed NeXus file holding S(|Q|,w): X energy transfer (meV, DeltaE), "
    "vertical axis |Q| (1/Angstrom, MomentumTransfer), as written by mdinsim sqw or Mantid",
    kind=Kind.INPUT_FILE, cli_positional=True, extensions=(".nxs", ".nx5", ".h5"),
    mantid_name="InputFile")

CORE = (
    Parameter("instrument", str, "Spectrometer to simulate; 'mdinsim instruments' lists them "
              "with their settings and ranges", choices=tuple(instrument_names()),
              aliases=instrument_aliases(), ignore_case=True, metavar="NAME",
              group=GROUP_INSTRUMENT),
    Parameter("incident_energy_mev", float, "Incident energy Ei of a direct-geometry instrument "
              "(default: the instrument's)", unit="meV", default=None, minimum=0.0,
              exclusive_minimum=True, flag="--ei", mantid_name="IncidentEnergy",
              group=GROUP_INSTRUMENT),
    Parameter("setting", str, "Instrument setting: chopper package (direct geometry, e.g. MAPS "
              "'A'), analyser banks (TOSCA/VISION 'All detectors', 'Forward', 'Backward') or "
              "monochromator (IN1-LAGRANGE 'Cu(220)'); default: the instrument's",
              default=None, group=GROUP_INSTRUMENT),
    Parameter("chopper_frequency_hz", int, "Frequency of the resolution-defining chopper: the "
              "Fermi chopper, or the resolution disk (CNCS chopper 4, LET chopper 5); default: "
              "the instrument's", unit="Hz", default=None, minimum=0, exclusive_minimum=True,
              flag="--chopper-frequency", mantid_name="ChopperFrequency",
              group=GROUP_INSTRUMENT),
    Parameter("secondary_chopper_frequency_hz", int, "Frequency of the second chopper that "
              "sets the resolution of disk-chopper instruments (CNCS Fermi chopper 1, LET pulse "
              "remover chopper 3); default: the instrument's", unit="Hz", default=None,
              minimum=0, exclusive_minimum=True, flag="--secondary-chopper-frequency",
              mantid_name="SecondaryChopperFrequency", group=GROUP_INSTRUMENT),
    Parameter("resolution", str, "Energy resolution: 'instrument' broadens with the "
              "instrument's resins model, 'none' applies kinematics and corrections only",
              default="instrument", choices=("instrument", "none"), group=GROUP_INSTRUMENT),
    Parameter("resolution_model", str, "Resolution model of the instrument: a resins model "
              "(default: resins' recommended one, e.g. PyChop_fit, AbINS) or this project's own "
              "(VISION: mdinsim, the default there; 'mdinsim instruments NAME' lists them)",
              default=None,
              group=GROUP_INSTRUMENT),
    Parameter("energy_min_mev", float, "Lowest energy transfer of the output (default: the "
              "input's, within the instrument's range)", unit="meV", default=None,
              flag="--energy-min", mantid_name="EnergyMin", group=GROUP_OUTPUT),
    Parameter("energy_max_mev", float, "Highest energy transfer of the output (default: the "
              "input's, below Ei for direct geometry, within the instrument's range)",
              unit="meV", default=None, flag="--energy-max", mantid_name="EnergyMax",
              group=GROUP_OUTPUT),
    Parameter("mask_value", str, "What bins a direct-geometry instrument cannot reach hold: "
              "'nan' (as Mantid's SofQW NormalisedPolygon leaves unmeasured bins; drawn blank) "
              "or 'zero' (as SofQW Centre or ReplaceNaNs)", default="nan",
              choices=("nan", "zero"), group=GROUP_OUTPUT),
    replace(TEMPERATURE_K, doc="Sample temperature for the quantum correction and detailed "
            "balance (default: the 'temperature_k' log of the input, if any)",
            group=GROUP_CORRECTIONS),
    Parameter("quantum_correction", bool, "Multiply the classical MD S(Q,w) by "
              "beta*hbar*w/(1-exp(-beta*hbar*w)) (paper eq. 6), which also gives detailed "
              "balance on the energy-gain side", default=True, group=GROUP_CORRECTIONS),
    Parameter("detailed_balance", bool, "Where the input holds only w >= 0 and the output "
              "needs energy gain (w < 0), build S(Q,-w) = exp(-beta*hbar*w) S(Q,w)",
              default=True, group=GROUP_CORRECTIONS),
    Parameter("debye_waller", str, "Debye-Waller factor exp(-|Q|^2 U/3): 'none' (MD S and "
              "measurements both contain it), 'remove' (divide it out, as the paper did per "
              "Brillouin zone of Si before averaging zones), 'apply' (multiply, for an S "
              "without it)", default="none", choices=("none", "remove", "apply"),
              group=GROUP_CORRECTIONS),
    Parameter("mean_squared_displacement_angstrom2", float, "U = <|u|^2> for the Debye-Waller "
              "factor (or give md_summary_file)", unit="Angstrom^2", default=None, minimum=0.0,
              flag="--msd", mantid_name="MeanSquaredDisplacement", group=GROUP_CORRECTIONS),
    Parameter("md_summary_file", str, "summary.json of the MD run, whose "
              "'mean_squared_displacement_angstrom2' gives U for the Debye-Waller factor",
              default=None, kind=Kind.INPUT_FILE, extensions=(".json",), flag="--md-summary",
              mantid_name="MDSummaryFile", group=GROUP_CORRECTIONS),
    Parameter("inverse_q_squared", bool, "Multiply by 1/|Q|^2 (in Angstrom^2), as the paper "
              "does for coherent Si before averaging Brillouin zones", default=False, group=GROUP_CORRECTIONS),
    Parameter("omega_squared", bool, "Multiply by w^2 (meV^2), as the paper does for the Si "
              "X-point intensity", default=False, group=GROUP_CORRECTIONS),
    Parameter("override_provenance", bool, "Go on where the input's records say it will be "
              "wrong: the input is already an instrument's output (resolution and corrections "
              "would be applied twice), or the MD summary's U is from another temperature "
              "than the correction's", default=False, group=GROUP_CORRECTIONS),
)

OUTPUTS = (
    Parameter("output_file", str, "Processed NeXus file to write: 2D S(|Q|,w) for direct "
              "geometry (Mantid SofQW layout), 1D S(w) and one per bank for indirect geometry "
              "(AbINS layout), and the resolution widths used", kind=Kind.OUTPUT_FILE,
              flag="--output", extensions=(".nxs",), mantid_name="OutputFile",
              group=GROUP_OUTPUT),
    Parameter("plot_file", str, "PNG of the result (default: the output file name with .png)",
              default=None, kind=Kind.OUTPUT_FILE, flag="--plot", extensions=(".png",),
              mantid_name="PlotFile", group=GROUP_OUTPUT),
)

_DIRECT = when("instrument", *(i.name for i in list_instruments()
                                if isinstance(i, DirectGeometryInstrument)))
_DEBYE_WALLER = when("debye_waller", "remove", "apply")

#: Settings that apply only with another's value: greyed out in the Mantid dialog, a warning
#: when given otherwise.
CONDITIONS = {
    "incident_energy_mev": _DIRECT,
    "chopper_frequency_hz": _DIRECT,
    "secondary_chopper_frequency_hz": _DIRECT,
    "mask_value": _DIRECT,
    # Refused, not only warned of: a model named says a resolution was meant.
    "resolution_model": when("resolution", "instrument",
                             refuse="--resolution none applies no resolution"),
    "mean_squared_displacement_angstrom2": _DEBYE_WALLER,
    "md_summary_file": _DEBYE_WALLER,
}

#: Parameters of the core function (no data files except the optional MD summary).
CORE_PARAMETERS = ParameterSet(STEP_NAME, CORE).with_conditions(CONDITIONS)

#: The whole step: input file, core parameters, output files (CLI and Mantid layer).
INSTRUMENT_PARAMETERS = ParameterSet(STEP_NAME, (INPUT_FILE,) + CORE + OUTPUTS
                                     ).with_conditions(CONDITIONS)

#: The Mantid algorithm's parameters: the input is a workspace (InputWorkspace), not a file.
ALGORITHM_PARAMETERS = ParameterSet(STEP_NAME, CORE + OUTPUTS
                                    ).with_conditions(CONDITIONS)

#: Names of the file parameters that the core ignores.
FILE_PARAMETER_NAMES = ("input_file", "output_file", "plot_file")

#: The parameters of :class:`InstrumentSettings`: the whole step, the files optional (the
#: command line requires the input and output files through INSTRUMENT_PARAMETERS; Mantid's
#: input is a workspace and its output files are optional).
SETTINGS_PARAMETERS = ParameterSet(STEP_NAME, tuple(
    replace(p, default=None) if p.name in FILE_PARAMETER_NAMES else p
    for p in INSTRUMENT_PARAMETERS))


@dataclass(frozen=True)
class InstrumentSettings(StepSettings, parameters=SETTINGS_PARAMETERS):
    """The validated settings of MDApplyInstrument (see :data:`CORE_PARAMETERS` for each
    one's meaning); build with :meth:`~mantid_mdinsim.parameters.StepSettings.from_values`."""

    input_file: str | None
    instrument: str
    incident_energy_mev: float | None
    setting: str | None
    chopper_frequency_hz: int | None
    secondary_chopper_frequency_hz: int | None
    resolution: str
    resolution_model: str | None
    energy_min_mev: float | None
    energy_max_mev: float | None
    mask_value: str
    temperature_k: float | None
    quantum_correction: bool
    detailed_balance: bool
    debye_waller: str
    mean_squared_displacement_angstrom2: float | None
    md_summary_file: str | None
    inverse_q_squared: bool
    omega_squared: bool
    override_provenance: bool
    output_file: str | None
    plot_file: str | None

    def configure(self) -> RunSettings:
        """The instrument's validated configuration of this run (settings, Ei, choppers,
        resolution model within the instrument's ranges)."""
        return get_instrument(self.instrument).configure(
            setting=self.setting, incident_energy_mev=self.incident_energy_mev,
            chopper_frequency_hz=self.chopper_frequency_hz,
            secondary_chopper_frequency_hz=self.secondary_chopper_frequency_hz,
            resolution_model=self.resolution_model)

    def core_values(self) -> dict[str, object]:
        """The settings of the core by name (the files left out): the provenance logs."""
        return self.as_values(exclude=FILE_PARAMETER_NAMES)
