"""The harmonic comparison in one call: structure + NEP -> phonons -> S(|Q|, w) [-> instrument].

:func:`compute_harmonic` takes a :class:`~.parameters.HarmonicSettings` (or values by name,
validated into one: :data:`~mantid_mdinsim.harmonic.parameters.HARMONIC_PARAMETERS`),
computes (or reads) the phonons, the harmonic S(|Q|, w) maps and, when an instrument is named, passes the total map
through the same instrument step as the MD prediction
(:func:`mantid_mdinsim.instrument.apply_instrument`), without the quantum correction of eq. 6
(the harmonic spectrum already has quantum statistics) and without a Debye-Waller change (it
already holds its own).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from .. import execution
from ..atomistic.inputs import (check_model_loads_on_cpu, check_species, load_structure,
                                read_model_info)
from ..errors import InputFileError, ParameterError
from ..instrument import InstrumentResult, InstrumentSettings, apply_instrument
from ..io.nexus import save_processed_nexus
from ..plotting import save_plot
from ..progress import ProgressReporter, ensure_progress
from ..provenance import provenance_logs
from ..spectrum import Spectrum, Table
from .parameters import OUTPUT_NAMES, SPECTRUM_NAMES, STEP_NAME, HarmonicSettings
from .phonons import (PHONON_FILE_EXTENSIONS, HarmonicPhonons, harmonic_phonons, load_phonons,
                      mesh_modes)
from .spectrum import HarmonicSpectra, harmonic_sqw

if TYPE_CHECKING:
    from euphonic import QpointPhononModes  # for annotations only: seconds to import



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
    settings
        The validated settings (None for results built by hand).
    """

    spectra: HarmonicSpectra
    modes: "QpointPhononModes"
    phonons: HarmonicPhonons | None = None
    instrument: InstrumentResult | None = None
    settings: HarmonicSettings | None = None

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


#: The most bins of an energy or |Q| grid of the harmonic spectrum.
MAX_BINS = 1_000_000


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
    bins = math.ceil((high - low) / step - 1e-9)
    if bins > MAX_BINS:
        # a step of 1e-9 asked for arrays of hundreds of GiB: a MemoryError, not a message
        step_name = name.replace("_max_", "_step_")
        raise ParameterError(step_name, f"a step of {step:g} makes {float(bins):.3g} bins from "
                             f"{low:g} to {high:g}, more than the {MAX_BINS:,} a grid can hold",
                             f"give a step of at least {(high - low) / MAX_BINS:.3g}")
    count = max(1, int(bins))
    return low + step * np.arange(count + 1)


def apply_instrument_harmonic(spectrum: Spectrum, temperature_k: float,
                              parameters: InstrumentSettings | Mapping[str, Any] | None = None,
                              progress: ProgressReporter | None = None,
                              **kwargs: Any) -> InstrumentResult:
    """The instrument step on a harmonic S(|Q|, w) map (``HarmonicSpectra.total`` or one
    order): kinematics and resolution exactly as for the MD prediction, but no quantum
    correction and no Debye-Waller change. ``temperature_k`` serves detailed balance where
    energy gain is asked for (0 K: none). The instrument's settings are given as for
    :func:`~mantid_mdinsim.instrument.apply_instrument`; of a settings object, those set."""
    given = dict(parameters.given() if isinstance(parameters, InstrumentSettings)
                 else parameters or {})
    given.update(kwargs)
    for name in ("quantum_correction", "debye_waller"):
        if given.get(name, False) not in (False, "none"):
            raise ParameterError(name, "the harmonic spectrum has quantum statistics and its "
                                 "own Debye-Waller factor already", f"leave {name} out")
    given.setdefault("temperature_k", temperature_k if temperature_k > 0 else None)
    settings = InstrumentSettings.from_values(given, quantum_correction=False,
                                              debye_waller="none")
    return apply_instrument(spectrum, settings, progress)


def compute_harmonic(parameters: HarmonicSettings | Mapping[str, Any] | None = None,
                     progress: ProgressReporter | None = None, **kwargs: Any) -> HarmonicResult:
    """Harmonic phonons of the NEP model and their incoherent INS spectrum.

    The settings are a :class:`~.parameters.HarmonicSettings` or values by name of
    :data:`HARMONIC_PARAMETERS` (the output file is not written here: see
    :meth:`HarmonicResult.save`); see ``mdinsim harmonic --help``.
    """
    progress = ensure_progress(progress)
    settings = HarmonicSettings.from_values(parameters, **kwargs)
    with execution.session(settings.scheduler, settings.threads_per_worker):
        return _compute_harmonic(settings, progress)


