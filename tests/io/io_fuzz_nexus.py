"""The NeXus half of test_reader_fuzz.py, run in a child process by it (HDF5 is native code: a
crash there must fail the test, not end the test run)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mantid_mdinsim.errors import MdinsimError
from mantid_mdinsim.io.nexus import load_processed_nexus, save_processed_nexus
from mantid_mdinsim.spectrum import Spectrum, energy_axis, momentum_axis


def _original(folder: Path) -> tuple[bytes, Spectrum]:
    rng = np.random.default_rng(5)
    spectrum = Spectrum(x=energy_axis(np.linspace(-10.0, 10.0, 21)),
                        values=rng.uniform(0.0, 1.0, (4, 21)),
                        errors=rng.uniform(0.0, 0.1, (4, 21)),
                        vertical=momentum_axis(np.array([0.5, 1.0, 1.5, 2.0])),
                        distribution=True, name="sqw", logs={"temperature_k": 300.0})
    path = folder / "original.nxs"
    save_processed_nexus(path, spectrum)
    return path.read_bytes(), spectrum


def spoiled_nexus_property(folder: Path) -> None:
    data, original = _original(folder)

    @settings(max_examples=int(os.environ.get("MDINSIM_FUZZ_EXAMPLES", 60)), deadline=None,
              derandomize=True)
    @given(how=st.sampled_from(["cut", "overwrite", "insert"]),
           at=st.integers(0, len(data) - 1), junk=st.binary(min_size=1, max_size=64))
    def check(how, at, junk):
        if how == "cut":
            spoiled = data[:at]
        elif how == "overwrite":
            spoiled = data[:at] + junk + data[at + len(junk):]
        else:
            spoiled = data[:at] + junk + data[at:]
        path = folder / "spoiled.nxs"
        path.write_bytes(spoiled)
        try:
            items = load_processed_nexus(path)
        except MdinsimError:
            return
        spectra = [item for item in items if isinstance(item, Spectrum)]
        # Bytes HDF5 does not use (padding, free space) may be spoiled harmlessly; whatever
        # is read back is then the original, or the damage is in the values themselves.
        assert len(spectra) == 1
        assert spectra[0].values.shape == original.values.shape

    check()
