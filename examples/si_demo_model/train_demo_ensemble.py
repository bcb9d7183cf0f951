"""Train the demo's small ensemble of silicon NEP models (model uncertainty of a prediction).

The recipe of ``mantid_mdinsim/data/Si_demo_NEP4_ensemble*.txt``, used by
``mdinsim predict --demo si-tosca --ensemble`` to show how far the predicted spectrum moves
between equally good models. Same reference data, test split and architecture as the demo model
(``train_demo_model.py``); each member is trained by mdinsim's training step on its own random
75 % of the training structures (bagging, seeded), so the members differ as independently
trained models do: by their data and their initial parameters. neppo on one thread, fixed
seed: running this again gives the same files.

Run from the repository root (a few minutes per member on one core)::

    python examples/si_demo_model/train_demo_ensemble.py
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from train_demo_model import DEFAULT_REFERENCE, MODEL_SETTINGS, REPOSITORY, split  # noqa: E402

DATA = REPOSITORY / "mantid_mdinsim" / "data"
MEMBER_NAME = "Si_demo_NEP4_ensemble{}.txt"
ENSEMBLE_SIZE = 4
TRAINING_SETTINGS = dict(backend="neppo", generations=3000, batch_size=16, output_interval=100,
                         lambda_energy=1.0, lambda_force=1.0, lambda_virial=0.1, seed=2025,
                         threads=1, ensemble_size=ENSEMBLE_SIZE, split_mode="bagging",
                         validation_fraction=0.25, early_stopping_patience=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference", type=Path, default=DEFAULT_REFERENCE)
    parser.add_argument("--output-dir", type=Path, default=DATA)
    parser.add_argument("--work-dir", type=Path, default=Path("si_demo_ensemble_training"))
    args = parser.parse_args(argv)

    from ase.io import read, write

    from mantid_mdinsim.progress import terminal_progress
    from mantid_mdinsim.train import train_nep

    training, test = split(read(args.reference, ":"))
    args.work_dir.mkdir(parents=True, exist_ok=True)
    write(args.work_dir / "train.xyz", training, format="extxyz")
    write(args.work_dir / "test.xyz", test, format="extxyz")
    with terminal_progress("training the demo Si ensemble") as progress:
        result = train_nep(dict(training_set=[str(args.work_dir / "train.xyz")],
                                test_set=[str(args.work_dir / "test.xyz")],
                                output_directory=str(args.work_dir / "model"),
                                **MODEL_SETTINGS, **TRAINING_SETTINGS), progress)
    members = []
    for k, path in enumerate(result.ensemble_paths, start=1):
        target = args.output_dir / MEMBER_NAME.format(k)
        shutil.copyfile(path, target)
        members.append({"file": target.name, "test_rmse": {
            column: round(result.metric(f"split{k}", "test", column), 3)
            for column in ("energy_rmse_mev_per_atom", "force_rmse_mev_per_angstrom")}})
    metrics = {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "recipe": "examples/si_demo_model/train_demo_ensemble.py",
        "training_structures": len(training), "test_structures": len(test),
        "model_settings": MODEL_SETTINGS, "training_settings": TRAINING_SETTINGS,
        "training_backend": result.backend, "members": members}
    path = args.output_dir / "Si_demo_NEP4_ensemble.metrics.json"
    path.write_text(json.dumps(metrics, indent=1) + "\n")
    print(json.dumps(members, indent=1))
    print(f"wrote {len(members)} members and {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
