"""Start-up stays lean: the help of `mdinsim` and `mdinsim sqw` imports none of the heavy
libraries (their start-up time is measured in benchmarks/bench_sqw_process.py)."""

import subprocess
import sys

HEAVY = ("numba", "scipy", "torch", "matplotlib", "dynasor", "ase", "netCDF4", "h5py")

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
