"""Every bad input gets an error that names the file, the frame (or line, or q-point) and the fix,
and nothing is left half-written."""

import numpy as np
import pytest

from mantid_mdinsim.cli import main
from mantid_mdinsim.errors import InputFileError, ParameterError
from mantid_mdinsim.sqw import compute_sqw

from .harmonic import HarmonicCrystal, write_extxyz

FRAMES = 12


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A small valid trajectory (27 atoms, 12 frames) and its text, for spoiling."""
    crystal = HarmonicCrystal(cells=3, temperature_k=100.0, species=["Si"] * 27)
    positions = crystal.positions(np.arange(FRAMES) * 10.0)
    path = write_extxyz(tmp_path_factory.mktemp("good") / "good.xyz", positions, crystal.cell,
                        crystal.species, time_step_fs=10.0)
    return path, path.read_text().splitlines(keepends=True), crystal


def spoil(tmp_path, lines, name="bad.xyz"):
    path = tmp_path / name
    path.write_text("".join(lines))
    return path


def run(path, **kwargs):
    options = dict(time_step_fs=10.0, window=4, q_max_inv_angstrom=2.5, q_count=20)
    options.update(kwargs)
    return compute_sqw(trajectories=[str(path)], **options)


def frame_line(frame, atom, n_atoms=27):
    """Index in the file's lines of an atom line (0-based)."""
    return frame * (n_atoms + 2) + 2 + atom


def assert_message(error, *parts):
    message = str(error.value)
    for part in parts:
        assert part in message, (part, message)


def test_the_good_file_works(good):
    assert run(good[0]).logs["frames_per_run"][0] == FRAMES


def test_truncated_frame(good, tmp_path):
    path, lines, _ = good
    cut = lines[:frame_line(9, 10)] + [lines[frame_line(9, 10)][:12]]
    with pytest.raises(InputFileError) as error:
        run(spoil(tmp_path, cut))
    assert_message(error, "bad.xyz", "frame 9", "ends inside this frame", "truncated")
    header_only = lines[:frame_line(5, 0) - 1]           # ends after the atom count of frame 5
    with pytest.raises(InputFileError) as error:
        run(spoil(tmp_path, header_only, "header.xyz"))
    assert_message(error, "header.xyz", "frame 5", "truncated")


def test_garbled_frame(good, tmp_path):
    path, lines, _ = good
    bad = list(lines)
    index = frame_line(7, 3)
    bad[index] = bad[index].replace(" ", " 1.2.3", 1)
    with pytest.raises(InputFileError) as error:
        run(spoil(tmp_path, bad))
    assert_message(error, "frame 7", f"line {index + 1}", "not a number", "garbled")
    missing = list(lines)
    missing[index] = " ".join(missing[index].split()[:3]) + "\n"
    with pytest.raises(InputFileError) as error:
        run(spoil(tmp_path, missing, "short.xyz"))
    assert_message(error, "short.xyz", "frame 7", "fewer columns")
    count = list(lines)
    count[frame_line(4, 0) - 2] = "26\n"
    with pytest.raises(InputFileError) as error:
        run(spoil(tmp_path, count, "count.xyz"))
    assert_message(error, "count.xyz", "frame 4", "26 atoms", "27")


def test_changing_cell(good, tmp_path):
    path, lines, _ = good
    bad = list(lines)
    index = frame_line(6, 0) - 1
    bad[index] = bad[index].replace('Lattice="9.0000000000', 'Lattice="9.0500000000')
    assert bad[index] != lines[index]
    with pytest.raises(InputFileError) as error:
        run(spoil(tmp_path, bad))
    assert_message(error, "frame 6", "the cell changes", "NVE or NVT")


def test_fewer_frames_than_the_window(good):
    with pytest.raises(InputFileError) as error:
        run(good[0], window=20)
    assert_message(error, "good.xyz", "has 12 frames, fewer than the window + 1 = 21",
                   "--window 11")


