"""Scattering weights against published values (Sears 1992) and closed forms."""

import numpy as np
import pytest

from mantid_mdinsim.errors import ParameterError
from mantid_mdinsim.sqw.weights import BOHR_RADIUS_ANGSTROM, scattering_weights


def test_neutron_weights_are_sears_natural_elements_and_isotopes():
    weights = scattering_weights("neutron", ["H", "D", "O", "Ni", "B"])
    # Sears, Neutron News 3, 26 (1992): b_coh in fm, sigma_inc in barn
    expected = {"H": (-3.7390, 80.26), "D": (6.671, 2.05), "Ni": (10.3, 5.2), "O": (5.803, 0.0)}
    for symbol, (b, sigma) in expected.items():
        assert weights.neutron_b[symbol].real == pytest.approx(b)
        assert weights.incoherent[symbol] == pytest.approx(sigma * 100 / (4 * np.pi))
    # Ni: 5.2 barn of incoherence that comes from its isotopes (spin-free Ni-58 dominates)
    assert weights.incoherent["Ni"] > 40.0
    # an absorber: complex b, and the self-pair weight is |b|^2
    q = np.array([1.0, 2.0])
    assert weights.neutron_b["B"].imag != 0
    np.testing.assert_allclose(weights.pair_weight("B", "B", q), abs(weights.neutron_b["B"]) ** 2)
    np.testing.assert_allclose(weights.pair_weight("H", "Ni", q), -3.7390 * 10.3, rtol=1e-12)


def test_xray_hydrogen_form_factor_is_the_hydrogen_atom_one():
    weights = scattering_weights("xray", ["H", "Si"])
    q = np.array([0.0, 1.0, 4.0])
    f_h = weights.coherent_factor("H", q).real
    np.testing.assert_allclose(f_h, 16 / (4 + (q * BOHR_RADIUS_ANGSTROM) ** 2) ** 2)
    f_si = weights.coherent_factor("Si", q).real
    assert f_si[0] == pytest.approx(14.0, abs=0.05)       # f(0) = Z
    assert f_si[0] > f_si[1] > f_si[2] > 0
    assert not weights.incoherent_in_total


def test_electron_and_none_weights():
    electron = scattering_weights("electron", ["Si"])
    values = electron.coherent_factor("Si", np.array([0.0, 3.0])).real
    assert values[0] > values[1] > 0
    none = scattering_weights("none", ["Si", "O"])
    np.testing.assert_array_equal(none.pair_weight("Si", "O", np.array([1.0, 5.0])), [1.0, 1.0])
    assert none.incoherent_weight("Si") == 1.0 and not none.incoherent_in_total


@pytest.mark.parametrize("kind", ["neutron", "xray", "electron"])
def test_unknown_species_name_the_species_and_the_fix(kind):
    with pytest.raises(ParameterError) as error:
        scattering_weights(kind, ["Si", "Qz"])
    assert "'Qz'" in str(error.value) and "--weights none" in str(error.value)
