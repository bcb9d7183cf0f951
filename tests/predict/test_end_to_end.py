"""The chain on a tiny system: its spectrum has its peaks at the model's harmonic phonon energies,
an interrupted run resumes without repeating MD, and every stage's files are valid."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mantid_mdinsim.io.nexus import load_processed_nexus
from mantid_mdinsim.predict import find_peaks_mev, spectrum_1d
from mantid_mdinsim.spectrum import Spectrum


def test_md_peaks_lie_at_the_models_harmonic_phonons(tiny_prediction, commensurate_modes_mev):
    _, _, result, _ = tiny_prediction
    # The full S(q,w) (coherent + incoherent, what TOSCA measures), drawn beside the incoherent
    # approximation that the harmonic comparison shows.
    energy, values = spectrum_1d(result.temperatures[0].full_spectrum)
    step = float(energy[1] - energy[0])  # the MD energy resolution, about 2 meV here
    # The clear peaks (the weaker ones at 150 K include two-phonon scattering at TOSCA's large
    # |Q|, e.g. about 72 meV = TA + TO).
    peaks = sorted(find_peaks_mev(energy, values, prominence_fraction=0.08))
    assert len(peaks) >= 3
    modes = commensurate_modes_mev
    # 150 K is nearly harmonic: every strong peak lies within one energy step of a mode (the
    # modes leave gaps of 5-7 meV at 23-28, 28-35 and 35-41 meV).
    for peak in peaks:
        assert np.min(np.abs(modes - peak)) <= step, (peak, modes)
    # The lowest strong peak is acoustic (the TA modes at X and L, 13.9-18.3 meV), the highest
    # is optical (55.5-60.8 meV): a wrong frame interval or unit would move them out.
    assert modes[0] - step <= peaks[0] <= 18.3 + step
    assert 55.46 - step <= peaks[-1] <= modes.max() + 1.0


def test_the_harmonic_comparison_has_the_same_optical_peak(tiny_prediction):
    _, _, result, _ = tiny_prediction
    md_peaks = find_peaks_mev(*spectrum_1d(result.temperatures[0].spectrum))
    harmonic_peaks = find_peaks_mev(*spectrum_1d(result.temperatures[0].harmonic))
    # The strongest peak above 40 meV of each (the optical band, 55-61 meV).
    md_optical = next(p for p in md_peaks if p > 40)
    harmonic_optical = next(p for p in harmonic_peaks if p > 40)
    assert 54.0 < md_optical < 62.0 and abs(md_optical - harmonic_optical) < 2.5
    # The harmonic spectrum went through TOSCA too, without the MD's quantum correction.
    assert result.temperatures[0].harmonic.logs["instrument_name"] == "TOSCA"
    assert result.temperatures[0].harmonic.logs["quantum_correction_applied"] == 0


def test_an_interrupted_run_resumes_without_repeating_md(tiny_prediction):
    progress, state_after_interrupt, result, folder = tiny_prediction
    # The first run got through MD (progress reported past it) and recorded MD alone.
    assert any("MD" in message or "run" in message for _, message in progress.messages)
    state = json.loads(state_after_interrupt)
    assert list(state) == ["md"]
    # The second run (MD forbidden) skipped MD and ran the rest.
    assert result.stages["md"] == "skipped"
    assert result.stages["sqw 150K"] == "ran"
    assert result.stages["instrument 150K"] == "ran"
    assert (folder / "md" / "T_150K" / "run_000" / "trajectory.nc").is_file()


def test_a_third_run_skips_every_stage_and_gives_the_same_spectrum(tiny_prediction):
    from mantid_mdinsim.predict import predict

    from .conftest import TINY

    _, _, first, folder = tiny_prediction
    again = predict(dict(TINY, output_dir=str(folder)))
    assert set(again.stages.values()) == {"skipped"}
    np.testing.assert_array_equal(again.temperatures[0].spectrum.values,
                                  first.temperatures[0].spectrum.values)


def test_stage_files_are_processed_nexus_with_provenance(tiny_prediction):
    _, _, result, folder = tiny_prediction
    sqw = {w.name: w for w in load_processed_nexus(folder / "sqw_150K.nxs")}
    assert sqw["sqw"].x.unit == "DeltaE" and sqw["sqw"].vertical.unit == "MomentumTransfer"
    # The q-range follows TOSCA: its backward bank reaches about 11 1/Angstrom at the highest
    # energy of S(q,w) (pi hbar / 10 fs = 207 meV).
    assert 9.0 < float(sqw["sqw"].logs["q_max_inv_angstrom"]) < 13.0
    tosca = [w for w in load_processed_nexus(folder / "TOSCA_150K.nxs") if isinstance(w, Spectrum)]
    assert [w.name for w in tosca] == ["sqw_TOSCA", "sqw_TOSCA_Forward", "sqw_TOSCA_Backward"]
    assert tosca[0].logs["temperature_k_used"] == 150.0
    assert tosca[0].logs["quantum_correction_applied"] == 1
    # With the harmonic comparison the MD curve is the incoherent approximation (like for like)
    # and the full S(q,w) goes through TOSCA beside it; every file says which it holds.
    assert tosca[0].logs["scattering_approximation"] == "incoherent"
    assert tosca[0].logs["input_elastic_line_left_out"] == 1
    full = [w for w in load_processed_nexus(folder / "TOSCA_150K_full.nxs")
            if isinstance(w, Spectrum)]
    assert full[0].logs["scattering_approximation"] == "full"
    assert sqw["sqw_full"].logs["scattering_approximation"] == "full"
    harmonic = load_processed_nexus(folder / "harmonic_150K.nxs")
    assert any(w.name == "harmonic_TOSCA" for w in harmonic)
    assert {w.logs["scattering_approximation"] for w in harmonic
            if isinstance(w, Spectrum)} == {"incoherent"}
    assert (folder / "harmonic_phonopy.yaml").is_file()
    for name in ("prediction.png", "TOSCA_150K.png", "sqw_150K.png"):
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = json.loads((folder / "report.json").read_text())
    assert report["temperatures"][0]["peaks_mev"] == find_peaks_mev(
        *spectrum_1d(result.temperatures[0].spectrum))
    assert report["parameters"]["instrument"] == "TOSCA"
    entry = report["temperatures"][0]
    assert entry["curve_approximations"] == {"MD": "incoherent", "MD full": "full",
                                             "harmonic": "incoherent"}
    assert entry["like_for_like"] is True
    # Si: sigma_coh / sigma_tot = 2.1633 / 2.167 barn (Sears 1992).
    assert entry["coherent_fraction"] == pytest.approx(2.1633 / 2.167, rel=1e-3)
    # The optical peak (55-61 meV) is matched between MD and harmonic, shift in meV.
    optical = [m for m in entry["peak_matches"]["matched"] if m["harmonic_mev"] > 50]
    assert optical and abs(optical[0]["shift_mev"]) < 2.5
    assert optical[0]["shift_mev"] == pytest.approx(optical[0]["md_mev"]
                                                   - optical[0]["harmonic_mev"], abs=1e-3)
    # U of Si at 150 K from MD: about 0.0045 Angstrom^2 per direction, 3x that in total
    # (harmonic estimate <u^2> ~ 3 kT / (m w^2) with the Debye frequency).
    assert 0.003 < report["temperatures"][0]["mean_squared_displacement_angstrom2"] < 0.03
    assert "T = 150 K" in (folder / "report.txt").read_text()


def test_command_line_resumes_the_same_prediction(tiny_prediction, capsys):
    from mantid_mdinsim.cli import main

    from .conftest import TINY

    _, _, first, folder = tiny_prediction
    argv = ["predict", TINY["structure"], "--model", TINY["model"], "--output-dir", str(folder),
            "--instrument", "tosca", "--supercell", "2", "2", "2", "--temperature", "150",
            "--time-step-fs", "2", "--equilibration", "nvt", "--equilibration-time-ps", "0.5",
            "--production-time-ps", "4", "--dump-interval-fs", "10", "--number-of-runs", "1",
            "--processes", "1", "--seed", "7", "--max-frequency-mev", "70", "--backend", "cpu",
            "--q-count", "400", "--energy-min", "3", "--harmonic"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    # The same parameters from the command line (instrument name in any case): nothing redone.
    assert "stages: md skipped, sqw 150K skipped, instrument 150K skipped, harmonic 150K " \
           "skipped" in out
    peaks = ", ".join(f"{p:.1f}" for p in sorted(first.report["temperatures"][0]["peaks_mev"]))
    assert f"MD (incoherent approximation) peaks (meV): {peaks}" in out
    assert "peaks matched, harmonic -> MD" in out
