"""The protocol in steps, the sampling checks against the fastest vibration, and the
parameter errors a user meets first."""

from __future__ import annotations

import math

import pytest
from scipy import constants

from mantid_mdinsim.errors import ParameterError
from mantid_mdinsim.md.frequencies import max_dump_interval_fs, nyquist_energy_mev
from mantid_mdinsim.md.parameters import MD_PARAMETERS
from mantid_mdinsim.md.protocol import build_protocol, run_seed, run_specs

BASE = dict(structure="s.xyz", model="nep.txt", output_dir="out", temperature_k=[300.0])


def protocol(max_frequency_mev=None, **changes):
    return build_protocol(MD_PARAMETERS.resolve({**BASE, **changes}), max_frequency_mev)


def test_durations_and_intervals_become_whole_steps():
    p = protocol(time_step_fs=2.0, equilibration_time_ps=10.0, production_time_ps=1.0,
                 dump_interval_fs=14.0, checkpoint_interval_ps=0.1)
    assert p.equilibration_steps == 5000
    assert p.dump_steps == 7 and p.dump_interval_fs == 14.0
    # production rounds to whole frames: 1000 fs / 14 fs -> 71 frames
    assert p.number_of_frames == 71 and p.production_steps == 71 * 7
    assert p.checkpoint_steps % p.dump_steps == 0      # checkpoints fall on frames
    assert p.thermo_steps == p.dump_steps              # default thermo interval
    assert p.production_start_fs == 10000.0


def test_nyquist_limit_is_pi_hbar_over_the_dump_interval():
    # Independent numbers from CODATA: pi * hbar / 14 fs in meV (the paper's Si dump interval).
    hbar_mev_fs = constants.hbar / constants.e * 1e3 * 1e15
    assert nyquist_energy_mev(14.0) == pytest.approx(math.pi * hbar_mev_fs / 14.0)
    assert nyquist_energy_mev(14.0) == pytest.approx(147.7, abs=0.1)
    # Si's optical phonon (64 meV) is resolved by the paper's 14 fs, not by 40 fs frames.
    protocol(max_frequency_mev=64.0, time_step_fs=2.0, dump_interval_fs=14.0)
    with pytest.raises(ParameterError) as error:
        protocol(max_frequency_mev=64.0, time_step_fs=2.0, dump_interval_fs=40.0)
    message = str(error.value)
    assert "dump_interval_fs" in message and "64.0 meV" in message
    assert f"dump every {math.floor(max_dump_interval_fs(64.0) / 2.0) * 2.0:g} fs" in message
    # Benzene's C-H stretch (~390 meV): the paper's 3 fs resolves it, 10 fs does not.
    protocol(max_frequency_mev=390.0, time_step_fs=0.5, dump_interval_fs=3.0)
    with pytest.raises(ParameterError, match="cannot resolve the fastest vibration"):
        protocol(max_frequency_mev=390.0, time_step_fs=0.5, dump_interval_fs=10.0)


def test_time_step_against_the_fastest_period():
    # C-H stretch, period 10.6 fs: 1 fs is accepted with a warning, 2 fs (omega*dt > 1) refused.
    noted = protocol(max_frequency_mev=390.0, time_step_fs=1.0, dump_interval_fs=3.0)
    assert any("shortest vibrational period" in w for w in noted.warnings)
    with pytest.raises(ParameterError, match="time_step_fs.*unstable"):
        protocol(max_frequency_mev=390.0, time_step_fs=2.0, dump_interval_fs=4.0)


@pytest.mark.parametrize("changes, text", [
    (dict(dump_interval_fs=15.0, time_step_fs=2.0), "15 fs is not a whole number of time steps"),
    (dict(thermo_interval_fs=3.0, time_step_fs=2.0), "thermo_interval_fs"),
    (dict(production="trpmd"), "trpmd needs a path-integral equilibration"),
    (dict(equilibration="pimd_nvt", number_of_beads=7), "odd"),
    (dict(production_time_ps=0.01, dump_interval_fs=10.0), "fewer than two frames"),
    (dict(equilibration_time_ps=0.0001), "shorter than one time step"),
])
def test_inconsistent_protocols_are_refused(changes, text):
    with pytest.raises(ParameterError, match=text):
        protocol(**changes)


