"""Crystalline silicon at ARCS (the paper's section 3.1, Fig. 2): coherent scattering over many
Brillouin zones, at 300 K and a higher temperature, and the intensity at the X point.

What it does, with mdinsim's public functions:

1. ``mantid_mdinsim.predict.predict``: NPT equilibration then NVE MD at each temperature, the
   powder S(|Q|,w) (q-points up to 12 1/Angstrom) and ARCS (Ei ``--ei``): the quantum
   correction, the Debye-Waller factor divided out with the MD's own U and the 1/|Q|^2 weighting
   of the paper, with ARCS' resolution and kinematic limits.
2. The dispersion over many Brillouin zones (the paper's Fig. 2a,b): S(q,w) per q-point along
   Gamma-X-K-Gamma-L repeated in ``--zones`` zones (``compute_sqw(q_path=..., zones=...,
   per_q=True)``); each path point's zones go through the same instrument step at their own |Q|
   (with the extra w^2 of Fig. 2b) and the zones ARCS measures are averaged; the X point's
   curve is drawn for each temperature (mode softening and multi-phonon scattering at high T).

Model: the published general-purpose Si NEP (Fan et al. 2022, the paper's model) from
``../shared/data/nep/Si_2022_NEP4_3body.txt``; ``--model demo`` uses the model shipped with
mdinsim instead, and ``--model FILE`` any NEP4 file.

Small by default (216 atoms, 5 ps per temperature: a few minutes on two cores); the paper's run
is ``--supercell 12 --production-ps 100 --runs 5 --zones 52``. Figures:
``<output-dir>/prediction.png`` (powder maps and |Q|-averaged spectra) and
``<output-dir>/si_arcs_zones.png`` (zone-averaged dispersion, X-point intensity per temperature).

    python examples/si_arcs.py --output-dir si_arcs [--temperatures 300 900] [--harmonic]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from example_tools import progress, shared_model, timed

def zone_averaged_dispersion(temperature, args):
    """S(q, w) along the path, each path point averaged over the Brillouin zones ARCS reaches.

    Returns (path distances in 1/Angstrom, labels, energy in meV, intensity (n_path, n_energy),
    zones averaged per path point). Per q-point S (``per_q``) of every zone goes through the
    instrument step at its own |Q| (kinematics, resolution, quantum correction, Debye-Waller
    removed with the MD's U, 1/|Q|^2, and w^2 as in the paper's Fig. 2b), then the zones that
    measure a bin are averaged.
    """
    from mantid_mdinsim.instrument import apply_instrument
    from mantid_mdinsim.predict import drop_empty_shells
    from mantid_mdinsim.spectrum import Axis, Spectrum, Table
    from mantid_mdinsim.sqw import compute_sqw

    window = int(min(500, 0.25 * args.production_ps * 1000 / args.dump_fs))
    with progress(f"S(q,w) along the path, {temperature.temperature_k:g} K") as bar:
        result = compute_sqw(dict(trajectories=[str(p) for p in temperature.trajectories],
                                  time_step_fs=temperature.frame_interval_fs, window=window,
                                  q_path=args.q_path, zones=args.zones,
                                  q_max_inv_angstrom=args.q_max, per_q=True, seed=1), bar)
    items = {w.name: w for w in result.workspaces()}
    sqw, table = items["sqw"], items["qpoints"]
    assert isinstance(table, Table)
    distance = np.asarray(table.columns["path_distance"], dtype=float)
    zone = np.asarray(table.columns["zone"], dtype=int)
    labels = list(table.columns["label"])
    n_path = int(np.count_nonzero(zone == 0))
    norms = sqw.vertical_centres()
    rows, counts = [], []
    energy = None
    for point in range(n_path):
        members = np.arange(point, len(norms), n_path)
        members = members[norms[members] > 1e-9]  # q = 0 carries no inelastic scattering
        q = np.round(norms[members], 6)
        unique = np.unique(q)
        values = np.array([sqw.values[members][q == v].mean(axis=0) for v in unique])
        if len(unique) < 2:  # the instrument step needs two |Q| rows: repeat the one
            unique = np.array([unique[0], unique[0] * (1 + 1e-6)])
            values = np.vstack([values, values])
        by_q, _ = drop_empty_shells(Spectrum(
            x=sqw.x.copy(), values=values, vertical=Axis(values=unique, unit="MomentumTransfer"),
            name="sqw_path", logs=dict(sqw.logs)))  # |Q| bin edges between the rows, from 0
        measured = apply_instrument(by_q, instrument="ARCS", incident_energy_mev=args.ei,
                                    temperature_k=temperature.temperature_k, energy_min_mev=5.0,
                                    debye_waller="remove",
                                    mean_squared_displacement_angstrom2=(
                                        temperature.mean_squared_displacement_angstrom2),
                                    inverse_q_squared=True, omega_squared=True)
        spectrum = measured.spectrum
        energy = spectrum.x_centres()
        finite = np.isfinite(spectrum.values)
        with np.errstate(invalid="ignore"):
            rows.append(np.nanmean(np.where(finite, spectrum.values, np.nan), axis=0))
        counts.append(int(np.any(finite, axis=1).sum()))
    return distance[:n_path], labels[:n_path], energy, np.array(rows), counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output-dir", type=Path, default=Path("si_arcs"))
    parser.add_argument("--model", default=None,
                        help="NEP4 model file, or 'demo' for the shipped demo model (default: "
                             "the published Si_2022_NEP4_3body.txt in ../shared/data/nep)")
    parser.add_argument("--temperatures", type=float, nargs="+", default=[300.0, 900.0])
    parser.add_argument("--supercell", type=int, default=3,
                        help="repetitions of the 8-atom cubic cell along each axis")
    parser.add_argument("--production-ps", type=float, default=4.0)
    parser.add_argument("--equilibration-ps", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=1, help="independent runs per temperature")
    parser.add_argument("--dump-fs", type=float, default=10.0)
    parser.add_argument("--zones", type=int, default=12,
                        help="Brillouin zones of the path (the paper: 52)")
    parser.add_argument("--q-path", default="G-X-K-G-L", help="path of the dispersion")
    parser.add_argument("--q-count", type=int, default=1500,
                        help="q-points of the powder S(|Q|,w) for the ARCS map")
    parser.add_argument("--q-max", type=float, default=12.0, help="1/Angstrom")
    parser.add_argument("--ei", type=float, default=100.0, help="ARCS incident energy, meV")
    parser.add_argument("--harmonic", action="store_true",
                        help="also the harmonic spectrum of the same model, beside")
    args = parser.parse_args(argv)

    from ase.build import bulk
    from ase.io import write

    from mantid_mdinsim.predict import SILICON_MODEL, predict
    from mantid_mdinsim.predict.report import report_text

    if args.model == "demo":
        model = SILICON_MODEL
    elif args.model:
        model = Path(args.model)
    else:
        model = shared_model("Si_2022_NEP4_3body.txt", "give --model demo (the model shipped "
                             "with mdinsim) or --model FILE")
    args.output_dir.mkdir(parents=True, exist_ok=True)
    structure = args.output_dir / "si_cubic.xyz"
    write(structure, bulk("Si", "diamond", a=5.431, cubic=True), format="extxyz")

    with timed("MD, S(q,w) and ARCS"), progress("si at ARCS") as bar:
        result = predict(dict(
            structure=str(structure), model=str(model), supercell=[args.supercell] * 3,
            temperature_k=args.temperatures, time_step_fs=2.0, equilibration="npt",
            equilibration_time_ps=args.equilibration_ps, pressure_gpa=0.0,
            production_time_ps=args.production_ps, dump_interval_fs=args.dump_fs,
            number_of_runs=args.runs, max_frequency_mev=70.0, q_count=args.q_count,
            q_max_inv_angstrom=args.q_max, instrument="ARCS",
            incident_energy_mev=args.ei, energy_min_mev=5.0, debye_waller="remove",
            inverse_q_squared=True, harmonic=args.harmonic,
            output_dir=str(args.output_dir)), bar)
    print(report_text(result.report))

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from mantid_mdinsim.io.atomic import atomic_path

    temperatures = result.temperatures
    figure = Figure(figsize=(6 * (len(temperatures) + 1) * 0.75, 4.5))
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(temperatures) + 1, squeeze=False)[0]
    with timed("dispersion in the Brillouin zones"):
        for ax, temperature in zip(axes, temperatures):
            distance, labels, energy, intensity, counts = zone_averaged_dispersion(
                temperature, args)
            shown = np.ma.masked_invalid(intensity.T)
            ax.pcolormesh(distance, energy, shown, shading="nearest",
                          vmax=np.nanpercentile(intensity, 99))
            ticks = [(d, name) for d, name in zip(distance, labels) if name]
            ax.set_xticks([d for d, _ in ticks], [n.replace("G", "Gamma") for _, n in ticks])
            ax.set_ylabel("Energy transfer (meV)")
            ax.set_title(f"{temperature.temperature_k:g} K, zone-averaged (w^2 S / |Q|^2)",
                         fontsize=9)
            # The X point: first path point labelled X.
            x_index = labels.index("X")
            curve = intensity[x_index]
            top = np.nanmax(curve)
            axes[-1].plot(energy, curve / top, label=f"{temperature.temperature_k:g} K "
                          f"({counts[x_index]} zones)")
            interior = curve[1:-1]
            peaks = energy[1:-1][(interior > curve[:-2]) & (interior > curve[2:])
                                 & (interior > 0.2 * top)]
            print(f"X point, {temperature.temperature_k:g} K: peaks at "
                  f"{', '.join(f'{p:.1f}' for p in peaks)} meV ({counts[x_index]} zones)")
    ax = axes[-1]
    ax.set_xlabel("Energy transfer (meV)")
    ax.set_ylabel("w^2 S(X, w), normalised")
    ax.set_title(f"X point, ARCS Ei = {args.ei:g} meV (cf. paper Fig. 2b,c)", fontsize=9)
    ax.legend(fontsize=8)
    figure.tight_layout()
    path = args.output_dir / "si_arcs_zones.png"
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    print(f"figures: {result.files['figure']}, {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