def test_nan_positions(good, tmp_path):
    path, lines, _ = good
    bad = list(lines)
    index = frame_line(8, 5)
    words = bad[index].split()
    bad[index] = f"{words[0]} {words[1]} nan {words[3]}\n"
    with pytest.raises(InputFileError) as error:
        run(spoil(tmp_path, bad))
    assert_message(error, "frame 8", "atom 5", "not a finite number", "blew up")


def test_species_without_a_scattering_length(good, tmp_path):
    path, lines, _ = good
    bad = [line.replace("Si ", "Xq ", 1) if line.startswith("Si ") else line for line in lines]
    with pytest.raises(InputFileError) as error:
        run(spoil(tmp_path, bad))
    assert_message(error, "bad.xyz", "species", "'Xq'", "no tabulated neutron scattering length",
                   "--weights none")
    changed = list(lines)
    changed[frame_line(3, 2)] = changed[frame_line(3, 2)].replace("Si", "Ge", 1)
    with pytest.raises(InputFileError) as error:
        run(spoil(tmp_path, changed, "changed.xyz"))
    assert_message(error, "changed.xyz", "frame 3", "atom 2 has another species")


def test_non_commensurate_q_points(good, tmp_path):
    q_file = tmp_path / "q.txt"
    q_file.write_text("# qx qy qz\n0.6981317 0 0\n0.5 0.1 0\n")
    with pytest.raises(InputFileError) as error:
        run(good[0], q_file=str(q_file))
    assert_message(error, "q.txt", "line 3", "q-point 1", "not commensurate",
                   "nearest commensurate q-point")


def test_missing_q_selection_and_conflicts(good, tmp_path):
    with pytest.raises(ParameterError, match="give --q-max"):
        run(good[0], q_max_inv_angstrom=None)
    q_file = tmp_path / "q.txt"
    q_file.write_text("0.6981317 0 0\n")
    with pytest.raises(ParameterError, match="give one of them"):
        run(good[0], q_file=str(q_file), q_path="G-X")


def test_files_without_what_is_needed(good, tmp_path):
    plain = tmp_path / "movie.xyz"
    plain.write_text("2\n0\nC 0 0 0\nC 1 1 1\n" * 3)
    with pytest.raises(InputFileError) as error:
        run(plain)
    assert_message(error, "movie.xyz", "frame 0", "no Lattice", "dump_xyz")
    dump = tmp_path / "dump.lammpstrj"
    dump.write_text("ITEM: TIMESTEP\n0\nITEM: NUMBER OF ATOMS\n1\nITEM: BOX BOUNDS pp pp pp\n"
                    "0 5\n0 5\n0 5\nITEM: ATOMS id type x y z\n1 1 0 0 0\n")
    with pytest.raises(InputFileError) as error:
        run(dump)
    assert_message(error, "dump.lammpstrj", "no 'element' column", "dump_modify")


def test_runs_of_different_systems(good, tmp_path):
    path, _, crystal = good
    other = write_extxyz(tmp_path / "other.xyz", crystal.positions(np.arange(6) * 10.0),
                         crystal.cell, ["C"] * 27, time_step_fs=10.0)
    with pytest.raises(InputFileError) as error:
        compute_sqw(trajectories=[str(path), str(other)], time_step_fs=10.0, window=4,
                    q_max_inv_angstrom=2.5)
    assert_message(error, "other.xyz", "C27", "Si27", "same system")


def test_a_time_step_that_disagrees_with_the_frame_times(good):
    """The MD integration step given instead of the time between stored frames (10 fs here)
    would scale every energy; the Time= of the frames gives it away."""
    with pytest.raises(ParameterError) as error:
        run(good[0], time_step_fs=1.0)
    assert_message(error, "time_step_fs", "good.xyz", "10 fs apart", "--time-step-fs 10")


