"""A stand-in for GPUMD's ``nep`` executable, for tests on machines without a GPU.

Run in a folder with nep.in and train.xyz (and test.xyz), as nep is. $FAKE_NEP_MODE selects:

* ``fail``: print GPUMD's error for a bad version and exit with status 1 (nep's behaviour);
* ``silent``: exit normally without writing anything;
* ``copy`` (default): "train" by copying an existing NEP4 model ($FAKE_NEP_MODELS, JSON mapping
  run-folder names to model files, with "*" as the default) to nep.txt and write nep's output
  files (loss.out, energy/force/virial/stress_train.out and _test.out) with that model's
  CPUNEP predictions, in nep's formats (doc/nep/output_files).

Each call appends the nep.in it saw to fake_nep_calls.txt.
"""

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np


def write_predictions(model: str, label: str) -> tuple[float, float, float] | None:
    from ase.io import read
    from calorine.calculators import CPUNEP

    path = Path(f"{label}.xyz")
    if not path.is_file():
        return None
    structures = read(path, ":")
    calculator = CPUNEP(model)
    energy, force, virial, stress = [], [], [], []
    # GPUMD's reduced order of virials: xx yy zz xy yz zx; ASE's Voigt: xx yy zz yz xz xy
    order = [0, 1, 2, 5, 3, 4]
    for atoms in structures:
        n = len(atoms)
        volume = atoms.get_volume()
        target_e = atoms.get_potential_energy() / n
        target_f = atoms.get_forces()
        try:
            target_v = -atoms.get_stress()[order] * volume / n
        except Exception:
            target_v = None
        probe = atoms.copy()
        probe.calc = calculator
        predicted_e = probe.get_potential_energy() / n
        predicted_f = probe.get_forces()
        predicted_v = -probe.get_stress()[order] * volume / n
        energy.append((predicted_e, target_e))
        force.append(np.hstack([predicted_f, target_f]))
        missing = np.full(6, -1e6)
        virial.append(np.hstack([predicted_v, missing if target_v is None else target_v]))
        to_gpa = 160.21766208 * n / volume
        stress.append(np.hstack([predicted_v * to_gpa,
                                 missing if target_v is None else target_v * to_gpa]))
    np.savetxt(f"energy_{label}.out", energy, fmt="%g")
    np.savetxt(f"force_{label}.out", np.vstack(force), fmt="%g")
    np.savetxt(f"virial_{label}.out", virial, fmt="%g")
    np.savetxt(f"stress_{label}.out", stress, fmt="%g")
    e = np.array(energy)
    f = np.vstack(force)
    v = np.array([row for row in virial if row[6] != -1e6]).reshape(-1, 12)
    rmse_v = float(np.sqrt(np.mean((v[:, :6] - v[:, 6:]) ** 2))) if len(v) else 0.0
    return (float(np.sqrt(np.mean((e[:, 0] - e[:, 1]) ** 2))),
            float(np.sqrt(np.mean((f[:, :3] - f[:, 3:]) ** 2))), rmse_v)


def main() -> int:
    mode = os.environ.get("FAKE_NEP_MODE", "copy")
    nep_in = Path("nep.in").read_text()
    with open("fake_nep_calls.txt", "a") as log:
        log.write(nep_in + "---\n")
    if mode == "fail":
        print("Input error: version should = 4.")
        return 1
    if mode == "silent":
        return 0
    settings = {}
    for line in nep_in.splitlines():
        words = line.split()
        if words:
            settings[words[0]] = words[1:]
    models = json.loads(os.environ["FAKE_NEP_MODELS"])
    model = models.get(Path.cwd().name, models["*"])
    shutil.copyfile(model, "nep.txt")
    Path("nep.restart").write_text("fake\n")
    train = write_predictions("nep.txt", "train")
    test = write_predictions("nep.txt", "test") or (0.0, 0.0, 0.0)
    generations = int(settings.get("generation", ["100000"])[0])
    interval = int(settings.get("output_interval", ["100"])[0])
    with open("loss.out", "a") as loss:
        for generation in range(interval, generations + 1, interval):
            loss.write(f"{generation} 0.1 0.01 0.01 " + " ".join(
                f"{value:.5f}" for value in (*train, *test)) + "\n")
    print("Finished fake training.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
