"""The constants of mantid_mdinsim.units are scipy.constants' (written out so that the S(q,w)
path does not import scipy)."""

import pytest
from scipy import constants

from mantid_mdinsim.units import CODATA_2022


@pytest.mark.parametrize("name", ["h", "hbar", "e", "k", "c", "m_n"])
def test_constants_are_scipys(name):
    assert getattr(CODATA_2022, name) == pytest.approx(getattr(constants, name), rel=1e-15)


def test_bohr_radius_is_scipys():
    assert CODATA_2022.bohr_radius == constants.physical_constants["Bohr radius"][0]