def test_time_step_taken_from_the_frame_times(good, tmp_path):
    """Without a time step the frame times the file records give it (Time= 10 fs apart): the
    same S(q,w) as with --time-step-fs 10 given, and the same recorded in the logs."""
    given = run(good[0])
    taken = run(good[0], time_step_fs=None)
    assert taken.settings.time_step_fs == 10.0
    assert taken.logs["time_step_fs"] == 10.0
    np.testing.assert_array_equal(taken.energy_mev, given.energy_mev)
    for name, (values, errors) in given.parts.items():
        np.testing.assert_array_equal(taken.parts[name][0], values)
        np.testing.assert_array_equal(taken.parts[name][1], errors)


def test_time_step_needed_without_frame_times(good, tmp_path):
    """A file that records no frame times needs the time step; runs whose recorded frame
    intervals differ are refused where none is given."""
    path, lines, crystal = good
    untimed = spoil(tmp_path, [line.replace("Time=", "Step=") for line in lines], "untimed.xyz")
    with pytest.raises(ParameterError) as error:
        run(untimed, time_step_fs=None)
    assert_message(error, "time_step_fs", "is needed", "untimed.xyz records no frame times",
                   "--time-step-fs")
    assert run(untimed).settings.time_step_fs == 10.0
    slower = write_extxyz(tmp_path / "slower.xyz", crystal.positions(np.arange(FRAMES) * 20.0),
                          crystal.cell, crystal.species, time_step_fs=20.0)
    with pytest.raises(ParameterError) as error:
        compute_sqw(trajectories=[str(path), str(slower)], window=4, q_max_inv_angstrom=2.5,
                    q_count=20)
    assert_message(error, "good.xyz are 10 fs apart", "slower.xyz 20 fs",
                   "one frame interval")


def test_nothing_half_written_on_failure(good, tmp_path, capsys):
    path, lines, _ = good
    bad = spoil(tmp_path, lines[:-3])
    output = tmp_path / "out" / "sqw.nxs"
    status = main(["sqw", str(bad), "--time-step-fs", "10", "--window", "4", "--q-max", "2.5",
                   "--output", str(output)])
    assert status == 2
    assert "frame 11" in capsys.readouterr().err
    leftovers = list(output.parent.iterdir()) if output.parent.exists() else []
    assert leftovers == []


@pytest.mark.parametrize("variable, value", [("MDINSIM_SQW_BLOCK_BYTES", "16MB"),
                                             ("MDINSIM_SQW_WORK_BYTES", "0")])
def test_a_bad_memory_tuning_variable_is_named(good, tmp_path, capsys, monkeypatch, variable,
                                               value):
    """The memory-tuning environment variables are read when a calculation is planned: a value
    that is not a positive whole number of bytes is an error naming the variable, with no
    traceback and nothing written."""
    path, _, _ = good
    monkeypatch.setenv(variable, value)
    output = tmp_path / "out" / "sqw.nxs"
    status = main(["sqw", str(path), "--time-step-fs", "10", "--window", "4", "--q-max", "2.5",
                   "--incoherent", "yes", "--output", str(output)])
    assert status == 2
    err = capsys.readouterr().err
    assert f"${variable}" in err and f"'{value}'" in err and "whole number of bytes" in err
    assert "Traceback" not in err
    assert not output.exists()


def test_a_good_memory_tuning_variable_changes_only_the_blocks(good, monkeypatch):
    """A small block budget splits the run into more blocks, with the same S(q,w)."""
    path, _, _ = good
    reference = run(path, incoherent="yes")
    monkeypatch.setenv("MDINSIM_SQW_BLOCK_BYTES", "1")
    monkeypatch.setenv("MDINSIM_SQW_WORK_BYTES", "1")
    small = run(path, incoherent="yes")
    for name in ("coherent", "incoherent"):
        values, expected = small.parts[name][0], reference.parts[name][0]
        np.testing.assert_allclose(values, expected, rtol=1e-12, equal_nan=True,
                                   atol=1e-14 * np.nanmax(np.abs(expected)))