def _compute_harmonic(settings: HarmonicSettings,
                      progress: ProgressReporter) -> HarmonicResult:
    structure_path = Path(settings.structure)

    phonons: HarmonicPhonons | None = None
    logs: dict[str, Any] = {}
    if structure_path.suffix.lower() in PHONON_FILE_EXTENSIONS:
        loaded = load_phonons(structure_path)
        progress.report(0.4, "phonons read")
        from euphonic import QpointPhononModes  # euphonic takes a second to import

        if isinstance(loaded, QpointPhononModes):
            if settings.mesh is not None:
                raise ParameterError("mesh", f"{structure_path.name} holds modes at fixed "
                                     "q-points; a mesh cannot be chosen",
                                     "leave --mesh out, or give force constants (.yaml, "
                                     ".castep_bin)")
            modes = loaded
        else:
            modes = mesh_modes(loaded, mesh=settings.mesh)
        logs["harmonic_phonon_source"] = str(structure_path)
    else:
        phonons, modes = _nep_phonons(structure_path, settings, progress.sub(0.0, 0.5))
        logs.update({
            "harmonic_phonon_source": f"NEP {settings.model} (phonopy finite displacements, "
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
    if settings.frequency_min_mev >= highest:
        # Every mode would be left out: a spectrum of zeros, written as if it were one.
        raise ParameterError("frequency_min_mev", f"{settings.frequency_min_mev:g} meV leaves "
                             f"out every mode (the highest is {highest:.4g} meV)",
                             "give a value below the highest mode, e.g. the default")
    energy_max = settings.energy_max_mev
    if energy_max is None:
        energy_max = 1.05 * highest * settings.max_order
    energy_bins = _edges(settings.energy_min_mev, energy_max, settings.energy_step_mev,
                         "energy_max_mev")
    q_bins = _edges(settings.q_min_inv_angstrom, settings.q_max_inv_angstrom,
                    settings.q_step_inv_angstrom, "q_max_inv_angstrom")
    spectra = harmonic_sqw(modes, temperature_k=settings.temperature_k,
                           q_bins_inv_angstrom=q_bins, energy_bins_mev=energy_bins,
                           **settings.values_of(SPECTRUM_NAMES),
                           progress=progress.sub(0.55, 0.9))
    logs.update(provenance_logs(STEP_NAME, settings.as_values(exclude=OUTPUT_NAMES)))
    # The instrument step reads the sample temperature from this log (detailed balance).
    logs["temperature_k"] = float(settings.temperature_k)
    logs["harmonic_mesh_qpoints"] = int(modes.qpts.shape[0])
    for spectrum in spectra.workspaces():
        spectrum.logs.update(logs)

    instrument = None
    if settings.instrument is not None:
        instrument = apply_instrument_harmonic(
            spectra.total, settings.temperature_k,
            InstrumentSettings.from_values(
                instrument=settings.instrument, incident_energy_mev=settings.incident_energy_mev,
                setting=settings.setting, resolution=settings.resolution),
            progress.sub(0.9, 1.0))
    progress.report(1.0, "harmonic spectrum done")
    return HarmonicResult(spectra=spectra, modes=modes, phonons=phonons, instrument=instrument,
                          settings=settings)


def _nep_phonons(structure_path: Path, settings: HarmonicSettings,
                 progress: ProgressReporter) -> tuple[HarmonicPhonons, "QpointPhononModes"]:
    if settings.model is None:
        raise ParameterError("model", "a NEP model is needed to compute the phonons of "
                             f"{structure_path.name}", "give --model nep.txt, or give a phonon "
                             "file (.yaml with force constants, .phonon) instead of a structure")
    info = read_model_info(settings.model)
    check_model_loads_on_cpu(info)
    atoms = load_structure(structure_path, settings.min_atom_distance_angstrom)
    check_species(atoms, info, structure_path)
    phonons = harmonic_phonons(atoms, info.path, supercell=settings.supercell,
                               displacement_angstrom=settings.displacement_angstrom,
                               relax=settings.relax, progress=progress.sub(0.0, 0.9),
                               min_atom_distance_angstrom=settings.min_atom_distance_angstrom)
    modes = phonons.modes(mesh=settings.mesh)
    progress.report(1.0, "phonon modes on the mesh")
    return phonons, modes
