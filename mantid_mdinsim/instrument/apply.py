"""MDApplyInstrument's core: what a spectrometer would measure, given a simulated S(|Q|, w).

The order of operations; each concern is in its own module:

1. Read and check the S(|Q|, w) grid (:mod:`.sqw_input`): energy transfer w (meV) on X, |Q|
   (1/Angstrom) on the vertical axis, values per meV.
2. Energy grid (:mod:`.energy_range`): keep only w that neutrons can give (w < Ei in direct
   geometry, w > -Ef in indirect), extended to energy gain (w < 0) by detailed balance where
   the input is one-sided and the output asks for it.
3. Corrections on the true S (:mod:`.corrections`): quantum correction (eq. 6), Debye-Waller,
   1/|Q|^2, w^2, each a switch recorded in the logs.
4. What the geometry measures (:mod:`.measurement`, with :mod:`.resolution` and
   :mod:`.kinematics`): direct geometry the 2D result in Mantid's SofQW layout, indirect
   geometry the banks' and the instrument's 1D spectra in AbINS' layout.

The settings are one :class:`~.parameters.InstrumentSettings`, built from values by name
where a dict (or keywords) is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..approximation import LOG_NAME as APPROXIMATION_LOG
from ..approximation import approximation_of
from ..io.nexus import save_processed_nexus
from ..progress import ProgressReporter, ensure_progress
from ..provenance import log_value, provenance_logs
from ..spectrum import Spectrum, Table
from .corrections import apply_corrections, sample_temperature
from .energy_range import output_energy_range, working_grid
from .instruments import DirectGeometryInstrument, IndirectGeometryInstrument, RunSettings
from .measurement import direct_spectrum, indirect_spectra
from .parameters import STEP_NAME, InstrumentSettings
from .registry import get_instrument
from .resolution import ResolutionModel
from .sqw_input import (SqwGrid, check_not_applied, check_not_harmonic, load_sqw, source_of,
                        sqw_grid_from_spectrum)


@dataclass
class InstrumentResult:
    """What the instrument measures.

    Attributes
    ----------
    spectrum
        Direct geometry: 2D S(|Q|, w) in Mantid SofQW's layout (X energy-transfer bin edges,
        ``DeltaE``; vertical |Q| bin edges, ``MomentumTransfer``; per meV, unreachable bins NaN
        or 0). Indirect geometry: the instrument's 1D S(w) (banks combined) in AbINS' layout
        (X energy-transfer bin edges in meV, intensity per bin, ``S / Arbitrary Units``).
    banks
        Indirect geometry: one 1D spectrum per analyser bank, same layout; empty otherwise.
    resolution
        Table of the Gaussian width used at each output energy (meV), or None.
    run
        The validated instrument configuration.
    """

    spectrum: Spectrum
    banks: dict[str, Spectrum]
    resolution: Table | None
    run: RunSettings

    def workspaces(self, include_tables: bool = True) -> list[Spectrum | Table]:
        """The instrument spectrum, then each bank, then the resolution table."""
        items: list[Spectrum | Table] = [self.spectrum, *self.banks.values()]
        if include_tables and self.resolution is not None:
            items.append(self.resolution)
        return items

    def save(self, path: str | Path) -> Path:
        """Write all workspaces to one processed NeXus file (atomically: nothing half-written);
        Mantid loads it as a WorkspaceGroup."""
        return save_processed_nexus(Path(path), self.workspaces())

    def save_plot(self, path: str | Path) -> Path:
        """A PNG of the result (atomically): the 2D map (direct geometry) or the instrument and
        bank spectra (indirect geometry)."""
        from ..plotting import save_plot  # matplotlib takes seconds; only a plot needs it

        return save_plot(self.workspaces(include_tables=False), Path(path),
                         title=self.spectrum.title)


def apply_instrument(sqw: Spectrum | SqwGrid,
                     parameters: InstrumentSettings | Mapping[str, Any] | None = None,
                     progress: ProgressReporter | None = None, *,
                     source: str | Path | None = None, **kwargs: Any) -> InstrumentResult:
    """Apply an instrument (kinematics, resolution, corrections) to a simulated S(|Q|, w).

    Parameters
    ----------
    sqw
        S(|Q|, w): energy transfer (meV, ``DeltaE``) on X, |Q| (1/Angstrom,
        ``MomentumTransfer``) vertical, values per meV (see :func:`sqw_grid_from_spectrum`).
    parameters
        The settings (:class:`~.parameters.InstrumentSettings`), or values by name as defined
        in :data:`~mantid_mdinsim.instrument.parameters.CORE_PARAMETERS` (``instrument`` is
        required; file names are accepted and ignored); keyword arguments are merged in.
    progress
        Reports progress and checks for cancellation between stages.
    source
        The file (or workspace) ``sqw`` came from, as messages name it; default: the
        Spectrum's workspace name.

    Returns
    -------
    InstrumentResult
    """
    progress = ensure_progress(progress)
    settings = InstrumentSettings.from_values(parameters, **kwargs)
    instrument = get_instrument(settings.instrument)
    run = settings.configure()
    if not isinstance(sqw, SqwGrid):
        # Before the grid's checks, which would otherwise complain of the masked bins.
        check_not_applied(sqw.logs, str(source) if source else source_of(sqw), settings)
    grid = sqw if isinstance(sqw, SqwGrid) else sqw_grid_from_spectrum(sqw, source)
    check_not_harmonic(grid, settings)
    check_not_applied(grid.logs, grid.source, settings)
    progress.report(0.05, "input checked")

    resolution_model: ResolutionModel | None = None
    if settings.resolution == "instrument":
        resolution_model = instrument.resolution(run, settings.resolution_model)

    output_range = output_energy_range(grid, run, settings)
    temperature_k, temperature_source = sample_temperature(grid, settings)
    working, extended = working_grid(grid, run, settings, output_range, resolution_model,
                                     temperature_k)
    progress.report(0.15, "energy grid prepared")

    extra_logs = apply_corrections(working, settings, temperature_k)
    progress.report(0.3, "corrections applied")

    if isinstance(instrument, DirectGeometryInstrument):
        spectrum, table = direct_spectrum(instrument, run, working, settings.mask_value,
                                          output_range, resolution_model,
                                          progress.sub(0.3, 0.95))
        banks: dict[str, Spectrum] = {}
    else:
        assert isinstance(instrument, IndirectGeometryInstrument)
        spectrum, banks, table = indirect_spectra(run, working, output_range, resolution_model,
                                                  progress.sub(0.3, 0.95), extra_logs)

    logs = _logs(grid, settings, run, resolution_model, temperature_k, temperature_source,
                 extended, extra_logs, output_range)
    base = f"{grid.name or 'sqw'}_{instrument.name}"
    title = f"{instrument.name} prediction from {grid.title or grid.name or 'S(|Q|,w)'}"
    for item, name in [(spectrum, base), *[(b, f"{base}_{n.replace(' ', '_')}")
                                           for n, b in banks.items()]]:
        item.name, item.logs = name, dict(logs)
        item.title = title if item is spectrum else f"{title}, bank {name[len(base) + 1:]}"
    if table is not None:
        table.name, table.title = f"{base}_resolution", f"{title}: resolution"
        table.logs = dict(logs)
    progress.report(1.0, "done")
    return InstrumentResult(spectrum, banks, table, run)


def _logs(grid: SqwGrid, settings: InstrumentSettings, run: RunSettings,
          resolution: ResolutionModel | None, temperature_k: float | None,
          temperature_source: str, extended: bool, extra: Mapping[str, Any],
          output_range: tuple[float, float]) -> dict[str, Any]:
    logs: dict[str, Any] = {f"input_{k}": v for k, v in grid.logs.items()}
    logs.update(provenance_logs(STEP_NAME, settings.core_values()))
    approximation = approximation_of(grid.logs)
    if approximation is not None:
        # Kept unprefixed: what the spectrum holds does not change with the instrument, and
        # comparisons read it here (mantid_mdinsim.approximation).
        logs[APPROXIMATION_LOG] = approximation
    logs.update(run.log_entries())
    logs["input_source"] = grid.source
    logs["resolution_model_used"] = resolution.description if resolution else "none"
    logs["resolution_citation"] = " | ".join(resolution.citation) if resolution else ""
    logs["temperature_k_used"] = log_value(temperature_k)
    logs["temperature_source"] = temperature_source
    logs["quantum_correction_applied"] = int(bool(settings.quantum_correction))
    logs["energy_gain_from_detailed_balance"] = int(extended)
    logs["debye_waller_applied"] = settings.debye_waller
    logs["inverse_q_squared_applied"] = int(bool(settings.inverse_q_squared))
    logs["omega_squared_applied"] = int(bool(settings.omega_squared))
    logs["output_energy_range_mev"] = np.array(output_range, dtype=float)
    logs["errors_propagated"] = ("through corrections and sampling; zero after resolution "
                                 "broadening" if resolution else "through corrections and sampling")
    logs.update(extra)
    return logs


__all__ = ["InstrumentResult", "SqwGrid", "apply_instrument", "load_sqw",
           "sqw_grid_from_spectrum"]
