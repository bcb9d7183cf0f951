"""Model-uncertainty bands (``predict --ensemble``): identical models give no band; the peak
spread is the standard deviation of the members' peak positions; the spread is written beside
the spectrum, drawn and reported; the demo's ensemble is found."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from mantid_mdinsim.errors import ParameterError
from mantid_mdinsim.io.nexus import load_processed_nexus
from mantid_mdinsim.predict import SILICON_MODEL
from mantid_mdinsim.predict.core import predict, resolve_parameters
from mantid_mdinsim.predict.ensemble import peak_spread

from .conftest import TINY


@pytest.fixture
def prediction_folder(tiny_prediction, tmp_path):
    """A copy of the tiny prediction (MD, S(q,w), instrument, harmonic done)."""
    folder = tmp_path / "si"
    shutil.copytree(tiny_prediction[3], folder)
    return folder


def _with_ensemble(folder, models):
    return predict(dict(TINY, output_dir=str(folder), ensemble=[str(m) for m in models]))


def test_identical_models_give_a_zero_band(prediction_folder, tmp_path):
    copy = tmp_path / "copy_of_the_demo_model.txt"
    shutil.copyfile(SILICON_MODEL, copy)
    result = _with_ensemble(prediction_folder, [SILICON_MODEL, copy])
    spread = result.temperatures[0].model_spread
    assert np.nanmax(np.abs(spread.spread)) == 0.0
    assert spread.peaks and all(p["spread_mev"] == 0.0 for p in spread.peaks)
    # only the members' harmonic stages ran; MD and S(q,w) were reused
    assert result.stages["md"] == "skipped"
    written = load_processed_nexus(result.temperatures[0].files["model_spread"])
    assert [w.name for w in written] == ["model_spread", "ensemble_mean", "ensemble_members"]
    assert written[0].logs["ensemble_members"].count(".txt") == 2
    assert result.temperatures[0].files["model_spread_plot"].read_bytes()[:4] == b"\x89PNG"
    assert "model spread over 2 models" in result.files["report_text"].read_text()


def test_peak_spread_is_the_standard_deviation_of_the_members_peak_positions():
    energy = np.linspace(1.0, 100.0, 991)
    centres = np.array([50.0, 50.4, 49.8])
    members = np.exp(-0.5 * ((energy[None, :] - centres[:, None]) / 2.0) ** 2)
    (peak,) = peak_spread(energy, members)
    assert peak["member_positions_mev"] == pytest.approx(list(centres), abs=0.06)
    assert peak["spread_mev"] == pytest.approx(np.std(centres, ddof=1), abs=0.03)


def test_the_demo_ensemble_is_used_when_no_files_follow(tmp_path):
    resolved = resolve_parameters(demo="si-tosca", output_dir=str(tmp_path), ensemble=[])
    assert len(resolved["ensemble"]) == 4
    assert all(Path(p).is_file() for p in resolved["ensemble"])
    with pytest.raises(ParameterError, match="give --ensemble M1.txt"):
        resolve_parameters(dict(TINY, output_dir=str(tmp_path), ensemble=[]))
    with pytest.raises(ParameterError, match="two or more"):
        resolve_parameters(dict(TINY, output_dir=str(tmp_path),
                                ensemble=[str(SILICON_MODEL)]))
