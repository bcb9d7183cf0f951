"""examples/mantid_script.py, the chain as a Mantid script through mantid.simpleapi, on a tiny
system: run against the real Mantid where it imports, else against the test stand-in
(tests/mantid_standin, as tests/mantid/conftest.py does)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

REPOSITORY = Path(__file__).resolve().parents[2]

try:
    import mantid  # noqa: F401
except ImportError:
    sys.path.insert(0, str(REPOSITORY / "tests" / "mantid_standin"))
    import mantid  # noqa: F401


def _load_example():
    spec = importlib.util.spec_from_file_location(
        "mdinsim_example_mantid_script", REPOSITORY / "examples" / "mantid_script.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mantid_chain")
    workspaces = _load_example().run_chain(folder, temperature_k=150.0, supercell=2,
                                           production_ps=3.0, processes=1)
    return folder, workspaces


def test_the_script_leaves_every_workspace_and_file(chain):
    folder, workspaces = chain
    assert set(workspaces) == {"si_thermo", "si_runs", "si_sqw", "si_tosca", "si_arcs"}
    for name in ("si_sqw.nxs", "si_tosca.nxs", "si_arcs.nxs"):
        assert (folder / name).stat().st_size > 0
    for name in ("si_tosca.png", "si_arcs.png"):
        assert (folder / name).read_bytes()[:4] == b"\x89PNG"


def test_tosca_peaks_from_the_algorithms_are_the_models_phonons(chain):
    from ase.io import read

    from mantid_mdinsim.harmonic import harmonic_phonons
    from mantid_mdinsim.predict import SILICON_MODEL, find_peaks_mev
    from mantid_mdinsim.units import MEV_PER_THZ

    folder, workspaces = chain
    tosca = workspaces["si_tosca"]
    edges, counts = np.asarray(tosca.readX(0)), np.asarray(tosca.readY(0))
    energy = 0.5 * (edges[1:] + edges[:-1])
    peaks = sorted(find_peaks_mev(energy, counts / np.diff(edges), prominence_fraction=0.08))
    # The modes a 2x2x2 supercell of the script's cubic cell holds, from the same model.
    phonons = harmonic_phonons(read(folder / "si.xyz"), SILICON_MODEL, relax="none")
    qpoints = np.array([(h, k, l) for h in (0, 0.5) for k in (0, 0.5) for l in (0, 0.5)])
    modes = np.unique(phonons.frequencies_thz(qpoints).ravel() * MEV_PER_THZ)
    modes = modes[modes > 1.0]
    step = float(workspaces["si_sqw"].readX(0)[1] - workspaces["si_sqw"].readX(0)[0])
    assert len(peaks) >= 2
    for peak in peaks:
        assert np.min(np.abs(modes - peak)) <= 1.5 * step, (peak, modes)
    assert 54.0 <= peaks[-1] <= modes.max() + 1.5


def test_arcs_removed_the_debye_waller_factor_with_the_runs_u(chain):
    _, workspaces = chain
    msd = workspaces["si_runs"].column("mean_squared_displacement_angstrom2")[0]
    run = workspaces["si_arcs"].getRun()
    assert run.getProperty("debye_waller_applied").value == "remove"
    assert run.getProperty("debye_waller_msd_angstrom2_used").value == pytest.approx(msd)
    assert run.getProperty("incident_energy_mev_used").value == 100.0
