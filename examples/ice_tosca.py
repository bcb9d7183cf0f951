"""A hydrogen-rich crystal at TOSCA, step by step as the paper's Fig. 5a: raw S(w) ->
kinematics and resolution -> quantum correction (section 3.2).

The scattering of a hydrogen-rich crystal is dominated by hydrogen's incoherent cross section,
so the spectrum is studied directly. Three levels of the same MD prediction are drawn:

1. raw: S(w), the MD S(q,w) (neutron weights only) averaged over all q-points;
2. TOSCA's kinematics and resolution: S sampled along the |Q|(w) lines of TOSCA's two banks
   and broadened with its resolution, with the classical statistics of MD;
3. plus the quantum correction of eq. 6 (detailed balance), which restores the intensity of
   the low-energy modes at low temperature.

Each curve is scaled to the same area above 50 meV (the paper scaled each to the experiment
there). The harmonic spectrum of the same model through TOSCA (``--harmonic``) is drawn beside.

The default system runs on CPU: proton-ordered cubic ice (ice Ic, oxygens on a diamond lattice,
every O-H along an O-O bond, ice rules obeyed) with the published water NEP
``../shared/data/nep/nep_water.txt``, 96 atoms at 100 K, 0.5 fs steps, frames every 3 fs
(the paper's interval for benzene). Crystalline benzene, the paper's system, runs the same way
with ``--structure benzene.cif --model nep_benzene.txt`` (the paper's model is a NEP3 model
from its data repository, which runs on a GPU with GPUMD: ``--backend gpumd``). Scale it with
``--supercell``, ``--production-ps`` and ``--runs``; the paper: 57 024 atoms, 1 ns, 10 runs.

    python examples/ice_tosca.py --output-dir ice_tosca [--harmonic]

Figure: ``<output-dir>/ice_tosca_steps.png`` (and prediction.png).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from example_tools import normalised_above, progress, shared_model, timed

#: Lattice parameter of ice Ic near 100 K (Angstrom) and the O-H bond length (Angstrom).
ICE_IC_LATTICE_ANGSTROM = 6.35
OH_BOND_ANGSTROM = 0.98
#: The curves are drawn from this energy (meV): below it the elastic line and the diffusive
#: (quasi-elastic) scattering of MD set the scale.
PLOT_FROM_MEV = 15.0


def ice_ic(lattice_angstrom: float = ICE_IC_LATTICE_ANGSTROM):
    """Proton-ordered ice Ic: 8 H2O in the cubic cell. Oxygens on the diamond lattice (sublattice
    A on the fcc sites, B shifted by a/4 (1,1,1)); each A oxygen holds its hydrogens on its bonds
    along (1,1,1) and (1,-1,-1), each B oxygen along (1,-1,1) and (1,1,-1): every O-O bond holds
    one hydrogen and every oxygen two (the ice rules)."""
    from ase import Atoms

    fcc = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    directions = {0.0: np.array([[1, 1, 1], [1, -1, -1]]) / np.sqrt(3),
                  0.25: np.array([[1, -1, 1], [1, 1, -1]]) / np.sqrt(3)}
    symbols, positions = [], []
    for site in fcc:
        for shift, bonds in directions.items():
            oxygen = (site + shift) * lattice_angstrom
            symbols.append("O")
            positions.append(oxygen)
            for bond in bonds:
                symbols.append("H")
                positions.append(oxygen + OH_BOND_ANGSTROM * bond)
    return Atoms(symbols, positions=positions, cell=[lattice_angstrom] * 3, pbc=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output-dir", type=Path, default=Path("ice_tosca"))
    parser.add_argument("--structure", type=Path, default=None,
                        help="a hydrogen-rich crystal (default: proton-ordered ice Ic)")
    parser.add_argument("--model", type=Path, default=None,
                        help="its NEP model (default: ../shared/data/nep/nep_water.txt)")
    parser.add_argument("--supercell", type=int, nargs=3, default=[2, 2, 1])
    parser.add_argument("--temperature", type=float, default=100.0, help="K")
    parser.add_argument("--production-ps", type=float, default=3.0)
    parser.add_argument("--equilibration-ps", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--backend", default="auto", choices=("auto", "cpu", "gpumd"))
    parser.add_argument("--scale-above", type=float, default=50.0,
                        help="meV: curves share their area above this energy")
    parser.add_argument("--harmonic", action="store_true")
    args = parser.parse_args(argv)

    from ase.io import write

    from mantid_mdinsim.instrument import apply_instrument, load_sqw
    from mantid_mdinsim.io.nexus import load_processed_nexus
    from mantid_mdinsim.predict import drop_empty_shells, predict, spectrum_1d
    from mantid_mdinsim.predict.report import report_text

    args.output_dir.mkdir(parents=True, exist_ok=True)
    if args.structure is None:
        structure = args.output_dir / "ice_ic.xyz"
        write(structure, ice_ic(), format="extxyz")
    else:
        structure = args.structure
    model = args.model or shared_model("nep_water.txt", "give --model with a NEP4 O/H model")

    with timed("MD, S(q,w) and TOSCA"), progress("ice at TOSCA") as bar:
        result = predict(dict(
            structure=str(structure), model=str(model), supercell=args.supercell,
            temperature_k=[args.temperature], time_step_fs=0.5, equilibration="npt",
            equilibration_time_ps=args.equilibration_ps, bulk_modulus_gpa=10.0,
            production_time_ps=args.production_ps, dump_interval_fs=3.0,
            number_of_runs=args.runs, backend=args.backend, max_frequency_mev=480.0,
            q_count=800, instrument="TOSCA", energy_min_mev=5.0, harmonic=args.harmonic,
            output_dir=str(args.output_dir)), bar)
    print(report_text(result.report))
    temperature = result.temperatures[0]

    # Level 1: raw S(w), the average over all q-points (sw, 'total').
    sw = next(w for w in load_processed_nexus(temperature.files["sqw"]) if w.name == "sw")
    raw = sw.values[sw.vertical.labels.index("total")]
    raw_energy = sw.x_centres()
    # Level 2: TOSCA's kinematics and resolution on the classical S (no quantum correction).
    sqw, _ = drop_empty_shells(load_sqw(temperature.files["sqw"]))
    classical = apply_instrument(sqw, instrument="TOSCA", temperature_k=args.temperature,
                                 energy_min_mev=5.0, quantum_correction=False)
    # Level 3: the full prediction (quantum correction as well).
    levels = [("raw S(w) (scattering lengths only)", raw_energy, raw),
              ("+ TOSCA kinematics and resolution", *spectrum_1d(classical.spectrum)),
              ("+ quantum correction (eq. 6)", *spectrum_1d(temperature.spectrum))]

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from mantid_mdinsim.io.atomic import atomic_path

    columns = 2 if temperature.harmonic is not None else 1
    figure = Figure(figsize=(6.5 * columns, 6))
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, columns, squeeze=False)[0]
    # Equal areas above --scale-above, then stacked (raw at the bottom) by a common step.
    shown = []
    for label, energy, values in levels:
        keep = (energy > PLOT_FROM_MEV) & np.isfinite(values)
        shown.append((label, energy[keep], normalised_above(energy[keep], values[keep],
                                                           args.scale_above)))
    step = 0.8 * max(float(np.max(curve[energy > args.scale_above]))
                     for _, energy, curve in shown)
    top = 0.0
    for offset, (label, energy, curve) in enumerate(shown):
        axes[0].plot(energy, curve + offset * step, label=label)
        top = max(top, float(energy[curve > 0.02 * np.max(curve)].max()))
    axes[0].set_ylim(-0.2 * step, 3.2 * step)
    axes[0].set_xlim(0, 1.1 * top)
    axes[0].set_xlabel("Energy transfer (meV)")
    axes[0].set_ylabel("S(w), equal area above "
                       f"{args.scale_above:g} meV, offset")
    axes[0].set_title(f"{Path(structure).stem} at TOSCA, {args.temperature:g} K (cf. Fig. 5a)",
                      fontsize=10)
    axes[0].legend(fontsize=8)
    if temperature.harmonic is not None:
        energy, values = spectrum_1d(temperature.harmonic)
        axes[1].plot(energy, values, color="tab:green")
        axes[1].set_xlim(0, 1.1 * top)
        axes[1].set_xlabel("Energy transfer (meV)")
        axes[1].set_title("harmonic, same model, TOSCA (phonopy + abinslib)", fontsize=10)
    figure.tight_layout()
    path = args.output_dir / "ice_tosca_steps.png"
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    print(f"figures: {path}, {result.files['figure']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
