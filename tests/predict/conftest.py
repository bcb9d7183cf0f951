"""A tiny prediction shared by the tests: 64 silicon atoms with the shipped demo NEP model at
TOSCA, with the harmonic comparison. It is made the way a user resumes one: the first run is
cancelled as soon as the MD stage is done, the second (with MD forbidden) completes it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mantid_mdinsim.errors import Cancelled
from mantid_mdinsim.predict import SILICON_MODEL, SILICON_STRUCTURE
from mantid_mdinsim.progress import ProgressReporter

#: 64 atoms, 0.5 ps of NVT then 4 ps of NVE at 150 K, frames every 10 fs: about 15 s on a core.
TINY = dict(structure=str(SILICON_STRUCTURE), model=str(SILICON_MODEL), supercell=[2, 2, 2],
            temperature_k=[150.0], time_step_fs=2.0, equilibration="nvt",
            equilibration_time_ps=0.5, production_time_ps=4.0, dump_interval_fs=10.0,
            number_of_runs=1, processes=1, seed=7, max_frequency_mev=70.0, backend="cpu",
            q_count=400, instrument="TOSCA", energy_min_mev=3.0, harmonic=True)


class CancelAfterMD(ProgressReporter):
    """Cancels the run at the first progress report past the MD stage (as Ctrl-C or Mantid's
    Cancel would), and remembers what it saw."""

    def __init__(self, md_end: float):
        self.md_end = md_end
        self.messages: list[tuple[float, str]] = []
        super().__init__(callback=lambda f, m: self.messages.append((f, m)),
                         is_cancelled=lambda: bool(self.messages)
                         and self.messages[-1][0] > self.md_end + 1e-9)


@pytest.fixture(scope="session")
def tiny_prediction(tmp_path_factory):
    """(first run's progress, the completed PredictResult, output folder)."""
    import mantid_mdinsim.predict.core as core

    folder = tmp_path_factory.mktemp("predict") / "si"
    progress = CancelAfterMD(core._MD_END)
    with pytest.raises(Cancelled):
        core.predict(dict(TINY, output_dir=str(folder)), progress)
    state_after_interrupt = (folder / core.STATE_FILE).read_text()

    def forbidden(*args, **kwargs):
        raise AssertionError("the MD stage ran again although it had completed")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("mantid_mdinsim.md.run_md", forbidden)
        result = core.predict(dict(TINY, output_dir=str(folder)))
    return progress, state_after_interrupt, result, Path(folder)


@pytest.fixture(scope="session")
def commensurate_modes_mev():
    """Harmonic phonon energies (meV) of the demo model at every q-point a 2x2x2 supercell of
    the cubic cell holds (q = (h, k, l)/2 of its reciprocal lattice): exactly the modes the
    64-atom MD can carry. From phonopy + calorine through mantid_mdinsim.harmonic, independent
    of the MD and S(q,w) code."""
    from ase.io import read

    from mantid_mdinsim.harmonic import harmonic_phonons
    from mantid_mdinsim.units import MEV_PER_THZ

    phonons = harmonic_phonons(read(SILICON_STRUCTURE), SILICON_MODEL, relax="none")
    qpoints = np.array([(h, k, l) for h in (0, 0.5) for k in (0, 0.5) for l in (0, 0.5)])
    energies = phonons.frequencies_thz(qpoints).ravel() * MEV_PER_THZ
    return np.unique(np.round(energies[energies > 1.0], 2))
