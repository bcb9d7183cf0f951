"""The tiny NEP ensembles of ``tests/predict/test_band_width.py``, and the check that their
ordering holds for other data and training seeds.

Two ensembles of four NEP4 silicon models, trained with neppo through ``mdinsim``'s own
training (``train_nep_from_structures``) on 8-atom diamond cells, strained by up to 2 % and
rattled by 0.1 Angstrom, labelled with Tersoff's Si(C) potential (``benchmarks/bench_train.py``):

* ``disjoint<k>.txt``: member k trained on its own quarter of the cells (disjoint data);
* ``same<k>.txt``: every member trained on all the cells, with training seed k.

Why the disjoint band is wider: a member's force constants carry two errors, the optimiser's
(its random start and batch order, seed-dependent) and the data's (which configurations it was
fitted to, and how few). Members on the same data share the data's error and differ by the
optimiser's alone; members on disjoint quarters differ by both, and each sees a quarter of the
configurations, so its data error is that of a set four times smaller. Full batches leave the
optimiser only its random start (no batch order), so that the comparison is not decided by it
(with batches of a few cells it was: DEVELOPERS.md).

The band is the project's estimator on a cheap spectrum: each member's phonon density of
states (phonopy + euphonic via ``mantid_mdinsim.harmonic``, Gaussian-broadened), its standard
deviation over the members per energy bin (``predict.ensemble.ModelSpread``), integrated and
divided by the integrated ensemble mean.

    python tests/data/band_models/make_band_models.py                  # the stored models
    python tests/data/band_models/make_band_models.py --check 1 2 3    # other seeds, printed

Takes a few minutes per seed on two cores.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPOSITORY = HERE.parents[2]

#: The architecture: small, so that four models train in seconds each.
ARCHITECTURE = dict(radial_cutoff_angstrom=5.0, angular_cutoff_angstrom=4.0, n_max_radial=4,
                    n_max_angular=4, basis_size_radial=4, basis_size_angular=4,
                    l_max_3body=4, l_max_4body=0, neurons=8)
CELLS = 32
MEMBERS = 4
STEPS = 600
#: The DOS grid (meV) and its Gaussian broadening (standard deviation, meV).
ENERGY_MEV = np.arange(0.5, 75.0, 0.5)
BROADENING_MEV = 1.0
MESH = (6, 6, 6)


def silicon_cells(count: int, seed: int) -> list:
    sys.path.insert(0, str(REPOSITORY / "benchmarks"))
    from bench_train import silicon_set

    return silicon_set(count, seed=seed, repeat=1)


def train(structures, folder: Path, seed: int) -> Path:
    from mantid_mdinsim.train.core import train_nep_from_structures

    result = train_nep_from_structures(
        structures, folder, backend="neppo", generations=STEPS, batch_size=len(structures),
        output_interval=STEPS // 4, early_stopping_patience=0, seed=seed, threads=1,
        **ARCHITECTURE)
    return Path(result.model_path)


def make_ensembles(data_seed: int, folder: Path) -> dict[str, list[Path]]:
    """Train both ensembles on cells drawn with ``data_seed``; model files in ``folder``."""
    cells = silicon_cells(CELLS, data_seed)
    quarter = CELLS // MEMBERS
    models: dict[str, list[Path]] = {"disjoint": [], "same": []}
    with tempfile.TemporaryDirectory() as scratch:
        for k in range(1, MEMBERS + 1):
            for kind, data in (("disjoint", cells[(k - 1) * quarter:k * quarter]),
                               ("same", cells)):
                trained = train(data, Path(scratch) / f"{kind}{k}", seed=100 * data_seed + k)
                target = folder / f"{kind}{k}.txt"
                shutil.copyfile(trained, target)
                models[kind].append(target)
    return models


def dos_mev(model: Path) -> np.ndarray:
    """The model's phonon density of states (per meV, normalised to 1) on ENERGY_MEV."""
    from ase.build import bulk

    from mantid_mdinsim.harmonic import harmonic_phonons, mesh_modes

    phonons = harmonic_phonons(bulk("Si", "diamond", 5.431, cubic=True), model, relax="none")
    modes = mesh_modes(phonons.force_constants, mesh=MESH)
    energies = np.asarray(modes.frequencies.to("meV").magnitude).ravel()
    energies = energies[energies > 1.0]
    weights = np.exp(-0.5 * ((ENERGY_MEV[:, None] - energies[None, :]) / BROADENING_MEV) ** 2)
    dos = weights.sum(axis=1)
    return dos / (dos.sum() * (ENERGY_MEV[1] - ENERGY_MEV[0]))


def relative_band(models) -> tuple[float, list[dict]]:
    """(integrated band / integrated mean, the peaks' position spreads) of an ensemble."""
    from mantid_mdinsim.predict.ensemble import ModelSpread, peak_spread

    members = np.array([dos_mev(model) for model in models])
    spread = ModelSpread(energy_mev=ENERGY_MEV, members=members,
                         model_names=[str(m) for m in models])
    return (float(np.sum(spread.spread) / np.sum(spread.mean)),
            peak_spread(ENERGY_MEV, members))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", type=int, nargs="*", default=None, metavar="SEED",
                        help="data seeds to train and compare in a scratch folder (nothing "
                             "stored); without it, the stored models (data seed 0)")
    args = parser.parse_args()
    for data_seed in (args.check if args.check is not None else [0]):
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as scratch:
            folder = HERE if args.check is None else Path(scratch)
            models = make_ensembles(data_seed, folder)
            disjoint, disjoint_peaks = relative_band(models["disjoint"])
            same, same_peaks = relative_band(models["same"])
        print(f"data seed {data_seed}: band/mean disjoint {disjoint:.4f}, same data {same:.4f}, "
              f"ratio {disjoint / same:.2f}; peak spreads (meV) disjoint "
              f"{[p['spread_mev'] for p in disjoint_peaks]}, same "
              f"{[p['spread_mev'] for p in same_peaks]} "
              f"({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
