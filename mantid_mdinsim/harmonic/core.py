"""The harmonic comparison in one call: structure + NEP -> phonons -> S(|Q|, w) [-> instrument].

:func:`compute_harmonic` validates its parameters with
:data:`~mantid_mdinsim.harmonic.parameters.HARMONIC_PARAMETERS`, computes (or reads) the
phonons, the harmonic S(|Q|, w) maps and, when an instrument is named, passes the total map
through the same instrument step as the MD prediction
(:func:`mantid_mdinsim.instrument.apply_instrument`), without the quantum correction of eq. 6
(the harmonic spectrum already has quantum statistics) and without a Debye-Waller change (it
already holds its own).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from .. import execution
from ..atomistic.inputs import (check_model_loads_on_cpu, check_species, load_structure,
                                read_model_info)
from ..errors import InputFileError, ParameterError
from ..instrument import InstrumentResult, apply_instrument
from ..io.nexus import save_processed_nexus
from ..plotting import save_plot
from ..progress import ProgressReporter, ensure_progress
from ..provenance import provenance_logs
from ..spectrum import Spectrum, Table
from .parameters import CORE_PARAMETER_NAMES, HARMONIC_PARAMETERS
from .phonons import HarmonicPhonons, harmonic_phonons, load_phonons, mesh_modes
from .spectrum import HarmonicSpectra, harmonic_sqw

if TYPE_CHECKING:
    from euphonic import QpointPhononModes

STEP_NAME = "MDHarmonic"
_PHONON_SUFFIXES = (".yaml", ".phonon", ".castep_bin", ".check")


@dataclass
class HarmonicResult:
    """Everything the harmonic comparison produced.

    Attributes
    ----------
    spectra
        The harmonic S(|Q|, w) maps: total, per element, per quantum order.
    modes
        The phonon modes the spectra were computed from (euphonic ``QpointPhononModes``).
    phonons
        The NEP force constants (None when phonons were read from a file).
    instrument
        The instrument's spectrum of the total map (None without ``instrument``).
    parameters
        The validated parameters.
    """

    spectra: HarmonicSpectra
    modes: "QpointPhononModes"
    phonons: HarmonicPhonons | None = None
    instrument: InstrumentResult | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    def workspaces(self) -> list[Spectrum | Table]:
        items: list[Spectrum | Table] = list(self.spectra.workspaces())
        if self.instrument is not None:
            items.extend(self.instrument.workspaces())
        return items

    def save(self, path: str | Path, plot: bool = True) -> list[Path]:
        """Write the processed NeXus file, the phonopy force constants beside it (when made
        here) and a PNG; every file atomically. Returns the paths written."""
        path = Path(path)
        written = [save_processed_nexus(path, self.workspaces())]
        if self.phonons is not None and self.phonons.phonopy is not None:
            written.append(self.phonons.save(force_constants_path(path)))
        if plot:
            if self.instrument is not None:
                shown = [w for w in self.instrument.workspaces(include_tables=False)]
                title = self.instrument.spectrum.title
            else:
                shown, title = [self.spectra.total], self.spectra.total.title
            written.append(save_plot(shown, path.with_suffix(".png"), title=title))
        return written


def force_constants_path(output: str | Path) -> Path:
    """Where the phonopy force constants of ``output`` go: ``<stem>_phonopy.yaml``."""
    output = Path(output)
    return output.with_name(output.stem + "_phonopy.yaml")


def _edges(low: float, high: float, step: float, name: str) -> np.ndarray:
    if not high > low:
        raise ParameterError(name, f"the range {low:g} to {high:g} is empty",
                             "give a maximum above the minimum")
    if step > (high - low) * (1 + 1e-9):
        # One bin would then reach past the maximum: the spectrum silently becomes a single
        # number over a range nobody asked for.
        step_name = name.replace("_max_", "_step_")
        raise ParameterError(step_name, f"{step:g} is wider than the range {low:g} to {high:g}",
                             f"give a step of at most {high - low:g} (several bins resolve the "
                             "spectrum)")
    count = max(1, int(math.ceil((high - low) / step - 1e-9)))
    return low + step * np.arange(count + 1)


def apply_instrument_harmonic(spectrum: Spectrum, temperature_k: float,
                              parameters: Mapping[str, Any] | None = None,
                              progress: ProgressReporter | None = None,
                              **kwargs: Any) -> InstrumentResult:
    """The instrument step on a harmonic S(|Q|, w) map (``HarmonicSpectra.total`` or one
    order): kinematics and resolution exactly as for the MD prediction, but no quantum
    correction and no Debye-Waller change. ``temperature_k`` serves detailed balance where
    energy gain is asked for (0 K: none)."""
    given = dict(parameters or {})
    given.update(kwargs)
    for name in ("quantum_correction", "debye_waller"):
        if name in given and given[name] not in (False, "none"):
            raise ParameterError(name, "the harmonic spectrum has quantum statistics and its "
                                 "own Debye-Waller factor already", f"leave {name} out")
    given["quantum_correction"] = False
    given["debye_waller"] = "none"
    given.setdefault("temperature_k", temperature_k if temperature_k > 0 else None)
    return apply_instrument(spectrum, given, progress)


def compute_harmonic(parameters: Mapping[str, Any] | None = None,
                     progress: ProgressReporter | None = None, **kwargs: Any) -> HarmonicResult:
    """Harmonic phonons of the NEP model and their incoherent INS spectrum.

    Parameters are those of :data:`HARMONIC_PARAMETERS` (output files are ignored here), by
    name; see ``mdinsim harmonic --help``.
    """
    progress = ensure_progress(progress)
    given = dict(parameters or {})
    given.update(kwargs)
    given.pop("output", None)
    given.pop("plot", None)
    params = HARMONIC_PARAMETERS.subset(CORE_PARAMETER_NAMES).resolve(given)
    with execution.session(params["scheduler"], params["threads_per_worker"]):
        return _compute_harmonic(params, progress)


def _compute_harmonic(params: dict[str, Any], progress: ProgressReporter) -> HarmonicResult:
    structure_path = Path(params["structure"])

    phonons: HarmonicPhonons | None = None
    logs: dict[str, Any] = {}
    if structure_path.suffix.lower() in _PHONON_SUFFIXES:
        loaded = load_phonons(structure_path)
        progress.report(0.4, "phonons read")
        from euphonic import QpointPhononModes  # euphonic takes a second to import

        if isinstance(loaded, QpointPhononModes):
            if params["mesh"] is not None:
                raise ParameterError("mesh", f"{structure_path.name} holds modes at fixed "
                                     "q-points; a mesh cannot be chosen",
                                     "leave --mesh out, or give force constants (.yaml, "
                                     ".castep_bin)")
            modes = loaded
        else:
            modes = mesh_modes(loaded, mesh=params["mesh"])
        logs["harmonic_phonon_source"] = str(structure_path)
    else:
        phonons, modes = _nep_phonons(structure_path, params, progress.sub(0.0, 0.5))
        logs.update({
            "harmonic_phonon_source": f"NEP {params['model']} (phonopy finite displacements, "
                                      "calorine CPUNEP)",
            "harmonic_supercell": np.asarray(phonons.supercell, dtype=float).reshape(-1),
            "harmonic_cell_lengths_angstrom": phonons.structure.cell.lengths(),
            "harmonic_cell_angles_deg": phonons.structure.cell.angles(),
            "harmonic_max_residual_force_ev_per_angstrom": phonons.max_force_ev_per_angstrom,
        })
    progress.report(0.55, f"{modes.qpts.shape[0]} q-points")

    energies = modes.frequencies.to("meV").magnitude
    highest = float(np.nanmax(energies)) if energies.size else 0.0
    if not highest > 0:
        raise InputFileError(structure_path, "the phonon modes have no positive frequency",
                             fix="check the structure and the model (a structure far from a "
                                 "minimum can be unstable: try --relax cell)")
    if params["frequency_min_mev"] >= highest:
        # Every mode would be left out: a spectrum of zeros, written as if it were one.
        raise ParameterError("frequency_min_mev", f"{params['frequency_min_mev']:g} meV leaves "
                             f"out every mode (the highest is {highest:.4g} meV)",
                             "give a value below the highest mode, e.g. the default")
    energy_max = params["energy_max_mev"]
    if energy_max is None:
        energy_max = 1.05 * highest * params["max_order"]
    energy_bins = _edges(params["energy_min_mev"], energy_max, params["energy_step_mev"],
                         "energy_max_mev")
    q_bins = _edges(params["q_min_inv_angstrom"], params["q_max_inv_angstrom"],
                    params["q_step_inv_angstrom"], "q_max_inv_angstrom")
    spectra = harmonic_sqw(modes, temperature_k=params["temperature_k"],
                           q_bins_inv_angstrom=q_bins, energy_bins_mev=energy_bins,
                           max_order=params["max_order"], method=params["method"],
                           cross_section=params["cross_section"],
                           frequency_min_mev=params["frequency_min_mev"],
                           progress=progress.sub(0.55, 0.9))
    logs.update(provenance_logs(STEP_NAME, params))
    # The instrument step reads the sample temperature from this log (detailed balance).
    logs["temperature_k"] = float(params["temperature_k"])
    logs["harmonic_mesh_qpoints"] = int(modes.qpts.shape[0])
    for spectrum in spectra.workspaces():
        spectrum.logs.update(logs)

    instrument = None
    if params["instrument"] is not None:
        instrument = apply_instrument_harmonic(
            spectra.total, params["temperature_k"],
            {name: params[name] for name in ("instrument", "incident_energy_mev", "setting",
                                             "resolution")},
            progress.sub(0.9, 1.0))
    progress.report(1.0, "harmonic spectrum done")
    return HarmonicResult(spectra=spectra, modes=modes, phonons=phonons, instrument=instrument,
                          parameters=params)


def _nep_phonons(structure_path: Path, params: Mapping[str, Any],
                 progress: ProgressReporter) -> tuple[HarmonicPhonons, "QpointPhononModes"]:
    if params["model"] is None:
        raise ParameterError("model", "a NEP model is needed to compute the phonons of "
                             f"{structure_path.name}", "give --model nep.txt, or give a phonon "
                             "file (.yaml with force constants, .phonon) instead of a structure")
    info = read_model_info(params["model"])
    check_model_loads_on_cpu(info)
    atoms = load_structure(structure_path, params["min_atom_distance_angstrom"])
    check_species(atoms, info, structure_path)
    phonons = harmonic_phonons(atoms, info.path, supercell=params["supercell"],
                               displacement_angstrom=params["displacement_angstrom"],
                               relax=params["relax"], progress=progress.sub(0.0, 0.9),
                               min_atom_distance_angstrom=params["min_atom_distance_angstrom"])
    modes = phonons.modes(mesh=params["mesh"])
    progress.report(1.0, "phonon modes on the mesh")
    return phonons, modes
