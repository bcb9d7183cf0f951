"""Progress through Mantid's Progress, Cancel honoured between chunks, messages through
self.log() with the mdinsim version."""

from __future__ import annotations

import numpy as np
import pytest

from mantid_mdinsim import __version__
from mantid_mdinsim.errors import Cancelled
from mantid_mdinsim.mantid.progress import mantid_progress
from mantid_mdinsim.mantid.workspaces import spectrum_to_workspace
from mantid_mdinsim.spectrum import Spectrum, energy_axis, momentum_axis

from .conftest import REAL_MANTID, make_algorithm

pytestmark = pytest.mark.skipif(REAL_MANTID, reason="reads the stand-in's progress and log "
                                                    "records; Workbench shows them in Mantid")


@pytest.fixture
def sqw(ads):
    energy = np.arange(0.0, 80.0, 0.5)
    q = np.linspace(0.2, 12.0, 40)
    values = np.exp(-0.5 * ((energy[None, :] - 30.0) / 1.5) ** 2) * q[:, None] ** 2
    ads.addOrReplace("sqw", spectrum_to_workspace(Spectrum(
        x=energy_axis(energy), values=values, vertical=momentum_axis(q),
        logs={"temperature_k": 300.0})))
    return "sqw"


def test_the_core_reports_progress_to_the_algorithm(sqw):
    algorithm = make_algorithm("MDApplyInstrument", InputWorkspace=sqw, Instrument="MARI",
                               OutputWorkspace="out")
    assert algorithm.execute()
    fractions = [fraction for fraction, _ in algorithm._progress_reports]
    messages = [message for _, message in algorithm._progress_reports]
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert "input checked" in messages and "done" in messages


def test_cancel_stops_between_chunks_and_stores_nothing(sqw, ads):
    algorithm = make_algorithm("MDApplyInstrument", InputWorkspace=sqw, Instrument="MARI",
                               OutputWorkspace="out")
    algorithm.cancel()
    with pytest.raises(KeyboardInterrupt):
        algorithm.execute()
    assert not algorithm.isExecuted()
    assert not ads.doesExist("out")
    assert len(algorithm._progress_reports) == 1  # stopped at the first interruption point


def test_a_cancel_reaches_the_core_as_cancelled():
    from mantid.api import PythonAlgorithm

    algorithm = PythonAlgorithm()
    reporter = mantid_progress(algorithm, 0.5, 1.0)
    reporter.report(0.5, "half")
    assert algorithm._progress_reports[-1] == (pytest.approx(0.75), "half")
    algorithm.cancel()
    with pytest.raises(Cancelled, match="cancelled by the user"):
        reporter.sub(0.0, 0.5).report(1.0, "chunk")


def test_messages_go_through_the_algorithm_log_with_the_version(sqw):
    from mantid.kernel import Logger

    Logger.messages.clear()
    algorithm = make_algorithm("MDApplyInstrument", InputWorkspace=sqw, Instrument="TOSCA",
                               OutputWorkspace="out")
    assert algorithm.execute()
    mine = [(priority, text) for name, priority, text in Logger.messages
            if name == "MDApplyInstrument"]
    assert ("notice", f"MDApplyInstrument: mdinsim {__version__}") in mine
    assert any(p == "information" and t.startswith("MDApplyInstrument parameters: ")
               and '"instrument": "TOSCA"' in t for p, t in mine)
