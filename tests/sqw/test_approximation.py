"""The incoherent approximation (``--approximation incoherent``) against independent references.

* The harmonic crystal of tests/sqw/harmonic.py, whose exact classical trajectory is known: its
  incoherent approximation is sigma_tot/(4 pi) times the analytic one-phonon self spectrum, the
  vibrational density of states weighted by Q^2 and the Debye-Waller factor, written here from
  the model's normal modes without the engine.
* A purely incoherent scatterer gives the same spectrum in both approximations (vanadium-like
  weights exactly; real vanadium, b_coh^2 = 0.4 % of sigma_tot/(4 pi), within that), while a
  coherent one (Si-like weights) does not.
* The weights: sigma_tot/(4 pi) of Sears' table (euphonic), as the harmonic step uses.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from mantid_mdinsim.errors import ParameterError
from mantid_mdinsim.sqw import ScatteringWeights, compute_sqw
from mantid_mdinsim.sqw.averaging import energy_resolution_mev

from .harmonic import HarmonicCrystal, direct_spectrum_mev, write_extxyz

TIME_STEP_FS = 10.0
FRAMES = 500
WINDOW = 160
# Integer coordinates on the reciprocal supercell lattice (2 pi / 12 Angstrom): along the three
# axes, |q| from 0.5 to 4.2 1/Angstrom (Q^2 U < 0.02: two-phonon terms below 1 %), and off them.
Q_INDICES = np.array([[1, 0, 0], [0, 3, 0], [0, 0, 5], [8, 0, 0], [1, 1, 0], [2, 1, 0],
                      [3, 2, 1], [2, 2, 2], [6, 1, 2]])


def _sears(symbol: str, key: str) -> float:
    from ase.data import atomic_masses, atomic_numbers
    from euphonic.isotopes import sears_1992

    with contextlib.redirect_stdout(io.StringIO()):
        item = sears_1992.get_item(symbol, atomic_masses[atomic_numbers[symbol]])
    return float(np.real(item[key].to("barn").magnitude))


@pytest.fixture(scope="module")
def crystal():
    return HarmonicCrystal(cells=4, lattice_angstrom=3.0, mass_amu=40.0,
                           spring_ev_per_angstrom2=1.0, temperature_k=50.0, seed=3)


@pytest.fixture(scope="module")
def files(crystal, tmp_path_factory):
    folder = tmp_path_factory.mktemp("approximation")
    positions = crystal.positions(np.arange(FRAMES) * TIME_STEP_FS)
    paths = {}
    for symbol in ("Ar", "V"):
        paths[symbol] = str(write_extxyz(folder / f"{symbol}.xyz", positions, crystal.cell,
                                         [symbol] * crystal.n_atoms, TIME_STEP_FS))
    q_file = folder / "q.txt"
    np.savetxt(q_file, Q_INDICES * 2 * np.pi / (crystal.cells * crystal.lattice_angstrom))
    paths["q"] = str(q_file)
    return paths


def _sqw(files, symbol, **kwargs):
    return compute_sqw(trajectories=[files[symbol]], time_step_fs=TIME_STEP_FS, window=WINDOW,
                       q_file=files["q"], per_q=True, **kwargs)


@pytest.fixture(scope="module")
def results(files):
    """(species, approximation) -> SqwResult with Sears weights."""
    return {(symbol, approximation): _sqw(files, symbol, approximation=approximation)
            for symbol in ("Ar", "V") for approximation in ("full", "incoherent")}


def test_incoherent_approximation_is_the_analytic_one_phonon_spectrum(crystal, results):
    """F_s(q, t) = exp(-q^2 <u^2>) (1 + q^2 sum_k A_k^2/2 cos(w_k t) + ...) for q along an axis
    of this cubic crystal (only the modes polarised along q move the phase, and the three
    polarisations are degenerate): its one-phonon part, cosine-transformed, is the density of
    states weighted by q^2 and the Debye-Waller factor (1/w^2 from the classical amplitudes).
    Times the weight sigma_tot/(4 pi) of Ar (Sears), it is the incoherent approximation at
    E > 0. (Off the axes, one realisation of the random phases leaves cross terms between the
    polarisations of a wave vector, which a thermal average would remove.)"""
    result = results["Ar", "incoherent"]
    weight_fm2 = _sears("Ar", "scattering_cross_section") * 100 / (4 * np.pi)
    modes = crystal.modes
    one_polarisation = modes["polarisation"] == 0
    u2 = crystal.mean_square_displacement(axis=0)
    lags = np.arange(WINDOW + 1) * TIME_STEP_FS
    density = (0.5 * modes["amplitude"][one_polarisation] ** 2
               * np.cos(np.outer(lags, modes["omega"][one_polarisation]))).sum(axis=1)
    positive = result.energy_mev > 0
    assert result.logs["scattering_approximation"] == "incoherent"
    checked = 0
    for row, q in enumerate(result.q_points.cartesian):
        if np.count_nonzero(np.abs(q) > 1e-9) != 1:
            continue
        checked += 1
        q2 = float(q @ q)
        expected = weight_fm2 * direct_spectrum_mev(q2 * np.exp(-q2 * u2) * density,
                                                    TIME_STEP_FS)[1:]
        found = result.parts["total"][0][row, positive]
        assert np.max(np.abs(found - expected)) < 0.01 * expected.max(), (q, q2 * u2)
    assert checked == 4
    # The full total (kept as "full") is another spectrum: Ar is mostly coherent.
    assert "full" in result.parts
    assert result.parts["full"][0].shape == result.parts["total"][0].shape


def test_a_purely_incoherent_scatterer_is_the_same_in_both_approximations(files, monkeypatch):
    """Vanadium-like weights (b_coh = 0, all scattering incoherent): the full S(q,w) is the
    self part times sigma_inc/(4 pi), the incoherent approximation the self part times
    sigma_tot/(4 pi) = sigma_inc/(4 pi): the same spectrum."""
    import mantid_mdinsim.sqw.compute as compute

    sigma_fm2 = 5.08 * 100 / (4 * np.pi)
    vanadium_like = ScatteringWeights("neutron", ["V"], neutron_b={"V": 0j},
                                      incoherent={"V": sigma_fm2},
                                      total_scattering={"V": sigma_fm2},
                                      logs={"weights": "neutron"})
    monkeypatch.setattr(compute, "scattering_weights", lambda kind, species: vanadium_like)
    full = _sqw(files, "V", approximation="full")
    incoherent = _sqw(files, "V", approximation="incoherent")
    np.testing.assert_allclose(incoherent.parts["total"][0], full.parts["total"][0],
                               rtol=1e-12, atol=1e-12 * np.abs(full.parts["total"][0]).max())


def test_real_vanadium_is_nearly_the_same_and_a_coherent_scatterer_is_not(results):
    """Vanadium (Sears: b_coh = -0.38 fm, sigma_inc 5.08 barn, sigma_tot 5.10 barn): the full
    and the approximate spectra differ only by the coherent share, b_coh^2 / (sigma_tot / 4 pi)
    = 0.36 %, times the ratio of coherent to self intensity (up to about 8 at the smallest q,
    where the coherent one-phonon peak of a soft acoustic mode stands alone): at most 5 %. The
    same crystal as Ar (sigma_coh 0.458 of sigma_tot 0.683 barn) differs markedly: coherent
    one-phonon peaks at omega(q) against the density of states."""
    resolution = energy_resolution_mev(WINDOW, TIME_STEP_FS)
    for symbol, limit in (("V", 0.05), ("Ar", None)):
        full, approx = results[symbol, "full"], results[symbol, "incoherent"]
        inelastic = full.energy_mev > 1.5 * resolution
        a = full.parts["total"][0][:, inelastic]
        b = approx.parts["total"][0][:, inelastic]
        difference = np.abs(a - b).max(axis=1) / b.max(axis=1)
        if limit is not None:
            assert np.all(difference < limit), (symbol, difference)
        else:
            assert np.median(difference) > 0.3, (symbol, difference)


def test_weights_are_sears_total_cross_sections(results):
    result = results["V", "incoherent"]
    assert result.logs["sigma_total_barn_V"] == pytest.approx(_sears("V", "scattering_cross_section"))
    coherent, total = _sears("V", "coherent_cross_section"), _sears("V", "scattering_cross_section")
    assert result.logs["coherent_fraction_cross_section"] == pytest.approx(coherent / total,
                                                                           rel=2e-3)
    names = {w.name: w for w in result.workspaces()}
    assert names["sqw"].logs["scattering_approximation"] == "incoherent"
    assert names["sqw_full"].logs["scattering_approximation"] == "full"
    assert "scattering_approximation" not in names["sqw_coherent"].logs


def test_the_approximation_needs_the_self_part(files):
    with pytest.raises(ParameterError, match="--incoherent no"):
        _sqw(files, "V", approximation="incoherent", incoherent="no")
    with pytest.raises(ParameterError, match="approximation"):
        _sqw(files, "V", approximation="coherent")
