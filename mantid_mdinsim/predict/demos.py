"""The demos of ``mdinsim predict --demo NAME``: everything they need ships in the package.

The data folder (``mantid_mdinsim/data``) holds the silicon structure and the demo NEP model
that the project trained itself (``examples/si_demo_model``: GPAW/PBE reference data, neppo on
CPU). A demo is a set of parameter values; options the user gives override them. The settings
are small so that a demo finishes in a minute or two on two cores: 216 atoms, 1 ps of NVT
equilibration and two independent 6 ps NVE runs at 2 fs (one per core), dumped every 10 fs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: The folder of the shipped files.
DATA_DIRECTORY = Path(__file__).resolve().parents[1] / "data"
#: The 8-atom cubic cell of diamond silicon at the demo model's 0 K lattice parameter.
SILICON_STRUCTURE = DATA_DIRECTORY / "Si_diamond_cubic.xyz"
#: NEP4 silicon model trained by examples/si_demo_model/train_demo_model.py.
SILICON_MODEL = DATA_DIRECTORY / "Si_demo_NEP4.txt"

#: The demo's small ensemble (examples/si_demo_model/train_demo_ensemble.py): four NEP4
#: models of the demo model's architecture, each on its own 75 % of the training data.
SILICON_ENSEMBLE = tuple(DATA_DIRECTORY / f"Si_demo_NEP4_ensemble{k}.txt" for k in range(1, 5))

_SILICON_MD: dict[str, Any] = dict(
    structure=str(SILICON_STRUCTURE), model=str(SILICON_MODEL), supercell=[3, 3, 3],
    temperature_k=[300.0], time_step_fs=2.0, equilibration="nvt", equilibration_time_ps=1.0,
    production_time_ps=6.0, dump_interval_fs=10.0, number_of_runs=2, seed=2025,
    # Si's fastest vibration (about 65 meV) is well resolved by a 10 fs dump; giving it skips
    # the estimate from the model's harmonic frequencies at start-up.
    max_frequency_mev=70.0,
    q_count=600)

DEMOS: dict[str, dict[str, Any]] = {
    # The output starts above the elastic line (Bragg peaks of the coherent S, broadened by the
    # finite correlation window), which would otherwise set the scale of the plots.
    "si-tosca": dict(_SILICON_MD, instrument="TOSCA", energy_min_mev=3.0, harmonic=True),
    "si-arcs": dict(_SILICON_MD, instrument="ARCS", incident_energy_mev=100.0,
                    energy_min_mev=8.0),
}


def demo_ensemble(name: str) -> list[str]:
    """The model files of a demo's ensemble (``--demo NAME --ensemble``)."""
    if name not in DEMOS:
        raise KeyError(name)
    return [str(path) for path in SILICON_ENSEMBLE]


def demo_parameters(name: str) -> dict[str, Any]:
    """A copy of the demo's parameter values (KeyError for an unknown name)."""
    values = dict(DEMOS[name])
    return {key: list(value) if isinstance(value, list) else value
            for key, value in values.items()}
