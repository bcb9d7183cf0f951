"""Time the harmonic comparison: NEP force constants, modes on a mesh, the S(|Q|, w) map, and
the second order against abinslib's every-pair reference.

    python benchmarks/bench_harmonic.py                    # Si NEP, mesh 8x8x8
    python benchmarks/bench_harmonic.py --mesh 12 12 12 --n-q 200 --max-order 4

Prints wall times of each stage and, for the second order, the ratio of abinslib's pair sum
(calculate_almost_isotropic_incoherent_combinations + _bin_combination_modes: memory and time
quadratic in the number of modes) to this package's tensor self-convolution (linear), on the
same modes. Uses ``../shared/data/nep/Si_2022_NEP4_3body.txt`` unless ``--model`` is given.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "shared/data/nep/Si_2022_NEP4_3body.txt"


def stopwatch(label: str, function):
    start = time.perf_counter()
    result = function()
    elapsed = time.perf_counter() - start
    print(f"{label:<58s} {elapsed:8.3f} s")
    return result, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(DEFAULT_MODEL))
    parser.add_argument("--mesh", type=int, nargs=3, default=(8, 8, 8))
    parser.add_argument("--n-q", type=int, default=200, help="|Q| rows of the map")
    parser.add_argument("--energy-step", type=float, default=0.25, help="meV")
    parser.add_argument("--max-order", type=int, default=2)
    parser.add_argument("--pair-mesh", type=int, default=6,
                        help="mesh n x n x n of the abinslib pair-sum comparison")
    args = parser.parse_args()

    from ase.build import bulk

    from mantid_mdinsim.harmonic import harmonic_phonons, harmonic_spectrum_1d, harmonic_sqw

    phonons, _ = stopwatch("force constants (relax cell, 4x4x4, CPUNEP)", lambda: harmonic_phonons(
        bulk("Si", "diamond", a=5.431), args.model, supercell=(4, 4, 4), relax="cell"))
    modes, _ = stopwatch(f"modes on the {tuple(args.mesh)} mesh (euphonic)",
                         lambda: phonons.modes(mesh=args.mesh))
    top = float(modes.frequencies.to("meV").magnitude.max()) * args.max_order * 1.05
    energy_bins = np.arange(0.0, top + args.energy_step, args.energy_step)
    q_bins = np.linspace(0.0, 20.0, args.n_q + 1)
    stopwatch(f"S(|Q|,w) map {args.n_q} x {len(energy_bins) - 1}, orders 1-{args.max_order}",
              lambda: harmonic_sqw(modes, temperature_k=300.0, q_bins_inv_angstrom=q_bins,
                                   energy_bins_mev=energy_bins, max_order=args.max_order))

    # Second order: this package against abinslib's pair sum on a smaller mesh.
    from abinslib.almost_isotropic_incoherent import (
        _bin_combination_modes, calculate_almost_isotropic_incoherent_combinations)
    from abinslib.displacements import Displacements
    from euphonic import Quantity

    from mantid_mdinsim.harmonic.spectrum import normalised_modes

    small = normalised_modes(phonons.modes(mesh=(args.pair_mesh,) * 3))
    bins = np.arange(0.0, 130.0, 0.5)
    _, ours = stopwatch(f"order 2, this package, {small.frequencies.size} modes",
                        lambda: harmonic_spectrum_1d(small, temperature_k=300.0,
                                                     energy_bins_mev=bins, q_lines=[3.0],
                                                     max_order=2))

    def pair_sum():
        displacements = Displacements.from_modes(small, Quantity(300.0, "K"))
        shape = small.frequencies.shape
        intensities = calculate_almost_isotropic_incoherent_combinations(
            displacements, displacements.to_atomic_displacements(),
            Quantity(np.full((*shape, *shape), 9.0), "angstrom**-2"), include_dw=True)
        return _bin_combination_modes(small, intensities, Quantity(bins, "meV"))

    _, reference = stopwatch(f"order 2, abinslib pair sum, {small.frequencies.size} modes",
                             pair_sum)
    print(f"{'ratio abinslib pair sum / this package':<58s} {reference / ours:8.1f}")


if __name__ == "__main__":
    main()
