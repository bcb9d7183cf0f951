"""Issue 14 at the Mantid entry point: an output path that cannot be written is refused before
any computation, and an unexpected error says where to report it (the traceback in a log
file), as on the command line."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import make_algorithm


@pytest.fixture
def trajectory(tmp_path):
    from ase.build import bulk
    from ase.io import write

    base = bulk("Si", "diamond", 5.431, cubic=True)
    frames = []
    for index in range(12):
        atoms = base.copy()
        atoms.positions += 0.02 * np.sin(0.7 * index + np.arange(24).reshape(8, 3))
        frames.append(atoms)
    path = tmp_path / "trajectory.xyz"
    write(path, frames)
    return path


def _sqw(trajectory, **properties):
    return make_algorithm("MDComputeSqw", InputTrajectories=str(trajectory), TimeStepFs=5.0,
                          Window=4, QMax=3.0, QCount=20, OutputWorkspace="sqw", Plot=False,
                          **properties)


def test_an_output_file_that_is_a_folder_is_refused_before_computing(ads, trajectory,
                                                                    tmp_path, monkeypatch):
    import mantid_mdinsim.sqw.compute as compute

    def not_to_be_called(*args, **kwargs):
        raise AssertionError("computed before the output path was checked")

    # _compute, not compute_sqw: the algorithm file binds compute_sqw when first imported.
    monkeypatch.setattr(compute, "_compute", not_to_be_called)
    folder = tmp_path / "out.nxs"
    folder.mkdir()
    with pytest.raises(RuntimeError, match="parameter 'output': .*out.nxs is a folder") as info:
        _sqw(trajectory, OutputFile=str(folder)).execute()
    assert not ads.doesExist("sqw")
    _assert_no_trail_of_core_files(str(info.value))


def test_a_folder_given_as_a_trajectory_is_refused_by_name(ads, tmp_path):
    """Mantid's file properties accept a folder (FileValidator: it exists and opens on Linux):
    the core refuses it with its own message."""
    folder = tmp_path / "trajectory.xyz"
    folder.mkdir()
    with pytest.raises(RuntimeError, match="trajectory.xyz: is a folder") as info:
        make_algorithm("MDComputeSqw", InputTrajectories=str(folder), TimeStepFs=5.0, Window=4,
                       QMax=3.0, QCount=20, OutputWorkspace="sqw", Plot=False).execute()
    assert not ads.doesExist("sqw")
    _assert_no_trail_of_core_files(str(info.value))


def _assert_no_trail_of_core_files(message):
    """Mantid appends a line per traceback frame to a PyExec error ("at line N in 'file'",
    "caused by line ..."; core/src/ErrorHandling.cpp): a user's error keeps one, the wrapper's."""
    locations = [line for line in message.splitlines()
                 if line.startswith(("  at line ", "  caused by line "))]
    assert len(locations) == 1 and "algorithm_base.py" in locations[0], message


def test_an_unexpected_error_says_where_to_report(ads, trajectory, tmp_path, monkeypatch):
    import mantid_mdinsim.sqw.compute as compute

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(compute, "_compute", broken)
    monkeypatch.setenv("MDINSIM_LOG_DIR", str(tmp_path / "logs"))
    with pytest.raises(RuntimeError, match=r"unexpected internal error \(ZeroDivisionError: a "
                                           r"bug\).*report it") as info:
        _sqw(trajectory).execute()
    _assert_no_trail_of_core_files(str(info.value))
    logs = list((tmp_path / "logs").glob("mdinsim-MDComputeSqw-*.log"))
    assert len(logs) == 1 and "ZeroDivisionError" in logs[0].read_text()
