"""Energy resolution: widths from resins, applied with euphonic's variable-width broadening.

* :class:`ResolutionModel` wraps one resins model for one instrument and its settings (Ei,
  chopper package and frequencies, monochromator) and gives the Gaussian standard deviation
  sigma(w) in meV.
* :func:`broaden_rows` (NaN bins left out) and :func:`broaden_energy_axis` convolve every row
  of S(|Q|, w) (or every bank spectrum) along energy with a Gaussian whose width varies with w, using euphonic's kernel-interpolation scheme
  (``euphonic.broadening``): exact Gaussians at log-spaced widths, each point's weight split
  between the two nearest kernels, one FFT convolution per kernel; :func:`resolution_table`
  records the widths used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft
from scipy.stats import norm

from ..errors import ParameterError
from ..spectrum import Table


@dataclass
class ResolutionModel:
    """Gaussian energy resolution sigma(w) of one instrument configuration.

    Attributes
    ----------
    description
        ``"resins <instrument>/<version> model <name> (<settings>)"``, for logs.
    citation
        The model's references (from resins).
    energy_range_mev
        Energy transfers (meV) where the model is evaluated; outside it the width at the
        nearest end is used (resins' PyChop fits span 0 <= w < Ei, for example).
    """

    description: str
    citation: list[str]
    energy_range_mev: tuple[float, float]
    _sigma_function: Callable[[np.ndarray], np.ndarray] = field(repr=False)

    def sigma_mev(self, energy_transfer_mev: np.ndarray) -> np.ndarray:
        """Gaussian standard deviation (meV) at each energy transfer (meV)."""
        energy = np.atleast_1d(np.asarray(energy_transfer_mev, dtype=float))
        low, high = self.energy_range_mev
        clipped = np.clip(energy, low, high)
        sigma = np.asarray(self._sigma_function(clipped), dtype=float).reshape(energy.shape)
        if not np.all(np.isfinite(sigma) & (sigma > 0)):
            bad = energy[~(np.isfinite(sigma) & (sigma > 0))][0]
            raise ParameterError("resolution", f"{self.description} gives no positive width at "
                                 f"w = {bad:g} meV", "restrict the energy range "
                                 "(energy_min_mev/energy_max_mev) or use resolution 'none'")
        return sigma

    def fwhm_mev(self, energy_transfer_mev: np.ndarray) -> np.ndarray:
        """Full width at half maximum (meV)."""
        return self.sigma_mev(energy_transfer_mev) * np.sqrt(8.0 * np.log(2.0))


@lru_cache(maxsize=None)
def resins_instrument(name: str, version: str):
    """resins' Instrument object (its YAML is parsed once per process)."""
    from resins import Instrument  # resins takes seconds to import; resolution only

    return Instrument.from_default(name, version)


def resins_resolution(instrument_name: str, version: str, model_name: str | None,
                      options: dict[str, Any], settings: dict[str, Any],
                      energy_range_mev: tuple[float, float]) -> ResolutionModel:
    """A :class:`ResolutionModel` from resins.

    ``options`` choose resins configurations (``chopper_package``, ``monochromator``);
    ``settings`` are the model's user settings (``e_init``, ``chopper_frequency``, ...).
    resins' own errors (settings outside its restrictions, a Fermi chopper that transmits
    nothing) become :class:`ParameterError`.
    """
    # resins takes seconds to import; only a resolution model needs it.
    from resins.instrument import InvalidModelError
    from resins.models.model_base import InvalidInputError

    instrument = resins_instrument(instrument_name, version)
    model_name = model_name or instrument.default_model
    try:
        function = instrument.get_resolution_function(model_name, **options, **settings)
    except InvalidModelError:
        raise ParameterError("resolution_model", f"'{model_name}' is not a resins model of "
                             f"{instrument_name}",
                             "choose one of: " + ", ".join(instrument.available_models)
                             ) from None
    except InvalidInputError as error:
        raise ParameterError("instrument settings", str(error)) from None
    except Exception as error:  # resins raises NoTransmissionError and plain errors
        if type(error).__name__ == "NoTransmissionError":
            raise ParameterError("chopper_frequency_hz", str(error),
                                 "choose another chopper frequency, package or Ei") from None
        raise ParameterError("resolution", f"resins' {instrument_name} model '{model_name}' "
                             f"cannot be built: {type(error).__name__}: {error}",
                             "use resolution 'none' or another resolution_model") from None

    def sigma(energy: np.ndarray) -> np.ndarray:
        return function.get_characteristics(np.asarray(energy, dtype=float)[:, np.newaxis])["sigma"]

    described = ", ".join(f"{k}={v}" for k, v in {**options, **settings}.items())
    model = ResolutionModel(
        description=f"resins {instrument_name}/{version} model {model_name}"
                    + (f" ({described})" if described else ""),
        citation=list(function.citation), energy_range_mev=energy_range_mev,
        _sigma_function=sigma)
    try:
        # Evaluate once across the range so that a model resins cannot evaluate (VISION's, whose
        # data leave a parameter undefined) fails here with a clear message, not mid-run.
        model.sigma_mev(np.linspace(*energy_range_mev, 8))
    except ParameterError:
        raise
    except Exception as error:
        raise ParameterError("resolution", f"resins' {instrument_name} model '{model_name}' "
                             f"cannot be evaluated: {type(error).__name__}: {error}",
                             "use resolution 'none' (kinematics and corrections only) or "
                             "another resolution_model") from None
    return model


def _kernel_spacing(adaptive_error: float) -> float:
    try:  # euphonic takes seconds to import; only broadening needs it
        from euphonic.broadening import _get_spacing
    except ImportError:  # older euphonic: its fixed default ratio between kernel widths
        return float(np.sqrt(2.0))
    return float(_get_spacing(adaptive_error))


def broaden_energy_axis(values: np.ndarray, energy_edges_mev: np.ndarray,
                        sigma_mev: np.ndarray, adaptive_error: float = 0.01) -> np.ndarray:
    """Gaussian broadening of each row of ``values`` along energy, width sigma(w) per bin.

    Parameters
    ----------
    values
        (n_rows, n_energy) densities (per meV) on regular energy bins.
    energy_edges_mev
        n_energy + 1 bin edges, equally spaced (meV).
    sigma_mev
        Gaussian standard deviation (meV) for the intensity in each energy bin (the width
        depends on the true energy transfer of the scattering).
    adaptive_error
        euphonic's target error of the kernel interpolation (area difference).

    Returns
    -------
    (n_rows, n_energy) broadened densities. Intensity is conserved except for what the Gaussians
    carry beyond the ends of the energy range.

    This is euphonic's ``_width_interpolated_broadening`` (as used by ``Spectrum2D.broaden`` with
    a callable width) evaluated for all rows at once: the widths depend on energy only, so the
    kernels and mixing weights are the same for every row. euphonic loops over rows in Python
    and rebuilds them each time (about 3 s for 500 x 1000 bins); here the rows share them, the
    kernels stop at 8 sigma (beyond, a Gaussian is below 1e-14 of its peak) and the kernel
    contributions are summed in Fourier space before one inverse transform. The results agree
    with euphonic's to rounding (tests/instrument/test_resolution.py). Widths below one bin
    width are raised to it, euphonic's default lower limit.
    """
    from euphonic.broadening import find_coeffs  # euphonic: seconds to import; broadening only

    values = np.atleast_2d(np.asarray(values, dtype=float))
    bins = np.asarray(energy_edges_mev, dtype=float)
    bin_widths = np.diff(bins)
    bin_width = bin_widths[0]
    if not np.allclose(bin_widths, bin_width, rtol=1e-6, atol=0.0):
        raise ValueError("broadening needs equally spaced energy bins")
    n_energy = values.shape[1]
    widths = np.maximum(np.asarray(sigma_mev, dtype=float), bin_widths.max())

    spacing = _kernel_spacing(adaptive_error)
    n_kernels = int(np.ceil(np.log(widths.max() / widths.min()) / np.log(spacing)))
    width_samples = spacing ** np.arange(n_kernels + 1) * widths.min()
    # Centred kernels on the bin grid, as euphonic's, cut at 8 sigma of the widest one (euphonic
    # evaluates them over the whole energy range; beyond 8 sigma they add below 1e-14).
    half = int(min(np.ceil(8.0 * width_samples[-1] / bin_width), n_energy))
    x_values = np.arange(-half, half + 1) * bin_width
    kernels = norm.pdf(x_values, scale=width_samples[:, np.newaxis]) * bin_width

    # Each energy bin's weight is split between the kernels just below and above its width.
    kernel_index = np.searchsorted(width_samples, widths, side="right")
    lower_coefficients = [1.0] if len(kernels) == 1 else find_coeffs(spacing)
    mix = np.zeros((len(width_samples), widths.size))
    columns = np.arange(widths.size)
    lower_mix = np.polyval(lower_coefficients, widths / width_samples[kernel_index - 1])
    mix[kernel_index - 1, columns] = lower_mix
    has_upper = kernel_index < len(width_samples)
    mix[kernel_index[has_upper], columns[has_upper]] = 1.0 - lower_mix[has_upper]

    # Linear convolution via FFT: sum_k (values * mix_k) conv kernel_k, one inverse transform.
    n_fft = next_fast_len(n_energy + 2 * half, real=True)
    spectrum = np.zeros((values.shape[0], n_fft // 2 + 1), dtype=complex)
    for kernel, weights in zip(kernels, mix):
        if np.any(weights):
            spectrum += rfft(values * weights, n_fft, axis=1) * rfft(kernel, n_fft)
    return irfft(spectrum, n_fft, axis=1)[:, half:half + n_energy]


def broaden_rows(values: np.ndarray, energy_edges: np.ndarray,
                 resolution: ResolutionModel) -> tuple[np.ndarray, np.ndarray]:
    """Broaden rows along energy; NaN bins (undefined) are left out and stay NaN."""
    undefined = ~np.isfinite(values)
    sigma = resolution.sigma_mev(0.5 * (energy_edges[1:] + energy_edges[:-1]))
    broadened = broaden_energy_axis(np.where(undefined, 0.0, values), energy_edges, sigma)
    broadened[undefined] = np.nan
    return broadened, sigma



def resolution_table(energy: np.ndarray, sigma: np.ndarray) -> Table:
    """The widths used (sigma and FWHM, meV) at each output energy (meV), as a Table."""
    return Table(columns={"energy_transfer_mev": np.asarray(energy, dtype=float),
                          "sigma_mev": np.asarray(sigma, dtype=float),
                          "fwhm_mev": np.asarray(sigma, dtype=float) * np.sqrt(8 * np.log(2))},
                 units={"energy_transfer_mev": "meV", "sigma_mev": "meV", "fwhm_mev": "meV"})

