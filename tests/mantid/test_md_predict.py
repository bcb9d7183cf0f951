"""MDPredict: the dialog from predict's shared definitions, invalid input named by its property,
Cancel within seconds. Its physics and its numbers against ``mdinsim predict``:
tests/predict/test_md_predict.py (on the tiny prediction those tests share)."""

from __future__ import annotations

import json

from mantid_mdinsim.md.checkpoint import CHECKPOINT_NAME
from mantid_mdinsim.predict import PREDICT_PARAMETERS, SILICON_MODEL, SILICON_STRUCTURE
from mantid_mdinsim.predict.stages import MD_FOLDER, STATE_FILE
from mantid_mdinsim.predict.demos import SILICON_ENSEMBLE

from .conftest import assert_properties_match, load_algorithm, make_algorithm
from .test_cancel import CANCEL_WITHIN_S, _cancel, _start, _wait_for

#: 64 atoms at 150 K, 0.5 ps NVT then 2 ps NVE (frames every 10 fs), TOSCA, two members of the
#: demo's ensemble.
PROPERTIES = dict(InputStructure=str(SILICON_STRUCTURE), NEPModel=str(SILICON_MODEL),
                  Supercell=[2, 2, 2], Temperatures=[150.0], TimeStepFs=2.0,
                  Equilibration="nvt", EquilibrationTimePs=0.5, ProductionTimePs=2.0,
                  DumpIntervalFs=10.0, NumberOfRuns=1, Processes=1, Seed=7,
                  MaxFrequencyMev=70.0, Backend="cpu", QCount=400, Instrument="TOSCA",
                  EnergyMin=3.0, Ensemble=",".join(str(p) for p in SILICON_ENSEMBLE[:2]))


def test_dialog_follows_predicts_shared_definitions():
    cls = load_algorithm("MDPredict")
    algorithm = cls()
    algorithm.initialize()
    assert algorithm.category() == "Simulation"
    assert {"Abins", "MDApplyInstrument"} <= set(algorithm.seeAlso())
    assert_properties_match(algorithm, PREDICT_PARAMETERS)
    names = {p.name for p in algorithm.getProperties()}
    assert {"Ensemble", "Demo", "DemoEnsemble", "OutputWorkspace", "OutputHarmonic",
            "OutputModelSpread"} <= names


def test_invalid_input_is_named_by_its_property(tmp_path):
    algorithm = make_algorithm("MDPredict", OutputDir=str(tmp_path / "out"),
                               OutputWorkspace="x", **dict(PROPERTIES,
                                                           Ensemble=str(SILICON_MODEL)))
    issues = algorithm.validateInputs()
    assert "two or more" in issues["Ensemble"]
    missing = tmp_path / "missing_model.txt"
    algorithm = make_algorithm("MDPredict", OutputDir=str(tmp_path / "out"),
                               OutputWorkspace="x", **PROPERTIES)
    # a file removed after it was set: the core's message, on the property that holds it
    missing.write_text("")
    algorithm.setProperty("Ensemble", f"{SILICON_MODEL},{missing}")
    missing.unlink()
    assert "file not found" in algorithm.validateInputs()["Ensemble"]
    algorithm = make_algorithm("MDPredict", OutputDir=str(tmp_path / "out"),
                               OutputWorkspace="x", DemoEnsemble=True,
                               InputStructure=str(SILICON_STRUCTURE))
    assert "applies only with Demo" in algorithm.validateInputs()["DemoEnsemble"]
    # With the demo, its own ensemble and nothing else to give.
    algorithm = make_algorithm("MDPredict", Demo="si-tosca", DemoEnsemble=True,
                               OutputDir=str(tmp_path / "demo"), OutputWorkspace="x")
    assert algorithm.validateInputs() == {}


def test_cancel_stops_the_md_stage_within_seconds(tmp_path, ads):
    folder = tmp_path / "si"
    algorithm = make_algorithm("MDPredict", OutputDir=str(folder), OutputWorkspace="tosca",
                               CheckpointIntervalPs=0.1,
                               **dict(PROPERTIES, ProductionTimePs=5000.0))
    thread, outcome = _start(algorithm)
    checkpoint = folder / MD_FOLDER / "T_150K" / "run_000" / CHECKPOINT_NAME
    _wait_for(checkpoint.is_file, thread, 180.0, "MD checkpoint")
    assert _cancel(algorithm, thread, outcome) < CANCEL_WITHIN_S
    assert not ads.doesExist("tosca")
    assert "md" not in json.loads((folder / STATE_FILE).read_text() if (
        folder / STATE_FILE).is_file() else "{}")
