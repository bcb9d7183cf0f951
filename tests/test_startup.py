"""Start-up stays lean: the help of `mdinsim` and `mdinsim sqw` imports none of the heavy
libraries (their start-up time is measured in benchmarks/bench_sqw_process.py)."""

import subprocess
import sys

HEAVY = ("numba", "scipy", "torch", "matplotlib", "dynasor", "ase", "netCDF4", "h5py",
         "euphonic", "phonopy")

SCRIPT = """
import sys
from mantid_mdinsim import cli
try:
    cli.main({argv!r})
except SystemExit:
    pass
print("imported:", *sorted(name for name in {heavy!r} if name in sys.modules))
"""


def imported_by(argv: list[str]) -> list[str]:
    code = SCRIPT.format(argv=argv, heavy=HEAVY)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    return result.stdout.splitlines()[-1].split()[1:]


def test_help_imports_no_heavy_library():
    assert imported_by(["--help"]) == []
    assert imported_by(["sqw", "--help"]) == []


def test_every_step_help_imports_no_heavy_library():
    """Each step's --help needs only its parameter definitions: no SciPy (resolution, units),
    euphonic, phonopy, ASE, matplotlib or torch behind it."""
    for command in ("md", "train", "instrument", "harmonic", "predict"):
        assert imported_by([command, "--help"]) == [], command


def test_the_harmonic_default_written_as_a_number_is_10_inverse_cm():
    """The help must not load SciPy for a unit conversion, so the default of
    --frequency-min is written as a number; it is abinslib's 10 cm^-1 (units, from SciPy)."""
    from mantid_mdinsim.harmonic.parameters import HARMONIC_PARAMETERS
    from mantid_mdinsim.harmonic.spectrum import DEFAULT_FREQUENCY_MIN_MEV
    from mantid_mdinsim.units import MEV_PER_INVERSE_CM

    assert DEFAULT_FREQUENCY_MIN_MEV == 10.0 * MEV_PER_INVERSE_CM
    assert HARMONIC_PARAMETERS["frequency_min_mev"].default == round(DEFAULT_FREQUENCY_MIN_MEV, 6)


NUMBA_SET_UP = """
import sys
import numpy as np
from mantid_mdinsim.sqw import kernels
out = np.zeros((1, 2, 3), complex)
kernels.density_components(np.zeros((3, 4, 3)), np.array([0, 4]), np.ones((2, 3), np.int64),
                           np.ones((2, 3)), np.array([2, 2, 2]), out, 0)
print("loaded:", *sorted(name for name in ("scipy.linalg", "cffi", "pycparser")
                         if name in sys.modules))
import numba
@numba.njit
def dot(a, b):
    return np.dot(a, b)
print("dot:", dot(np.arange(3.0), np.arange(3.0)))
"""


def test_a_kernel_call_sets_numba_up_without_scipy_linalg_or_cffi():
    """numba's set-up (first kernel call) imports neither SciPy's BLAS table nor cffi's parser
    (mantid_mdinsim/numba_loading.py), and BLAS in jitted code still works: the probe was
    deferred, not answered wrongly."""
    result = subprocess.run([sys.executable, "-c", NUMBA_SET_UP], capture_output=True,
                            text=True, check=True)
    lines = result.stdout.splitlines()
    assert lines[0].split()[1:] == []
    assert float(lines[1].split()[1]) == 5.0
