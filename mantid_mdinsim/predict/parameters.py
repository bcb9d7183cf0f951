"""The parameters of ``mdinsim predict``: the step sets merged, plus predict's own.

One command chains MD -> S(q,w) -> instrument (-> harmonic comparison), so its options are the
options of those steps, taken from their own definitions (:data:`~mantid_mdinsim.md.MD_PARAMETERS`,
:data:`~mantid_mdinsim.sqw.SQW_PARAMETERS`, :data:`~mantid_mdinsim.instrument.CORE_PARAMETERS`,
:data:`~mantid_mdinsim.harmonic.HARMONIC_PARAMETERS`), less what the chain itself decides:

* the trajectories and their frame interval (from the MD step), the sample temperature and U of
  the instrument step (the MD temperature and the MD run's mean-squared displacement), output
  files (all in ``--output-dir``) and the per-q output (the instrument needs |Q| shells);
* one ``seed`` for MD and for the random q-points; one ``temperature_k`` (the MD's, several
  allowed: one spectrum per temperature).

A few defaults differ from the steps' own, because the chain knows more than each step alone
(each is marked ``predict default`` in its help): the q-point range and |Q| width follow the
instrument and the supercell, the correlation window follows the trajectory length, and the
harmonic cross section is ``total`` (the incoherent approximation of the coherent MD S), and
with ``--harmonic`` the MD S(q,w) is the incoherent approximation too (``--approximation``), so
that MD and harmonic differ by the dynamics, not the scattering model.

Units: as the steps': K, fs, ps, meV, 1/Angstrom, Angstrom^2.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..harmonic.parameters import HARMONIC_PARAMETERS
from ..instrument.parameters import CORE_PARAMETERS as INSTRUMENT_CORE_PARAMETERS
from ..md.parameters import MD_PARAMETERS
from ..parameters import Kind, Parameter, ParameterSet, StepSettings
from ..sqw.parameters import SQW_PARAMETERS
from .demos import DEMOS

GROUP_PREDICT = "Predict"
GROUP_HARMONIC = "Harmonic comparison"
GROUP_SQW = "S(q,w)"

_replace = dataclasses.replace

# -- predict's own ---------------------------------------------------------------------------
OWN = (
    Parameter("demo", str, "Run a demo shipped with mdinsim (structure, NEP model and small "
              "settings in the package, nothing downloaded); options given as well override "
              "the demo's. si-tosca: 216 Si atoms at 300 K, TOSCA, with the harmonic comparison; "
              "si-arcs: the same at ARCS (Ei 100 meV)", default=None,
              choices=tuple(DEMOS), group=GROUP_PREDICT),
    Parameter("output_dir", str, "Folder of the prediction: md/ (the MD runs), sqw_<T>K.nxs "
              "(S(q,w)), <INSTRUMENT>_<T>K.nxs (the instrument spectrum), harmonic_<T>K.nxs, "
              "prediction.png and report.json/report.txt; a run started again with the same "
              "folder skips the stages already done with the same parameters",
              kind=Kind.DIRECTORY, group=GROUP_PREDICT),
    Parameter("experiment", str, "A reduced measurement to compare with: a Mantid processed "
              "NeXus file or a text file of 2 or 3 columns (energy transfer in meV, intensity, "
              "error); drawn over the prediction, with the least-squares scale factor and the "
              "mean-squared error in the report", kind=Kind.INPUT_FILE, default=None,
              extensions=(".nxs", ".txt", ".dat", ".csv", ".xye"), group=GROUP_PREDICT),
    Parameter("compare_energy_min_mev", float, "Lowest energy transfer used for the scale "
              "factor and error against the experiment (default: all the overlap; the paper "
              "scaled benzene above 50 meV)", unit="meV", default=None,
              flag="--compare-energy-min", mantid_name="CompareEnergyMin", group=GROUP_PREDICT),
    Parameter("compare_energy_max_mev", float, "Highest energy transfer used for the scale "
              "factor and error against the experiment", unit="meV", default=None,
              flag="--compare-energy-max", mantid_name="CompareEnergyMax", group=GROUP_PREDICT),
    Parameter("ensemble", str, "NEP models of an ensemble (two or more, e.g. mdinsim train's "
              "ensemble/ folder) whose spread is the model uncertainty of the prediction: each "
              "model's harmonic spectrum through the same instrument, their standard deviation "
              "drawn as a band, written as <INSTRUMENT>_<T>K_model_spread.nxs and each main "
              "peak's spread (meV) in the report. With --demo and no files: the demo's own "
              "ensemble", default=None, kind=Kind.INPUT_FILES, mantid_name="Ensemble",
              extensions=(".txt",), group=GROUP_PREDICT, allow_empty=True),
    Parameter("harmonic", bool, "Also compute the harmonic (AbINS-style) spectrum of the same "
              "NEP model (phonopy phonons, abinslib), pass it through the same instrument and "
              "draw it beside the MD prediction", default=False, group=GROUP_HARMONIC),
)


def _adapted(source: ParameterSet, decided: tuple[str, ...],
             changes: dict[str, dict[str, Any]], **common: Any) -> tuple[Parameter, ...]:
    """The parameters of a step's ``source`` less those the chain ``decided``, each named in
    ``changes`` changed so (``doc_suffix`` is appended to the parameter's doc), all with
    ``common`` (a group)."""
    items = []
    for parameter in source:
        if parameter.name in decided:
            continue
        change = dict(changes.get(parameter.name, {}))
        if "doc_suffix" in change:
            change["doc"] = parameter.doc + change.pop("doc_suffix")
        items.append(_replace(parameter, **change, **common))
    return tuple(items)


_UNLESS_DEMO = {"default": None, "doc_suffix": " (required unless --demo gives it)"}


def _md() -> tuple[Parameter, ...]:
    """The MD step's parameters; structure and model become optional (a demo supplies them)."""
    return _adapted(MD_PARAMETERS, ("output_dir",),
                    {name: _UNLESS_DEMO for name in ("structure", "model", "temperature_k")})


#: S(q,w) parameters the chain sets itself.
_SQW_DECIDED = ("trajectories", "time_step_fs", "seed", "per_q", "output", "plot",
                "scheduler", "threads_per_worker",   # these two: from the MD step's set
                "species_from")   # the MD step writes the species file beside each trajectory


def _sqw() -> tuple[Parameter, ...]:
    return _adapted(SQW_PARAMETERS, _SQW_DECIDED, {
        "window": {"default": None, "doc_suffix": "; predict default: a quarter of the frames of a "
                   "run, at most 500"},
        "approximation": {"default": None, "doc_suffix": "; predict default: incoherent with "
                          "--harmonic (like for like with the harmonic spectrum; the full "
                          "spectrum is drawn as its own curve), full without"},
        "q_max_inv_angstrom": {"doc_suffix": "; predict default: the largest |Q| the instrument "
                               "reaches within the energy range"},
        "q_width_inv_angstrom": {"default": None, "doc_suffix": "; predict default: 0.15 times the "
                                 "shortest reciprocal vector of the MD supercell (at least "
                                 "0.01), so that few |Q| shells are empty"},
    }, group=GROUP_SQW)


#: Instrument parameters the chain sets itself (the MD temperature and U).
_INSTRUMENT_DECIDED = ("temperature_k", "md_summary_file", "override_provenance")


def _instrument() -> tuple[Parameter, ...]:
    return _adapted(INSTRUMENT_CORE_PARAMETERS, _INSTRUMENT_DECIDED, {
        "instrument": _UNLESS_DEMO,
        "mean_squared_displacement_angstrom2": {
            "doc": "U = <|u|^2> for the Debye-Waller factor; default: the MD run's own, at "
                   "each temperature"},
    })


#: Harmonic parameters used as they are (no clash with the other steps' names).
_HARMONIC_KEPT = ("relax", "displacement_angstrom", "mesh", "max_order", "method",
                  "cross_section", "frequency_min_mev")


def _harmonic() -> tuple[Parameter, ...]:
    items = [_replace(HARMONIC_PARAMETERS["supercell"], name="harmonic_supercell",
                      flag="--harmonic-supercell", mantid_name="HarmonicSupercell",
                      group=GROUP_HARMONIC)]
    for name in _HARMONIC_KEPT:
        parameter = _replace(HARMONIC_PARAMETERS[name], group=GROUP_HARMONIC)
        if name == "cross_section":
            parameter = _replace(parameter, default="total", doc=parameter.doc +
                                 "; predict default: total, the incoherent approximation of "
                                 "the MD S(q,w), which holds coherent and incoherent parts")
        items.append(parameter)
    return tuple(items)


PREDICT_PARAMETERS = ParameterSet("MDPredict", OWN + _md() + _sqw() + _instrument()
                                  + _harmonic())

#: Names of each stage's parameters within PREDICT_PARAMETERS (what decides a stage's result).
MD_NAMES = tuple(p.name for p in _md())
SQW_NAMES = tuple(p.name for p in _sqw())
INSTRUMENT_NAMES = tuple(p.name for p in _instrument())
HARMONIC_NAMES = tuple(p.name for p in _harmonic())


@dataclass(frozen=True)
class PredictSettings(StepSettings, parameters=PREDICT_PARAMETERS):
    """The prediction's settings: the steps' merged, predict's own, in the order of
    :data:`PREDICT_PARAMETERS` (:func:`~.core.resolve_settings` merges a demo's values and
    fills the automatic ones). A stage takes its step's values with :meth:`values_of`."""

    demo: str | None
    output_dir: str
    experiment: str | None
    compare_energy_min_mev: float | None
    compare_energy_max_mev: float | None
    ensemble: tuple[str, ...] | None
    harmonic: bool
    structure: str | None
    model: str | None
    supercell: tuple[int, ...]
    min_atom_distance_angstrom: float
    temperature_k: tuple[float, ...] | None
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
    window: int | None
    q_max_inv_angstrom: float | None
    q_count: int
    q_file: str | None
    q_path: str | None
    zones: int
    primitive_cell: str | None
    weights: str
    incoherent: str
    approximation: str | None
    q_width_inv_angstrom: float | None
    q_step_inv_angstrom: float | None
    engine: str
    device: str
    precision: str
    instrument: str | None
    incident_energy_mev: float | None
    setting: str | None
    chopper_frequency_hz: int | None
    secondary_chopper_frequency_hz: int | None
    resolution: str
    resolution_model: str | None
    energy_min_mev: float | None
    energy_max_mev: float | None
    mask_value: str
    quantum_correction: bool
    detailed_balance: bool
    debye_waller: str
    mean_squared_displacement_angstrom2: float | None
    inverse_q_squared: bool
    omega_squared: bool
    harmonic_supercell: tuple[int, ...] | None
    relax: str
    displacement_angstrom: float
    mesh: tuple[int, ...] | None
    max_order: int
    method: str
    cross_section: str
    frequency_min_mev: float

    def values_of(self, names: tuple[str, ...]) -> dict[str, Any]:
        """The values of ``names`` (a stage's parameters, :data:`MD_NAMES` ...) by name, for
        the step's own function and for the key that decides whether a stage is done."""
        values = self.as_values()
        return {name: values[name] for name in names}
