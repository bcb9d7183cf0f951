"""The MD, training and prediction settings and the MD job: the same values as before them.

The reference is the resolved parameter dict the cores read before the settings existed
(``ParameterSet.resolve``): a step's settings must hold exactly those values, in that order
(the records written from them, ``parameters.json`` of an MD folder, ``report.json`` of a
prediction, ``result.json`` of a training, keep their bytes, so old folders still resume).
"""

from __future__ import annotations

import pickle
from dataclasses import FrozenInstanceError, fields
from pathlib import Path

import pytest
from ase.build import bulk

from mantid_mdinsim.md.backends import MDJob, execute
from mantid_mdinsim.md.cpu import CPUBackend
from mantid_mdinsim.md.gpumd import GPUMDBackend
from mantid_mdinsim.md.parameters import MDSettings
from mantid_mdinsim.md.pimd import IPIBackend
from mantid_mdinsim.md.protocol import build_protocol, run_specs
from mantid_mdinsim.predict.parameters import PredictSettings
from mantid_mdinsim.train.parameters import TrainSettings

MD_VALUES = {"structure": "si.cif", "model": "nep.txt", "output_dir": "runs",
             "temperature_k": [300, 900], "supercell": [2, 2, 2], "equilibration": "nvt"}
TRAIN_VALUES = {"training_set": ["train.xyz"], "output_directory": "model",
                "md_temperature_k": [300, 600], "species": ["Si"]}
PREDICT_VALUES = {"output_dir": "prediction", "instrument": "tosca", "temperature_k": [300],
                  "harmonic": True}


@pytest.mark.parametrize("settings_class, values", [
    (MDSettings, MD_VALUES), (TrainSettings, TRAIN_VALUES), (PredictSettings, PREDICT_VALUES)])
def test_settings_hold_the_resolved_values_in_their_order(settings_class, values):
    reference = settings_class.PARAMETERS.resolve(values)
    settings = settings_class.from_values(values)
    assert [f.name for f in fields(settings)] == list(reference)
    assert list(settings.as_values().items()) == list(reference.items())
    assert settings_class.from_values(settings) == settings
    with pytest.raises(FrozenInstanceError):
        settings.seed = 1  # type: ignore[misc]


def test_the_protocol_is_the_same_from_settings_and_from_values(tmp_path):
    values = dict(MD_VALUES, dump_interval_fs=5.0)
    resolved = MDSettings.PARAMETERS.resolve(values)
    assert build_protocol(MDSettings.from_values(values), 65.0) == build_protocol(resolved, 65.0)
    assert run_specs(MDSettings.from_values(values), tmp_path) == run_specs(resolved, tmp_path)


def test_a_job_and_its_backend_cross_to_another_process_unchanged(tmp_path):
    settings = MDSettings.from_values(MD_VALUES)
    protocol = build_protocol(settings)
    spec = run_specs(settings, tmp_path)[1]
    job = MDJob(spec, protocol, bulk("Si", "diamond", a=5.43), "nep.txt", {"step": "md"})
    copy = pickle.loads(pickle.dumps(job))
    assert (copy.spec, copy.protocol, copy.model_path, dict(copy.logs)) == \
        (spec, protocol, "nep.txt", {"step": "md"})
    assert (copy.atoms.positions == job.atoms.positions).all()
    assert copy.label == "T_900K/run_000" and copy.directory == tmp_path / "T_900K" / "run_000"
    for backend in (CPUBackend(2), GPUMDBackend(Path("/opt/gpumd")), IPIBackend(4)):
        assert pickle.loads(pickle.dumps(backend)) == backend


def test_a_complete_run_is_collected_not_run_again(tmp_path):
    """execute() asks the backend for a complete run first: a run folder holding its
    trajectory, thermo table and summary is returned as it is, by every backend."""
    settings = MDSettings.from_values(MD_VALUES)
    protocol = build_protocol(settings)
    spec = run_specs(settings, tmp_path)[0]
    job = MDJob(spec, protocol, bulk("Si", "diamond", a=5.43), "nep.txt", {})
    spec.directory.mkdir(parents=True)
    for name in ("trajectory.nc", "trajectory.xyz", "thermo.csv"):
        (spec.directory / name).write_text("")
    (spec.directory / "summary.json").write_text('{"label": "done before"}')

    class Refuses(IPIBackend):
        def prepare(self, job):
            raise AssertionError("a complete run was prepared again")

    for backend in (CPUBackend(1), Refuses(1)):
        assert execute(backend, job) == {"label": "done before"}
