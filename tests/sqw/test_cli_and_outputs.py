"""``mdinsim sqw`` end to end: the processed NeXus file Mantid loads, the PNG, the |Q| shell
average (against dynasor's), --per-q, progress, cancelling and resuming."""

import numpy as np
import pytest

from mantid_mdinsim.cli import build_parser, main
from mantid_mdinsim.errors import Cancelled
from mantid_mdinsim.io.nexus import load_processed_nexus
from mantid_mdinsim.progress import ProgressReporter
from mantid_mdinsim.spectrum import Spectrum, Table
from mantid_mdinsim.sqw import SQW_PARAMETERS, compute_sqw

from .harmonic import HarmonicCrystal, write_extxyz


@pytest.fixture(scope="module")
def trajectory(tmp_path_factory):
    crystal = HarmonicCrystal(cells=3, temperature_k=200.0, seed=5,
                              species=["Si" if i % 2 else "C" for i in range(27)])
    positions = crystal.positions(np.arange(300) * 10.0)
    return write_extxyz(tmp_path_factory.mktemp("cli") / "dump.xyz", positions, crystal.cell,
                        crystal.species, time_step_fs=10.0)


def test_help_documents_every_flag_with_its_unit():
    parser = build_parser(only="sqw")
    sub = parser._subparsers._group_actions[0].choices["sqw"]
    text = sub.format_help()
    for flag in ("--time-step-fs", "--window", "--q-max", "--q-count", "--q-file", "--q-path",
                 "--zones", "--per-q", "--weights", "--output"):
        assert flag in text
    assert "{neutron,xray,electron,none}" in text
    for parameter in SQW_PARAMETERS:
        if parameter.unit:
            assert f"Unit: {parameter.unit}" in parameter.describe()
    assert "Unit: fs" in text and "Unit: frames" in text and "Unit: 1/Angstrom" in text
    assert "1/Angstrom" in SQW_PARAMETERS["q_file"].doc


def test_cli_writes_a_processed_nexus_file_and_a_png(trajectory, tmp_path):
    output = tmp_path / "sqw.nxs"
    status = main(["sqw", str(trajectory), "--time-step-fs", "10", "--window", "40",
                   "--q-max", "3.0", "--q-count", "60", "--output", str(output)])
    assert status == 0
    assert output.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"
    assert output.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    workspaces = {w.name: w for w in load_processed_nexus(output)}
    assert {"sqw", "sqw_coherent", "sqw_incoherent", "sqw_coherent_C_C", "sqw_coherent_C_Si",
            "sqw_coherent_Si_Si", "sqw_incoherent_C", "sqw_incoherent_Si", "sw",
            "qpoints"} <= set(workspaces)
    sqw = workspaces["sqw"]
    assert isinstance(sqw, Spectrum) and sqw.distribution
    assert sqw.x.unit == "DeltaE" and sqw.vertical.unit == "MomentumTransfer"
    assert sqw.n_x == 81 and np.allclose(sqw.x.values, -sqw.x.values[::-1])
    assert np.all(np.diff(sqw.vertical.values) > 0)
    assert sqw.logs["mdinsim_step"] == "MDComputeSqw"
    assert sqw.logs["time_step_fs"] == 10.0 and sqw.logs["window"] == 40
    assert sqw.logs["b_coherent_fm_Si"] == pytest.approx(4.1491)
    assert "segments" in sqw.logs["errors_method"] or "none" in sqw.logs["errors_method"]
    # the total is the sum of the weighted partials
    partial_sum = sum(workspaces[name].values for name in workspaces
                      if name.startswith(("sqw_coherent_", "sqw_incoherent_")))
    finite = np.isfinite(sqw.values)
    np.testing.assert_allclose(sqw.values[finite], partial_sum[finite], rtol=1e-10)
    sw = workspaces["sw"]
    assert sw.vertical.labels[0] == "total" and sw.n_spectra == 8   # 3 parts, 3 + 2 partials
    table = workspaces["qpoints"]
    assert isinstance(table, Table) and table.units["qx"] == "1/Angstrom"


def test_shell_average_is_dynasors_gaussian_smearing(trajectory):
    from dynasor.post_processing.spherical_average import _get_gaussian_average

    common = dict(trajectories=[str(trajectory)], time_step_fs=10.0, window=20,
                  q_max_inv_angstrom=3.0, q_count=60, weights="neutron")
    per_q = compute_sqw(per_q=True, **common)
    shells = compute_sqw(q_width_inv_angstrom=0.01, q_step_inv_angstrom=0.02, **common)
    np.testing.assert_array_equal(per_q.q_points.indices, shells.q_points.indices)
    values = per_q.parts["total"][0]
    expected = _get_gaussian_average(per_q.q_points.cartesian, values, shells.rows_inv_angstrom,
                                     0.01)
    found = shells.parts["total"][0]
    populated = np.isfinite(found[:, 0])
    assert populated.sum() > 10 and not populated.all()   # gaps between |q| shells are empty
    np.testing.assert_allclose(found[populated], expected[populated], rtol=1e-10)
    # per-q: the vertical axis is |q| in the order of the q-list, the table has the vectors
    workspaces = {w.name: w for w in per_q.workspaces()}
    np.testing.assert_allclose(workspaces["sqw"].vertical.values,
                               np.linalg.norm(per_q.q_points.cartesian, axis=1))
    np.testing.assert_allclose(workspaces["qpoints"].columns["qx"], per_q.q_points.cartesian[:, 0])


def test_single_trajectory_errors_come_from_its_segments(trajectory):
    result = compute_sqw(trajectories=[str(trajectory)], time_step_fs=10.0, window=5,
                         q_max_inv_angstrom=3.0, q_count=30, per_q=True)
    assert result.logs["samples_for_errors"] >= 3
    values, errors = result.parts["total"]
    assert np.all(errors >= 0) and np.any(errors > 0)
    # errors are a modest fraction of the values where the signal is strong
    strong = values > 0.1 * values.max()
    assert np.median(errors[strong] / values[strong]) < 0.5


def test_progress_cancel_and_resume(trajectory, tmp_path):
    common = dict(trajectories=[str(trajectory)], time_step_fs=10.0, window=5,
                  q_max_inv_angstrom=3.0, q_count=30)
    reference = compute_sqw(**common)
    fractions = []
    compute_sqw(progress=ProgressReporter(lambda f, m: fractions.append(f)), **common)
    assert fractions[-1] == 1.0 and all(np.diff(fractions) >= 0)
    checkpoint = tmp_path / "sqw.checkpoint.npz"
    # cancel (as Mantid's Cancel button does) once a first segment has been saved
    with pytest.raises(Cancelled):
        compute_sqw(progress=ProgressReporter(None, checkpoint.exists), checkpoint=checkpoint,
                    checkpoint_interval_s=0.0, **common)
    assert checkpoint.is_file()
    resumed = compute_sqw(checkpoint=checkpoint, **common)
    assert not checkpoint.exists()
    for name, (values, errors) in reference.parts.items():
        np.testing.assert_allclose(resumed.parts[name][0], values, rtol=1e-12, equal_nan=True)
        np.testing.assert_allclose(resumed.parts[name][1], errors, rtol=1e-9, atol=1e-15,
                                   equal_nan=True)
