"""Model-uncertainty bands: an ensemble of models trained on disjoint data gives a wider band than
one trained on the same data (the issue's test; identical models give none: test_ensemble.py).

The two ensembles of four tiny NEP silicon models are stored in tests/data/band_models with the
script that trained them (``make_band_models.py``, whose docstring says why the ordering holds);
its ``--check`` option trains both again for other data and training seeds and prints the
band of each (figures in DEVELOPERS.md). The band is the project's estimator
(``predict.ensemble.ModelSpread``) over each member's phonon density of states (phonopy and
euphonic through ``mantid_mdinsim.harmonic``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

MODELS = Path(__file__).resolve().parents[1] / "data" / "band_models"
#: The smallest ratio of the two bands over the data seeds checked (make_band_models.py).
MIN_RATIO = 1.5


def _script():
    spec = importlib.util.spec_from_file_location("make_band_models",
                                                  MODELS / "make_band_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bands():
    script = _script()
    return {kind: script.relative_band(sorted(MODELS.glob(f"{kind}[0-9].txt")))
            for kind in ("disjoint", "same")}


def test_disjoint_data_give_a_wider_band_than_the_same_data(bands):
    (disjoint, disjoint_peaks), (same, same_peaks) = bands["disjoint"], bands["same"]
    assert same > 0.0
    assert disjoint > MIN_RATIO * same, (disjoint, same)
    # and the peaks move more from member to member: the mean over the main peaks of each
    # one's spread in meV (held for the three data seeds checked; the largest alone did not)
    assert (np.mean([p["spread_mev"] for p in disjoint_peaks])
            > np.mean([p["spread_mev"] for p in same_peaks]))

