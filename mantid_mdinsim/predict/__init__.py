"""predict: the steps chained, from a structure and a NEP model to an instrument spectrum.

Public surface::

    PREDICT_PARAMETERS                      # the steps' parameter sets merged, plus predict's own
    predict(parameters, progress=None, **kwargs) -> PredictResult
        MD -> S(q,w) -> instrument (-> harmonic), files in output_dir, resumable by stage
    DEMOS, demo_parameters(name)            # the shipped demos (mdinsim predict --demo NAME)
    spectrum_1d(spectrum) -> (energy_mev, S per meV)
    find_peaks_mev(energy_mev, values) -> [peak energies, strongest first]
    compare_with_experiment(energy_mev, values, experiment) -> {scale_factor, mean_squared_error..}
    drop_empty_shells(sqw) -> (S(|Q|,w) ready for the instrument step, empty shells dropped)
    compare_with_harmonic(md, harmonic) -> {peaks matched with shifts, ...}; refuses spectra of
        different scattering approximations (see mantid_mdinsim.approximation)
    match_peaks(md_peaks, harmonic_peaks, tolerance) -> {matched, md_only, harmonic_only}

``mdinsim predict`` is :mod:`.cli`. Units: K, fs, meV, 1/Angstrom, Angstrom^2.
"""

from ..lazy import lazy_attributes
from .demos import DATA_DIRECTORY, DEMOS, SILICON_MODEL, SILICON_STRUCTURE, demo_parameters
from .parameters import PREDICT_PARAMETERS, PredictSettings

# the cores load ASE, SciPy, calorine...: only when used, not for --help
__getattr__ = lazy_attributes(__name__, {
    "compare_with_harmonic": ".comparison", "match_peaks": ".comparison", "PredictResult": ".core",
    "TemperatureResult": ".core", "drop_empty_shells": ".core", "predict": ".core",
    "resolve_parameters": ".core", "resolve_settings": ".core",
    "compare_with_experiment": ".report", "find_peaks_mev": ".report", "spectrum_1d": ".report",
})

__all__ = [
    "PREDICT_PARAMETERS", "PredictSettings", "predict", "resolve_parameters",
    "resolve_settings", "PredictResult", "TemperatureResult",
    "DEMOS", "demo_parameters", "DATA_DIRECTORY", "SILICON_MODEL", "SILICON_STRUCTURE",
    "spectrum_1d", "find_peaks_mev", "compare_with_experiment", "drop_empty_shells",
    "compare_with_harmonic", "match_peaks",
]
