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
