"""Harmonic comparison (what the paper did with AbINS): phonons of the same NEP model used for
MD, and their incoherent INS spectrum, for drawing beside the MD prediction.

Public surface::

    HARMONIC_PARAMETERS                      # ParameterSet of ``mdinsim harmonic``
    HarmonicSettings.from_values(structure=..., model=..., ...)   # its validated settings
    harmonic_phonons(structure, model_path, supercell=None, ...) -> HarmonicPhonons
        .force_constants (euphonic), .modes(mesh) -> QpointPhononModes, .frequencies_thz(q),
        .save(path) (phonopy yaml with force constants)
    load_phonons(path) -> ForceConstants | QpointPhononModes   # phonopy yaml, CASTEP files
    mesh_modes(force_constants, mesh=None) -> QpointPhononModes
    harmonic_sqw(modes, temperature_k=, q_bins_inv_angstrom=, energy_bins_mev=, max_order=2,
                 method=, cross_section=, normalisation=) -> HarmonicSpectra   # 2D, MD layout
    harmonic_spectrum_1d(modes, temperature_k=, energy_bins_mev=, q_lines=[...], ...)
        -> HarmonicSpectra                   # 1D along |Q|(w) lines (AbINS' 1D spectra)
    apply_instrument_harmonic(spectrum, temperature_k, instrument=..., ...) -> InstrumentResult
    compute_harmonic(settings_or_values, progress) -> HarmonicResult   # the whole chain

abinslib (the ``harmonic`` extra) is imported only when a spectrum is computed.
Units: Angstrom, 1/Angstrom (2 pi included), meV, THz, K.
"""

from .core import HarmonicResult, apply_instrument_harmonic, compute_harmonic
from .parameters import HARMONIC_PARAMETERS, HarmonicSettings
from .phonons import HarmonicPhonons, harmonic_phonons, load_phonons, mesh_modes
from .spectrum import (HarmonicSpectra, MissingHarmonicDependency, harmonic_spectrum_1d,
                       harmonic_sqw)

__all__ = [
    "HARMONIC_PARAMETERS", "HarmonicSettings", "HarmonicPhonons", "HarmonicResult",
    "HarmonicSpectra",
    "MissingHarmonicDependency", "apply_instrument_harmonic", "compute_harmonic",
    "harmonic_phonons", "harmonic_spectrum_1d", "harmonic_sqw", "load_phonons", "mesh_modes",
]
