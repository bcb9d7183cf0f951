"""MD in the incoherent approximation against the harmonic spectrum of the same model, like for
like, at low temperature (where MD is nearly harmonic), at TOSCA and for a direct-geometry
powder average (ARCS).

Independent reference: the harmonic spectrum from phonopy (finite displacements of the same NEP)
and the harmonic step (abinslib-style orders, Bose factors, quantum Debye-Waller), on exactly
the q-points the 64-atom MD cell carries ((h, k, l)/2 of the cubic cell), through the same
instrument. The MD side shares only the instrument step with it.

Asserted: every main harmonic peak has an MD partner within the MD frequency resolution, and
the relative intensities of the main peaks (integrated over the peak) agree within 15 %.
"""

from __future__ import annotations

import numpy as np
import pytest

from mantid_mdinsim.predict import SILICON_MODEL, SILICON_STRUCTURE, spectrum_1d
from mantid_mdinsim.predict.comparison import compare_with_harmonic
from mantid_mdinsim.sqw.averaging import energy_resolution_mev

#: The commensurate q-points of a 2x2x2 supercell of the cubic cell (reduced coordinates).
COMMENSURATE = np.array([(h, k, l) for h in (0, 0.5) for k in (0, 0.5) for l in (0, 0.5)])
TEMPERATURE_K = 30.0
WINDOW = 150
LOW_T = dict(structure=str(SILICON_STRUCTURE), model=str(SILICON_MODEL), supercell=[2, 2, 2],
             temperature_k=[TEMPERATURE_K], time_step_fs=2.0, equilibration="nvt",
             equilibration_time_ps=0.5, production_time_ps=4.0, dump_interval_fs=10.0,
             number_of_runs=1, processes=1, seed=11, max_frequency_mev=70.0, backend="cpu",
             q_count=400, q_max_inv_angstrom=13.5, window=WINDOW, harmonic=True,
             relax="none", max_order=2)
#: Main peaks: harmonic peaks standing out by this fraction of the curve's maximum.
MAIN_PROMINENCE = 0.2


@pytest.fixture(scope="module")
def predictions(tmp_path_factory):
    """The low-temperature prediction at TOSCA and at ARCS (Ei 100 meV), MD run once."""
    import mantid_mdinsim.harmonic as harmonic
    from mantid_mdinsim.predict import predict

    original = harmonic.mesh_modes
    folder = tmp_path_factory.mktemp("like_for_like")
    with pytest.MonkeyPatch.context() as patch:
        # The harmonic spectrum on the MD cell's q-points: the modes the MD can carry.
        patch.setattr(harmonic, "mesh_modes",
                      lambda fc, mesh=None: original(fc, qpoints=COMMENSURATE))
        tosca = predict(dict(LOW_T, instrument="TOSCA", energy_min_mev=5.0,
                             output_dir=str(folder)))
        arcs = predict(dict(LOW_T, instrument="ARCS", incident_energy_mev=100.0,
                            energy_min_mev=8.0, output_dir=str(folder)))
    assert arcs.stages["md"] == "skipped"
    return {"TOSCA": tosca.temperatures[0], "ARCS": arcs.temperatures[0]}


def _band_intensity(energy, values, centre, half_width):
    inside = np.abs(energy - centre) <= half_width
    return float(np.nansum(values[inside]))


@pytest.mark.parametrize("instrument", ["TOSCA", "ARCS"])
def test_md_incoherent_approximation_matches_the_harmonic_spectrum(predictions, instrument):
    from mantid_mdinsim.predict import find_peaks_mev

    result = predictions[instrument]
    comparison = compare_with_harmonic(result.spectrum, result.harmonic)
    assert comparison["like_for_like"]
    resolution = energy_resolution_mev(WINDOW, 10.0)          # 1.37 meV
    h_energy, h_values = spectrum_1d(result.harmonic)
    md_energy, md_values = spectrum_1d(result.spectrum)
    main = sorted(find_peaks_mev(h_energy, h_values, prominence_fraction=MAIN_PROMINENCE))
    assert len(main) >= 2, main
    matched = {m["harmonic_mev"]: m for m in comparison["matched"]}
    for peak in main:
        assert peak in matched, (instrument, peak, comparison)
        assert abs(matched[peak]["shift_mev"]) <= resolution, (instrument, matched[peak])
    # Relative intensities: each main peak integrated over +-1.5 resolutions, over their sum.
    md_bands = np.array([_band_intensity(md_energy, md_values, p, 1.5 * resolution)
                         for p in main])
    h_bands = np.array([_band_intensity(h_energy, h_values, p, 1.5 * resolution)
                        for p in main])
    md_share, h_share = md_bands / md_bands.sum(), h_bands / h_bands.sum()
    np.testing.assert_allclose(md_share, h_share, rtol=0.15,
                               err_msg=f"{instrument}: main peaks {main}")
