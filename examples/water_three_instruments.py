"""An O-H system at three spectrometers: liquid water at IN1-Lagrange, TOSCA and MAPS (the
instruments of the paper's section 3.3, Fig. 6, where the O-H dynamics of hydrogenated BaTiO3
were measured).

One MD prediction, one S(q,w) (q-points up to the |Q| MAPS reaches), three instruments:

* IN1-Lagrange (monochromator Cu(220), 21.5-495 meV, fixed final energy 4.5 meV): the whole
  vibrational range, librations, H-O-H bending (about 200 meV) and O-H stretching (about
  420 meV);
* TOSCA (two banks, fine resolution at low energy): librations and bending;
* MAPS (direct geometry, Ei ``--ei``, 650 meV by default): the O-H stretch, from the 2D map
  averaged over |Q| <= 12 1/Angstrom as the paper's experiments were.

The quantum correction is applied at the MD temperature. Water: 32 molecules (96 atoms) at
1 g/cm^3 and 300 K, randomly oriented on a grid and equilibrated at constant volume, with the
published water NEP ``../shared/data/nep/nep_water.txt``; 0.5 fs steps, frames every 3 fs (the
O-H stretch, about 10 fs, is resolved). Scale it with ``--molecules-per-side``,
``--production-ps`` and ``--runs``.

    python examples/water_three_instruments.py --output-dir water [--ei 650]

Figure: ``<output-dir>/water_three_instruments.png``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from example_tools import progress, shared_model, timed

ENERGY_MIN_MEV = {"IN1-LAGRANGE": 21.5, "TOSCA": 20.0}
WATER_MOLAR_MASS_G = 18.015
AVOGADRO_PER_MOL_ANGSTROM3_TO_CM3 = 0.6022140857  # N_A * 1e-24


def water_box(molecules_per_side: tuple[int, int, int] = (4, 4, 2), density_g_cm3: float = 1.0,
              seed: int = 1):
    """Water molecules, randomly oriented, one per cell of a grid filling a periodic box of the
    given density (g/cm^3)."""
    from ase import Atoms
    from ase.build import molecule
    from scipy.spatial.transform import Rotation

    count = int(np.prod(molecules_per_side))
    volume = count * WATER_MOLAR_MASS_G / AVOGADRO_PER_MOL_ANGSTROM3_TO_CM3 / density_g_cm3
    spacing = (volume / count) ** (1 / 3)
    rng = np.random.default_rng(seed)
    box = Atoms(cell=np.array(molecules_per_side, float) * spacing, pbc=True)
    for index in np.ndindex(*molecules_per_side):
        water = molecule("H2O")
        water.positions = Rotation.random(random_state=int(rng.integers(1 << 30))).apply(
            water.positions - water.get_center_of_mass())
        water.positions += (np.array(index) + 0.5) * spacing
        box += water
    return box


def mean_below(spectrum, q_max: float) -> tuple[np.ndarray, np.ndarray]:
    """S(w) of a direct-geometry map averaged over the measured |Q| <= q_max (1/Angstrom)."""
    from mantid_mdinsim.predict import spectrum_1d

    rows = spectrum.vertical_centres() <= q_max
    edges = spectrum.vertical.values
    keep_edges = np.concatenate([rows, [False]]) | np.concatenate([[False], rows])
    subset = spectrum.copy(values=spectrum.values[rows], errors=spectrum.errors[rows],
                           vertical=spectrum.vertical.__class__(values=edges[keep_edges],
                                                                unit=spectrum.vertical.unit))
    return spectrum_1d(subset)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output-dir", type=Path, default=Path("water"))
    parser.add_argument("--model", type=Path, default=None,
                        help="NEP4 O/H model (default: ../shared/data/nep/nep_water.txt)")
    parser.add_argument("--molecules-per-side", type=int, nargs=3, default=[4, 4, 2])
    parser.add_argument("--temperature", type=float, default=300.0, help="K")
    parser.add_argument("--production-ps", type=float, default=3.0)
    parser.add_argument("--equilibration-ps", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--ei", type=float, default=650.0, help="MAPS incident energy, meV")
    parser.add_argument("--q-average-max", type=float, default=12.0,
                        help="MAPS: average |Q| up to this (1/Angstrom)")
    args = parser.parse_args(argv)

    from ase.io import write

    from mantid_mdinsim.instrument import apply_instrument, load_sqw
    from mantid_mdinsim.predict import drop_empty_shells, find_peaks_mev, predict, spectrum_1d
    from mantid_mdinsim.predict.report import report_text

    model = args.model or shared_model("nep_water.txt", "give --model with a NEP4 O/H model")
    args.output_dir.mkdir(parents=True, exist_ok=True)
    structure = args.output_dir / "water_box.xyz"
    write(structure, water_box(tuple(args.molecules_per_side)), format="extxyz")

    with timed("MD, S(q,w) and MAPS"), progress("water") as bar:
        result = predict(dict(
            structure=str(structure), model=str(model), supercell=[1, 1, 1],
            temperature_k=[args.temperature], time_step_fs=0.5, equilibration="nvt",
            equilibration_time_ps=args.equilibration_ps, production_time_ps=args.production_ps,
            dump_interval_fs=3.0, number_of_runs=args.runs, max_frequency_mev=480.0,
            q_count=1000, instrument="MAPS", incident_energy_mev=args.ei, energy_min_mev=20.0,
            output_dir=str(args.output_dir)), bar)
    print(report_text(result.report))
    temperature = result.temperatures[0]
    sqw, _ = drop_empty_shells(load_sqw(temperature.files["sqw"]))
    curves = {}
    with timed("Lagrange and TOSCA"):
        for name in ("IN1-LAGRANGE", "TOSCA"):
            # From 20 meV (Lagrange's Cu(220) range starts at 21.5 meV): below, the
            # quasi-elastic scattering of the liquid would set the scale.
            measured = apply_instrument(sqw, instrument=name, temperature_k=args.temperature,
                                        energy_min_mev=ENERGY_MIN_MEV[name])
            measured.save(args.output_dir / f"{name}_{args.temperature:g}K.nxs")
            curves[name] = spectrum_1d(measured.spectrum)
    curves["MAPS"] = mean_below(temperature.spectrum, args.q_average_max)
    for name, (energy, values) in curves.items():
        peaks = sorted(find_peaks_mev(energy, values))
        print(f"{name}: peaks at {', '.join(f'{p:.0f}' for p in peaks)} meV")

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from mantid_mdinsim.io.atomic import atomic_path

    figure = Figure(figsize=(13, 4.2))
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, 3)
    titles = {"IN1-LAGRANGE": "IN1-Lagrange, Cu(220)", "TOSCA": "TOSCA, both banks",
              "MAPS": f"MAPS, Ei = {args.ei:g} meV, |Q| <= {args.q_average_max:g} 1/Angstrom"}
    for ax, (name, (energy, values)) in zip(axes, curves.items()):
        ax.plot(energy, values)
        ax.set_xlim(0, min(600.0, float(np.nanmax(energy))))
        ax.set_xlabel("Energy transfer (meV)")
        ax.set_title(titles[name], fontsize=10)
    axes[0].set_ylabel("S(w) per meV (arbitrary scale)")
    figure.suptitle(f"Liquid water (NEP MD, {args.temperature:g} K) at three spectrometers "
                    "(cf. paper Fig. 6)")
    figure.tight_layout()
    path = args.output_dir / "water_three_instruments.png"
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    print(f"figures: {path}, {result.files['figure']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