@pytest.mark.parametrize("name, value, text", [
    ("temperature_k", [300.0, -10.0], "must be > 0 and <= 100000 K"),
    ("time_step_fs", 0.0, "must be > 0 and <= 20 fs"),
    ("pressure_gpa", -500.0, "must be >= -100 and <= 1000 GPa"),
    ("supercell", [2, 0, 2], "must be >= 1"),
    ("number_of_beads", 1, "must be >= 2"),
    ("equilibration", "npe", "choose one of: npt, nvt, pimd_npt, pimd_nvt, none"),
])
def test_non_physical_values_name_the_parameter(name, value, text):
    with pytest.raises(ParameterError) as error:
        MD_PARAMETERS.resolve({**BASE, name: value})
    assert f"parameter '{name}'" in str(error.value) and text in str(error.value)


def test_seeds_differ_per_run_and_ignore_the_order_of_temperatures(tmp_path):
    a = run_specs(MD_PARAMETERS.resolve({**BASE, "temperature_k": [300.0, 900.0],
                                         "number_of_runs": 2}), tmp_path)
    b = run_specs(MD_PARAMETERS.resolve({**BASE, "temperature_k": [900.0, 300.0],
                                         "number_of_runs": 2}), tmp_path)
    assert {(s.temperature_k, s.run_index, s.seed) for s in a} == \
        {(s.temperature_k, s.run_index, s.seed) for s in b}
    assert len({s.seed for s in a}) == 4
    assert a[1].directory == tmp_path / "T_300K" / "run_001"
    assert 0 < run_seed(2**31 - 2, 1e5, 9999) < 2**31
    with pytest.raises(ParameterError, match="given twice"):
        run_specs(MD_PARAMETERS.resolve({**BASE, "temperature_k": [300.0, 300.0]}), tmp_path)


@pytest.mark.parametrize("changes, steps", [
    ({"equilibration": "pimd_npt"}, 500),                    # 5 x 100 fs at 1 fs, 10-step rows
    ({"equilibration": "pimd_nvt", "thermostat_coupling_fs": 33.0, "dump_interval_fs": 7.0},
     168),                                                  # 165 steps up to whole 7-step rows
    ({"equilibration": "pimd_npt", "production": "trpmd"}, 0),   # the ring polymer goes on
    ({"equilibration": "nvt"}, 0),                          # classical already
])
def test_classical_production_after_pimd_is_thermalised_first(changes, steps):
    p = protocol(equilibration_time_ps=1.0, **changes)
    assert p.thermalisation_steps == steps
    assert p.production_first_step == p.equilibration_steps + steps
    assert p.production_start_fs == (1000 + steps) * p.time_step_fs
    assert p.total_steps == p.production_first_step + p.production_steps


def test_runs_made_before_the_thermalisation_rule_are_not_reused(tmp_path):
    """A folder of PIMD + NVE runs recorded before issue 18 (cold NVE) lacks the rule's key in
    its identity: the MD step refuses to take its runs for new ones (ParameterError naming it)."""
    from mantid_mdinsim.md.core import _identity, _prepare_output_dir
    from mantid_mdinsim.md.parameters import MDSettings

    (tmp_path / "s.xyz").write_text("x")
    (tmp_path / "nep.txt").write_text("y")
    values = {**BASE, "structure": str(tmp_path / "s.xyz"), "model": str(tmp_path / "nep.txt"),
              "equilibration": "pimd_npt", "production": "nve"}
    identity = _identity(MDSettings.from_values(values), "cpu-ipi")
    assert identity["thermalisation_thermostat_times"] == 5.0
    old = {k: v for k, v in identity.items() if k != "thermalisation_thermostat_times"}
    folder = tmp_path / "runs"
    folder.mkdir()
    _prepare_output_dir(folder, old, overwrite=False)     # records the old identity
    with pytest.raises(ParameterError, match="thermalisation_thermostat_times"):
        _prepare_output_dir(folder, identity, overwrite=False)
    classical = _identity(MDSettings.from_values({**values, "equilibration": "npt"}), "cpu")
    assert "thermalisation_thermostat_times" not in classical
