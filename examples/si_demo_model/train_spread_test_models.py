"""Train the four small silicon models of the model-spread test (tests/predict/data/).

``tests/predict/test_ensemble.py`` checks that models trained on disjoint data spread the
predicted spectrum more than models trained on the same data. Its models are made here, from the
demo's reference data and architecture (``train_demo_model.py``), with neppo on one thread:

* ``same_seed1.txt``, ``same_seed2.txt``: the whole training set, seeds 1 and 2;
* ``half_a_seed1.txt``, ``half_b_seed2.txt``: the even- and the odd-numbered training
  structures (disjoint halves), seeds 1 and 2.

Run from the repository root (a few minutes on one core)::

    python examples/si_demo_model/train_spread_test_models.py
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from train_demo_model import DEFAULT_REFERENCE, MODEL_SETTINGS, REPOSITORY, split  # noqa: E402

OUTPUT = REPOSITORY / "tests" / "predict" / "data"
SETTINGS = dict(backend="neppo", generations=2000, batch_size=16, output_interval=100,
                threads=1, ensemble_size=1, early_stopping_patience=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work-dir", type=Path, default=Path("si_spread_test_training"))
    args = parser.parse_args(argv)

    from ase.io import read

    from mantid_mdinsim.train import train_nep_from_structures

    training, _ = split(read(DEFAULT_REFERENCE, ":"))
    runs = {"same_seed1": (training, 1), "same_seed2": (training, 2),
            "half_a_seed1": (training[0::2], 1), "half_b_seed2": (training[1::2], 2)}
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for name, (structures, seed) in runs.items():
        result = train_nep_from_structures(structures, args.work_dir / name, seed=seed,
                                           **MODEL_SETTINGS, **SETTINGS)
        shutil.copyfile(result.model_path, OUTPUT / f"{name}.txt")
        print(name, len(structures), "structures:",
              round(result.metric("full", "train", "force_rmse_mev_per_angstrom"), 1),
              "meV/Angstrom (training)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
