"""MDPredict (the Mantid algorithm of ``mdinsim predict``, through the Mantid stand-in where no
Mantid imports) on the tiny prediction: the same parameters give the command's stage keys (MD
reused, and ``mdinsim predict`` afterwards finds every stage done), the spectrum's peaks lie at
the model's harmonic phonons, the spectrum is the core's, and the model-spread workspace is the
members' standard deviation on the spectrum's scale."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from mantid_mdinsim.io.nexus import load_processed_nexus
from mantid_mdinsim.parameters import Kind
from mantid_mdinsim.predict import PREDICT_PARAMETERS, find_peaks_mev
from mantid_mdinsim.predict.stages import MD_FOLDER, STATE_FILE
from mantid_mdinsim.predict.demos import SILICON_ENSEMBLE

from .conftest import TINY

REPOSITORY = Path(__file__).resolve().parents[2]
try:
    import mantid  # noqa: F401
except ImportError:
    sys.path.insert(0, str(REPOSITORY / "tests" / "mantid_standin"))

from tests.mantid.conftest import make_algorithm  # noqa: E402 - after the stand-in's path

#: The tiny prediction's parameters with two members of the demo's ensemble.
PARAMETERS = dict(TINY, ensemble=[str(p) for p in SILICON_ENSEMBLE[:2]])


def _properties(parameters):
    """The parameters as MDPredict's properties: a file list as one ','-separated string, as a
    real Mantid's MultipleFileProperty takes it (a Python list is refused)."""
    return {PREDICT_PARAMETERS[name].property_name:
            ",".join(value) if PREDICT_PARAMETERS[name].kind is Kind.INPUT_FILES else value
            for name, value in parameters.items()}


def _arguments(parameters):
    """The same parameters as ``mdinsim predict`` options."""
    arguments = [parameters["structure"]]
    for name, value in parameters.items():
        flag = PREDICT_PARAMETERS[name].cli_flag
        if name == "structure" or value is False:
            continue
        if value is True:
            arguments.append(flag)
        else:
            arguments += [flag, *map(str, value if isinstance(value, list) else [value])]
    return arguments


@pytest.fixture(scope="module")
def algorithm_run(tiny_prediction, tmp_path_factory):
    """MDPredict in a folder holding the tiny prediction's MD runs alone:
    (folder, {output: workspace})."""
    from mantid.api import AnalysisDataService

    source = tiny_prediction[3]
    folder = tmp_path_factory.mktemp("md_predict") / "si"
    folder.mkdir()
    shutil.copytree(source / MD_FOLDER, folder / MD_FOLDER)
    md = json.loads(json.dumps(json.loads((source / STATE_FILE).read_text())["md"])
                    .replace(str(source), str(folder)))
    (folder / STATE_FILE).write_text(json.dumps({"md": md}))
    algorithm = make_algorithm("MDPredict", OutputDir=str(folder), OutputWorkspace="si_tosca",
                               OutputHarmonic="si_harmonic", OutputModelSpread="si_band",
                               **_properties(PARAMETERS))
    assert algorithm.execute()
    outputs = {name: AnalysisDataService.retrieve(name)
               for name in ("si_tosca", "si_harmonic", "si_band")}
    yield folder, outputs
    AnalysisDataService.clear(True)


def test_md_is_reused_and_the_command_finds_every_stage_done(algorithm_run, capsys):
    from mantid_mdinsim.cli import main

    folder, _ = algorithm_run
    # The MD stage's key (a hash of every MD parameter) matched the core's: the runs were
    # reused, so the properties resolved to the command's values.
    state = json.loads((folder / STATE_FILE).read_text())
    assert {"md", "sqw 150K", "instrument 150K", "harmonic 150K", "ensemble/member1 150K",
            "ensemble/member2 150K"} <= set(state)
    assert main(["predict", *_arguments(PARAMETERS), "--output-dir", str(folder)]) == 0
    out = capsys.readouterr().out
    stages = out.split("stages: ", 1)[1].splitlines()[0]
    assert "ran" not in stages, stages


def test_spectrum_is_the_cores_and_its_peaks_the_models_phonons(algorithm_run, tiny_prediction,
                                                                 commensurate_modes_mev):
    _, outputs = algorithm_run
    core = tiny_prediction[2].temperatures[0]
    tosca = outputs["si_tosca"]
    np.testing.assert_allclose(tosca.extractY()[0], core.spectrum.values[0], rtol=1e-10)
    np.testing.assert_allclose(outputs["si_harmonic"].extractY()[0], core.harmonic.values[0],
                               rtol=1e-10)
    edges = np.asarray(tosca.readX(0))
    energy = 0.5 * (edges[1:] + edges[:-1])
    peaks = find_peaks_mev(energy, np.asarray(tosca.readY(0)))
    step = float(energy[1] - energy[0])
    optical = next(p for p in peaks if p > 40)
    # The optical band of the model's phonons at the supercell's q-points (55.5-60.8 meV).
    assert 55.46 - step <= optical <= commensurate_modes_mev.max() + step


def test_model_spread_is_the_members_standard_deviation(algorithm_run):
    folder, outputs = algorithm_run
    written = {w.name: w for w in load_processed_nexus(folder / "TOSCA_150K_model_spread.nxs")}
    members = written["ensemble_members"].values
    scale = float(written["model_spread"].logs["model_spread_scale"])
    band = outputs["si_band"]
    expected = scale * np.std(members, axis=0, ddof=1)
    np.testing.assert_allclose(band.extractY()[0], expected, rtol=1e-10, equal_nan=True)
    # Two different models: a band where the spectrum has weight, none from identical ones
    # (test_ensemble.py); provenance says which step made it.
    assert np.nanmax(band.extractY()[0]) > 0
    assert band.getRun().getProperty("mdinsim_step").value == "MDPredict"
