"""mdinsim: predict inelastic neutron scattering experiments from first principles.

The steps, each a sub-package with a core function, a command and a Mantid algorithm:

* ``train``: NEP models from reference energies/forces/virials (MDTrainNEP, ``mdinsim train``)
* ``md``: molecular dynamics with a NEP model (MDRunGPUMD, ``mdinsim md``)
* ``sqw``: the dynamic structure factor S(q,w) from trajectories (MDComputeSqw, ``mdinsim sqw``)
* ``instrument``: instrument-specific spectra (MDApplyInstrument, ``mdinsim instrument``)

Shared: :mod:`~mantid_mdinsim.parameters` (one definition per parameter),
:mod:`~mantid_mdinsim.spectrum` (the data objects, one-to-one with Mantid workspaces),
:mod:`~mantid_mdinsim.units`, :mod:`~mantid_mdinsim.io` (processed NeXus, trajectories).

Nothing in this package imports Mantid except :mod:`mantid_mdinsim.mantid`.
Units: meV, Angstrom, 1/Angstrom, fs, K.
"""

__version__ = "0.1.0"

from .errors import (Cancelled, ExternalProgramError, InputFileError,  # noqa: E402
                     MdinsimError, ParameterError)
from .lazy import lazy_attributes  # noqa: E402

# Spectrum and friends pull in numpy: imported on first use, so that `mdinsim --help` and the
# parameter definitions start fast.
__getattr__ = lazy_attributes(__name__, dict.fromkeys(("Axis", "Spectrum", "Table"), ".spectrum"))


__all__ = [
    "__version__", "Axis", "Spectrum", "Table", "MdinsimError", "ParameterError",
    "InputFileError", "ExternalProgramError", "Cancelled",
]
