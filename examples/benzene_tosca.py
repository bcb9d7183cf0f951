"""Crystalline benzene at TOSCA, 127 K, end to end (the paper's Fig. 5): MD beside harmonic.

With the shipped NEP (``examples/benzene_model/``, trained on GFN1-xTB by
``benzene_tosca_train.py``) this runs ``mdinsim predict``'s chain
(:func:`mantid_mdinsim.predict.predict`):

1. **MD at 127 K** (the paper's temperature, and that of its TOSCA measurement), CPU backend
   (ASE + calorine's CPUNEP), 0.5 fs steps, frames every 3 fs (the paper's settings): NVT
   equilibration in the fixed cell of the GFN1-xTB structure, then classical NVE runs. The
   paper equilibrated in path-integral NPT, because classical NPT underestimates benzene's
   volume at low temperature; ``--equilibration pimd_npt`` does that here (i-PI with the
   NEP in its own process, ``--beads`` beads, 8 by default, barostat ``--barostat-fs``),
   about 0.1 processor-s per step for 96 atoms and 8 beads, and ``--equilibration npt``
   classical NPT. The shipped model's minimum along the rigid-molecule path is GFN1-xTB's
   (within 0.6 % in cell length), but 7-10 % out it holds the molecules with about 40 % of
   GFN1-xTB's energy, and in PIMD NPT the cell grows by about a third (+17 % and growing
   after 1 ps with 8 beads, +32 % settled with 4 beads): the default keeps the reference method's cell (examples/README.md,
   "Benzene at TOSCA", Cohesion). The production volume against the reference cell is
   printed and kept in ``benzene_tosca_peaks.json``.
2. **S(q,w)** (dynasor) in the incoherent approximation: hydrogen's incoherent cross section
   (80 of 82 barn) dominates benzene's scattering, and this is the like-for-like partner of the
   harmonic (AbINS-style) spectrum.
3. **TOSCA**: both banks' kinematics (|Q|(w) lines), resolution and the quantum correction
   (detailed balance) of the classical MD spectrum.
4. **Harmonic spectrum of the same model** (phonopy + abinslib, the project's ``harmonic``
   step, on the given structure with its atoms relaxed: the MD's cell with NVT, the
   reference cell, not the NPT one, with ``npt``/``pimd_npt``) through the same instrument, and with ``--ensemble`` (the
   default: the model's shipped ensemble) the spread of each harmonic peak over the ensemble's
   models: the model's own error bar in meV.

Writes ``<output-dir>/benzene_tosca_spectra.csv`` (energy, MD and harmonic intensities, each
scaled to unit area above ``--scale-above`` meV), ``benzene_tosca.png`` beside it,
``benzene_tosca_peaks.json`` (the peaks of each curve, the measured bands they are compared
with and the model's ensemble spread), plus everything ``mdinsim predict`` writes.

    .venv/bin/python examples/benzene_tosca.py --output-dir benzene_tosca

Default size (minutes on two cores): 96 atoms (2 x 1 x 1 cells), NVT equilibration 0.5 ps in
the cell of the GFN1-xTB structure, two NVE runs of 2 ps (the shipped model keeps its
temperature in NVE for 2.5 ps, checked; the previous one heated without bound after 1 ps:
examples/README.md, "Benzene at TOSCA"). The paper: 57 024 atoms, PIMD with 32 beads,
ten 1 ns runs (``--supercell``, ``--beads``, ``--production-ps``, ``--runs``; GPUMD on a GPU:
``--backend gpumd``, which needs a NEP the GPU code reads).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
MODEL_DIRECTORY = HERE / "benzene_model"
MODEL = MODEL_DIRECTORY / "benzene_gfn1xtb_NEP4.txt"
STRUCTURE = MODEL_DIRECTORY / "benzene_pbca_gfn1xtb.xyz"
ENSEMBLE = tuple(sorted(MODEL_DIRECTORY.glob("benzene_gfn1xtb_NEP4_ensemble*.txt")))
TEMPERATURE_K = 127.0
#: Above the elastic line and the lattice modes' quasi-elastic tail: the internal modes that
#: TOSCA resolves best. The curves share their area above SCALE_ABOVE_MEV (the paper scaled
#: benzene's spectra to the experiment above 50 meV).
PLOT_FROM_MEV = 5.0
PLOT_TO_MEV = 200.0
SCALE_ABOVE_MEV = 40.0
#: Peaks listed: local maxima above PEAKS_FROM_MEV standing out by PEAK_PROMINENCE of the
#: curve's maximum, at most MAX_PEAKS.
PEAKS_FROM_MEV = 20.0
#: The correlation window (frames of 3 fs): 1.2 ps, an energy grid of 1.7 meV, within the 2 ps
#: runs. TOSCA's resolution is about 1.25 % of the energy transfer (1 meV at 80 meV; ISIS INS
#: database, http://wwwisis2.isis.rl.ac.uk/insdatabase/spectra.htm); the harmonic spectrum is
#: binned on this grid too. The previous model's 0.5 ps window (4.3 meV, all its 1 ps runs
#: allowed) merged neighbouring bands.
WINDOW_FRAMES = 400
PEAK_PROMINENCE = 0.03
MAX_PEAKS = 20

#: The measured fundamentals of benzene (cm^-1; mode number: symmetry, wavenumber): the NIST
#: Computational Chemistry Comparison and Benchmark Database (CCCBDB), experimental data for
#: C6H6, "Vibrational levels", values of Shimanouchi, Tables of Molecular Vibrational
#: Frequencies Consolidated Vol. I (NSRDS-NBS 39, 1972). Free-molecule values: in the crystal
#: the bands split and the out-of-plane modes shift by a few meV.
#: No solid-state (TOSCA, or crystal IR/Raman) band positions could be read here, so none
#: replace them: examples/README.md, "Published solid-state bands", lists the searches.
CCCBDB_FUNDAMENTALS_CM1 = {
    1: ("A1g", 3062.0), 2: ("A1g", 992.0), 3: ("A2g", 1326.0), 4: ("A2u", 673.0),
    5: ("B1u", 3068.0), 6: ("B1u", 1010.0), 7: ("B2g", 995.0), 8: ("B2g", 703.0),
    9: ("B2u", 1310.0), 10: ("B2u", 1150.0), 11: ("E1g", 849.0), 12: ("E1u", 3063.0),
    13: ("E1u", 1486.0), 14: ("E1u", 1038.0), 15: ("E2g", 3047.0), 16: ("E2g", 1596.0),
    17: ("E2g", 1178.0), 18: ("E2g", 606.0), 19: ("E2u", 975.0), 20: ("E2u", 410.0)}
#: The bands compared with the prediction: modes with large hydrogen amplitude (TOSCA's strong
#: bands) in the window where TOSCA's resolution separates them.
COMPARED_MODES = (20, 18, 4, 8, 11, 19, 17)
MEV_PER_CM1 = 0.12398
MEASURED_SOURCE = ("NIST CCCBDB, experimental vibrational levels of C6H6 (Shimanouchi, "
                   "NSRDS-NBS 39, 1972), https://cccbdb.nist.gov/exp2x.asp?casno=71432")


def band_name(mode: int) -> str:
    symmetry, wavenumber = CCCBDB_FUNDAMENTALS_CM1[mode]
    return f"nu{mode} {symmetry} ({wavenumber:g} cm-1)"


def measured_mev() -> dict[str, float]:
    """The compared bands (meV), by name."""
    return {band_name(mode): round(CCCBDB_FUNDAMENTALS_CM1[mode][1] * MEV_PER_CM1, 2)
            for mode in COMPARED_MODES}


def all_fundamentals_mev() -> tuple[np.ndarray, list[int]]:
    """The 30 molecular frequencies (E modes twice), ascending (meV), and the mode number of
    each."""
    entries = sorted((wavenumber, mode) for mode, (symmetry, wavenumber)
                     in CCCBDB_FUNDAMENTALS_CM1.items()
                     for _ in range(2 if symmetry.startswith("E") else 1))
    return (np.array([w for w, _ in entries]) * MEV_PER_CM1, [m for _, m in entries])


def nearest_peaks(peaks_mev, references_mev: dict[str, float]) -> dict[str, float | None]:
    """For each reference band, the nearest peak of ``peaks_mev`` (None if there is none)."""
    peaks = np.asarray(sorted(peaks_mev), dtype=float)
    if peaks.size == 0:
        return {name: None for name in references_mev}
    return {name: float(peaks[np.argmin(np.abs(peaks - value))])
            for name, value in references_mev.items()}


def even_beads(text: str) -> int:
    """``--beads``: an even number of at least 2 (GPUMD's ring polymers; i-PI's runs share
    the core's rule), refused by argparse before anything runs."""
    value = int(text)
    if value < 2 or value % 2:
        raise argparse.ArgumentTypeError(f"{value} beads: give an even number of at least 2 "
                                         "(8 at 127 K: examples/README.md, PIMD)")
    return value


def positive_fs(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} fs: give a time above 0")
    return value


def production_volume(trajectories, structure: Path, supercell) -> dict:
    """The production runs' mean cell volume (from each run's thermo table) against the
    reference cell (``structure`` x ``supercell``), Angstrom^3 and percent."""
    import ase.io

    from mantid_mdinsim.md import read_thermo_csv
    from mantid_mdinsim.md.outputs import THERMO_NAME

    reference = float(ase.io.read(structure).get_volume() * np.prod(supercell))
    volumes = []
    for trajectory in trajectories:
        thermo = read_thermo_csv(Path(trajectory).parent / THERMO_NAME)
        volumes.append(thermo["volume_angstrom3"][thermo["phase"] == "production"].mean())
    mean = float(np.mean(volumes))
    return {"reference_angstrom3": round(reference, 2), "production_angstrom3": round(mean, 2),
            "change_percent": round(100.0 * (mean / reference - 1.0), 2)}


def band_table(peaks: dict, stated_error_mev: dict[str, float]) -> str:
    """The comparison of examples/README.md as Markdown rows: for each measured band the
    nearest peak of each curve and its shift, marked "(outside)" beyond the stated error."""
    def cell(curve: str, name: str) -> str:
        value = peaks[f"{curve}_nearest_to_measured_mev"][name]
        if value is None:
            return "-"
        shift = value - peaks["measured_mev"][name]
        outside = "" if abs(shift) <= stated_error_mev[name] else " (outside)"
        return f"{value:.1f} ({shift:+.1f}){outside}"

    rows = ["| band | measured | harmonic, NEP, TOSCA | MD, NEP, TOSCA | stated error |",
            "| --- | --- | --- | --- | --- |"]
    for name, value in peaks["measured_mev"].items():
        rows.append(f"| {name} | {value:.1f} | {cell('harmonic', name)} | {cell('md', name)} "
                    f"| {stated_error_mev[name]:.1f} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output-dir", type=Path, default=Path("benzene_tosca"))
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--structure", type=Path, default=STRUCTURE)
    parser.add_argument("--ensemble", type=Path, nargs="*", default=list(ENSEMBLE),
                        help="models of the ensemble for the harmonic peaks' spread "
                             "(default: the shipped ensemble; none to skip)")
    parser.add_argument("--supercell", type=int, nargs=3, default=[2, 1, 1])
    parser.add_argument("--equilibration", default="nvt", choices=("nvt", "npt", "pimd_npt"))
    parser.add_argument("--beads", type=even_beads, default=8,
                        help="ring-polymer beads of pimd_npt (8: examples/README.md, "
                             "'Benzene at TOSCA', bead convergence)")
    parser.add_argument("--barostat-fs", type=positive_fs, default=200.0,
                        help="barostat relaxation time of npt and pimd_npt (fs): short "
                             "enough for the volume to settle within --equilibration-ps")
    parser.add_argument("--equilibration-ps", type=float, default=0.5)
    parser.add_argument("--production-ps", type=float, default=2.0)
    parser.add_argument("--window-frames", type=int, default=WINDOW_FRAMES,
                        help="correlation window in frames of 3 fs (the energy grid is "
                             "4.136 meV ps / (2 x window x 3 fs))")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--backend", default="cpu", choices=("auto", "cpu", "gpumd"))
    parser.add_argument("--scale-above", type=float, default=SCALE_ABOVE_MEV,
                        help="meV: the curves share their area above this energy")
    args = parser.parse_args(argv)

    from example_tools import normalised_above, progress, timed

    from mantid_mdinsim.io.atomic import atomic_path, write_text_atomic
    from mantid_mdinsim.predict import predict, spectrum_1d
    from mantid_mdinsim.predict.report import find_peaks_mev, report_text

    args.output_dir.mkdir(parents=True, exist_ok=True)
    parameters = dict(
        structure=str(args.structure), model=str(args.model), supercell=args.supercell,
        temperature_k=[TEMPERATURE_K], time_step_fs=0.5, equilibration=args.equilibration,
        equilibration_time_ps=args.equilibration_ps, pressure_gpa=0.0, bulk_modulus_gpa=8.0,
        production_time_ps=args.production_ps, dump_interval_fs=3.0, number_of_runs=args.runs,
        seed=2025, backend=args.backend, max_frequency_mev=420.0, q_count=600,
        approximation="incoherent", instrument="TOSCA", energy_min_mev=PLOT_FROM_MEV,
        harmonic=True, harmonic_supercell=[2, 1, 2], window=args.window_frames,
        output_dir=str(args.output_dir))
    if args.equilibration == "pimd_npt":
        parameters["number_of_beads"] = args.beads
    if args.equilibration in ("npt", "pimd_npt"):
        parameters["barostat_coupling_fs"] = args.barostat_fs
    if args.ensemble:
        parameters["ensemble"] = [str(path) for path in args.ensemble]
    with timed("MD, S(q,w), TOSCA and the harmonic spectrum"), \
            progress("benzene at TOSCA") as bar:
        result = predict(parameters, bar)
    print(report_text(result.report))
    temperature = result.temperatures[0]

    md_energy, md_values = spectrum_1d(temperature.spectrum)
    harmonic_energy, harmonic_values = spectrum_1d(temperature.harmonic)
    keep = (md_energy >= PLOT_FROM_MEV) & (md_energy <= PLOT_TO_MEV)
    energy = md_energy[keep]
    md = normalised_above(energy, md_values[keep], args.scale_above)
    harmonic = normalised_above(energy, np.interp(energy, harmonic_energy, harmonic_values,
                                                  left=np.nan, right=np.nan), args.scale_above)
    # Every band standing out by PEAK_PROMINENCE (the report lists only the main ones).
    md_peaks = sorted(find_peaks_mev(energy, md, prominence_fraction=PEAK_PROMINENCE,
                                     max_peaks=MAX_PEAKS, min_energy_mev=PEAKS_FROM_MEV))
    harmonic_peaks = sorted(find_peaks_mev(energy, harmonic, prominence_fraction=PEAK_PROMINENCE,
                                           max_peaks=MAX_PEAKS, min_energy_mev=PEAKS_FROM_MEV))
    measured = measured_mev()
    spread = None
    if temperature.model_spread is not None:
        spread = [dict(p) for p in temperature.model_spread.peaks]
    peaks = {
        "temperature_k": TEMPERATURE_K,
        "model_sha256": hashlib.sha256(args.model.read_bytes()).hexdigest(),
        "md_peaks_mev": md_peaks, "harmonic_peaks_mev": harmonic_peaks,
        "measured_mev": measured, "measured_source": MEASURED_SOURCE,
        "md_nearest_to_measured_mev": nearest_peaks(md_peaks, measured),
        "harmonic_nearest_to_measured_mev": nearest_peaks(harmonic_peaks, measured),
        "ensemble_harmonic_peak_spread": spread,
        "energy_step_mev": round(float(energy[1] - energy[0]), 3),
        "cell_volume": production_volume(temperature.trajectories, args.structure,
                                         args.supercell),
        "md_protocol": {key: parameters[key] for key in (
            "supercell", "equilibration", "equilibration_time_ps", "production_time_ps",
            "number_of_runs", "time_step_fs", "dump_interval_fs", "window")}
        | {"number_of_beads": parameters.get("number_of_beads")},
    }
    write_text_atomic(args.output_dir / "benzene_tosca_peaks.json",
                      json.dumps(peaks, indent=1) + "\n")
    table = np.column_stack([energy, md, harmonic])
    data_path = args.output_dir / "benzene_tosca_spectra.csv"
    write_text_atomic(data_path, "energy_transfer_mev,md_incoherent_tosca,harmonic_tosca\n"
                      + "".join(f"{e:.4f},{m:.6g},{h:.6g}\n" for e, m, h in table))

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 5))
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    axes.plot(energy, md, label=f"MD (NEP, {TEMPERATURE_K:g} K, {args.equilibration} "
                                "equilibration), TOSCA")
    axes.plot(energy, harmonic, label="harmonic, same model, TOSCA", color="tab:green")
    top = float(np.nanmax(np.concatenate([md[energy > 20], harmonic[energy > 20]])))
    for name, value in measured.items():
        axes.axvline(value, color="0.6", lw=0.8, ls=":")
    axes.plot([], [], color="0.6", lw=0.8, ls=":", label="measured fundamentals (CCCBDB)")
    axes.set_xlim(PLOT_FROM_MEV, PLOT_TO_MEV)
    axes.set_ylim(0, 1.15 * top)
    axes.set_xlabel("Energy transfer (meV)")
    axes.set_ylabel(f"S(w), unit area above {args.scale_above:g} meV")
    axes.set_title("crystalline benzene at TOSCA (NEP trained on GFN1-xTB; cf. paper Fig. 5)",
                   fontsize=10)
    axes.legend(fontsize=8)
    figure.tight_layout()
    path = args.output_dir / "benzene_tosca.png"
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    print(json.dumps({key: peaks[key] for key in (
        "md_peaks_mev", "harmonic_peaks_mev", "md_nearest_to_measured_mev",
        "harmonic_nearest_to_measured_mev")}, indent=1))
    stated = json.loads((MODEL_DIRECTORY / "metrics.json").read_text())[
        "stated_error_mev_by_band"] if args.model == MODEL else None
    if stated is not None:
        print(band_table(peaks, stated))
    volume = peaks["cell_volume"]
    print(f"cell volume in production: {volume['production_angstrom3']:.1f} Angstrom^3, "
          f"{volume['change_percent']:+.1f} % against the reference cell "
          f"({volume['reference_angstrom3']:.1f} Angstrom^3)")
    print(f"data: {data_path}; figure: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
