"""numba without SciPy's BLAS table and cffi's C parser: import this module before a kernel runs.

Why: the first call of a jitted function (compiled, or loaded from numba's cache) sets up
numba's CPU target, which imports ``numba.np.arraymath``; at import that module probes for a
BLAS (``_HAVE_BLAS = _check_blas()``) by importing ``scipy.linalg.cython_blas``, which imports
all of ``scipy.linalg`` (its array-API layer included), and the typing context imports
``numba.core.typing.cffi_utils``, which imports cffi and with it pycparser. None of the kernels
of mdinsim calls BLAS or a cffi function, and on every ``mdinsim sqw`` these imports cost
about 0.35 processor-s of a 2.4 s process (loaded machine; 0.2 s SciPy, 0.15 s pycparser).

How: ``numba.np.arraymath`` is imported here with the probe answered by whether SciPy is
installed (``importlib.util.find_spec``, which imports nothing); the real check
(``numba.np.linalg.ensure_blas``, with its LP64/ILP64 test) still runs, and imports SciPy,
where a jitted function uses BLAS (``np.dot``, ``np.linalg``). ``cffi_utils`` is imported
while ``cffi`` cannot be found, so numba's cffi support (cffi functions called from jitted
code) is off in this process; ``import cffi`` works as before for everyone else. Where numba
is already set up, nothing changes and nothing is saved.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys

import numba  # noqa: F401  (numba's own import; what follows is its lazily loaded part)


class _HideCffi(importlib.abc.MetaPathFinder):
    """``import cffi`` fails while installed (numba's cffi_utils then leaves cffi out)."""

    def find_spec(self, name, path=None, target=None):
        if name == "cffi" or name.startswith("cffi."):
            raise ImportError("cffi left out of numba's set-up (mantid_mdinsim.numba_loading)")
        return None


def _load() -> None:
    if "numba.np.arraymath" not in sys.modules:
        from numba.np import linalg

        probe = linalg.ensure_blas
        have_scipy = importlib.util.find_spec("scipy") is not None

        def answer() -> None:
            if not have_scipy:
                raise ImportError("scipy is not installed")

        linalg.ensure_blas = answer
        try:
            from numba.np import arraymath
        finally:
            linalg.ensure_blas = probe
        arraymath.ensure_blas = probe      # arraymath's own reference, for later checks
    if "numba.core.typing.cffi_utils" not in sys.modules and "cffi" not in sys.modules:
        hide = _HideCffi()
        sys.meta_path.insert(0, hide)
        try:
            import numba.core.typing.cffi_utils  # noqa: F401
        finally:
            sys.meta_path.remove(hide)


_load()
