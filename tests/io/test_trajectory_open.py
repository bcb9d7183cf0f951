"""Opening a text trajectory (session 12): frame 0's atom lines are cut from the buffer in
windows (``ChunkedText.readlines``), not line by line; species hashed, decoded and checked
once each; comment lines' times read without the pattern where the text around them is known.

References: ``ChunkedText.readline`` called once a line (the code before), the reader opened
with chunks and windows of a few bytes (every line and the frame cut by the buffer's end and
the window's), and the code before for the comment lines.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mantid_mdinsim.errors import InputFileError
from mantid_mdinsim.io import trajectory_extxyz, trajectory_text
from mantid_mdinsim.io.trajectory import check_symbols, open_trajectory
from mantid_mdinsim.io.trajectory_text import ChunkedText, species_hashes

from .test_xyz_batches import SETTINGS, _as_written, _write_frames, trajectories

LINES = st.lists(st.sampled_from(["", " ", "Si 1.0 2.0 3.0", "O\t-1 2 3 ", "H 1 2 3\r",
                                  "\r", "a\rb", "Kr 0.25 0.5 0.75 9 9 9"]), max_size=12)


@SETTINGS
@given(lines=LINES, ending=st.sampled_from(["\n", "\r\n"]), last_newline=st.booleans(),
       chunk_bytes=st.integers(1, 64), window=st.integers(1, 64), skip=st.integers(0, 3),
       count=st.integers(0, 16), opening=st.integers(1, 64))
def test_readlines_equals_readline(tmp_path, monkeypatch, lines, ending, last_newline,
                                   chunk_bytes, window, skip, count, opening):
    monkeypatch.setattr(trajectory_text, "READLINES_WINDOW_BYTES", window)
    monkeypatch.setattr(trajectory_text, "OPENING_CHUNK_BYTES", opening)
    text = ending.join(lines) + (ending if last_newline else "")
    path = tmp_path / "t.txt"
    path.write_bytes(text.encode())
    one, block = ChunkedText(path, chunk_bytes), ChunkedText(path, chunk_bytes)
    try:
        for handle in (one, block):
            for _ in range(skip):
                handle.readline()
        expected = []
        while len(expected) < count:
            line = one.readline()
            if line is None:
                break
            expected.append(line)
        assert block.readlines(count) == expected
        assert (block.line_number, block.offset) == (one.line_number, one.offset)
        assert block.readline() == one.readline()        # and on from there the same
    finally:
        one.close()
        block.close()


def _opened(path):
    try:
        with open_trajectory(path) as reader:
            return (reader.n_atoms, reader.species, reader.cell.tolist(),
                    reader.frame_interval_fs, reader._hashes.tolist(),
                    reader._first_frame_bytes, reader.estimated_frame_count())
    except InputFileError as error:
        return str(error)


@SETTINGS
@given(text=trajectories(), chunk_bytes=st.integers(1, 3000), window=st.integers(1, 300),
       opening=st.integers(1, 3000))
def test_open_does_not_depend_on_the_chunk(tmp_path, monkeypatch, text, chunk_bytes, window,
                                           opening):
    """The opening (its first chunk smaller than the later ones) gives the same wherever the
    chunks end."""
    path = tmp_path / "t.xyz"
    path.write_bytes(text)
    reference = _opened(path)
    monkeypatch.setattr(ChunkedText.__init__, "__defaults__", (chunk_bytes,))
    monkeypatch.setattr(trajectory_text, "OPENING_CHUNK_BYTES", opening)
    monkeypatch.setattr(trajectory_text, "READLINES_WINDOW_BYTES", window)
    assert _opened(path) == reference


def test_species_hashes_and_symbols_of_many_atoms(tmp_path):
    """Each species is hashed and checked once; every atom still gets its own, and a bad
    symbol is named at its first atom."""
    tokens = ["Si", "O", "Kr", "Hydrogen1", "O"] * 3
    hashes = species_hashes(tokens)
    # the rule of _species_hash: short species as their bytes, long ones FNV-1a, low byte 0
    fnv = 14695981039346656037
    for byte in b"Hydrogen1":
        fnv = ((fnv ^ byte) * 1099511628211) % 2**64
    expected = {"Si": 0x6953, "O": 0x4F, "Kr": 0x724B, "Hydrogen1": fnv & 0xFFFFFFFFFFFFFF00}
    assert hashes.tolist() == [expected[token] for token in tokens]
    assert hashes.dtype == np.uint64
    check_symbols(tmp_path, tokens, "frame 0")
    try:
        check_symbols(tmp_path, tokens[:7] + ["1", "2"] + tokens, "frame 0")
    except InputFileError as error:
        assert "atom 7 has the species '1'" in str(error)
    else:
        raise AssertionError("a type number taken as a species")


def _reference_comment_times(reader, comments, frame):
    """ExtxyzReader._comment_times before session 12: every line through _time_and_rest."""
    times = np.full(len(comments), np.nan)
    for index, comment in enumerate(comments):
        time, key = trajectory_extxyz._time_and_rest(comment)
        if time is not None:
            times[index] = time
        if key != reader._plain_comment:
            try:
                reader._check_comment(comment, frame + index)
            except InputFileError:
                return times, index
            reader._plain_comment = key
    return times, len(comments)


LATTICE = 'Lattice="10 0 0 0 10 0 0 0 10"'
COMMENT_WORDS = st.sampled_from(["Time=", "Time=10.5", "Time=1e3", "Time=-2", "Time=1.2.3",
                                 "Time=x", "Time=+", "xTime=4", "10", "e", "=", " ", "\t",
                                 LATTICE, LATTICE, 'Lattice="10 0 0 0 10 0 0 0 11"',
                                 "Properties=species:S:1:pos:R:3", 'pbc="T T T"'])
#: Lines around a time: the text before it, the time (or what stands there), after it.
AROUND_TIME = st.tuples(
    st.sampled_from(["Time=", " Time=", "xTime=", "Time=Time=", f"{LATTICE} Time=", ""]),
    st.sampled_from(["10.5", "10.5", "1e3", "-7", "1.2.3", "1e999", "x", "", "1 2", "1x",
                     "-", "Time=5"]),
    st.sampled_from([f" {LATTICE}", f" {LATTICE}", "", " pbc", "5", f" Time=3 {LATTICE}",
                     f"x {LATTICE}", f"{LATTICE}"])).map("".join)
COMMENTS = st.lists(st.one_of(st.lists(COMMENT_WORDS, max_size=6).map("".join), AROUND_TIME,
                              AROUND_TIME).map(str.encode), max_size=8)
#: Lines that are not the text of "Time=<t> Lattice=..." with a time between, each after
#: such a line.
TRICKY = [line for odd in [
    f"Time=1x {LATTICE}", f"Time=1 2 {LATTICE}", f"Time= {LATTICE}", f"Time=1.2.3 {LATTICE}",
    f"Time=5Time=6 {LATTICE}", f"Time=5 {LATTICE}5", f"xTime=5 {LATTICE}", f"Time=-{LATTICE}",
    f"{LATTICE}", f"{LATTICE}5", f"Time=1e999 {LATTICE}"]
    for line in (f"Time=8 {LATTICE}", odd)] + [
    f"Time=9 {LATTICE} Time=9", f"Time= {LATTICE} Time=9",
    LATTICE, LATTICE, f"{LATTICE} ", LATTICE, f"{LATTICE} Properties=species:S:1:pos:R:3",
    f"{LATTICE} Properties=species:S:1:vel:R:3"]


@SETTINGS
@given(batches=st.lists(COMMENTS, min_size=1, max_size=4), times=st.lists(
    st.floats(-1e6, 1e6).map(lambda t: f"{t:.8f}"), min_size=1, max_size=8))
def test_comment_times_equal_one_pattern_a_line(tmp_path, batches, times):
    """The times and the lines passed are those of _time_and_rest on every line, over
    batches in a row (the text checked carried from one to the next); lines that differ
    only in their time, as written by MD codes, among them."""
    path = tmp_path / "t.xyz"
    path.write_text(f"1\nTime=0 {LATTICE}\nSi 0 0 0\n")
    written = [f"Time={t} {LATTICE} pbc=\"T T T\"".encode() for t in times]
    batches = batches + [written, written[::-1], [line.encode() for line in TRICKY]]
    fast, reference = (trajectory_extxyz.ExtxyzReader(path) for _ in range(2))
    frame = 0
    for comments in batches:
        got = fast._comment_times(comments, frame)
        expected = _reference_comment_times(reference, comments, frame)
        assert got[1] == expected[1]
        assert got[0].tobytes() == expected[0].tobytes()      # NaN where no time
        assert fast._plain_comment == reference._plain_comment
        frame += len(comments)      # after a line refused too: the states are the same


@pytest.mark.parametrize("program", ["gzip", "bzip2", "xz", "zstd", "zip"])
@pytest.mark.parametrize("format", [None, "extxyz", "lammps", "netcdf"])
def test_compressed_trajectory_refused(tmp_path, program, format):
    """A compressed trajectory is refused with the command that decompresses it, whatever its
    name and the format asked for (else the reader would stop at a garbled first line)."""
    import bz2
    import gzip
    import lzma
    import zipfile

    text = b"1\nLattice=\"5 0 0 0 5 0 0 0 5\"\nSi 0 0 0\n" * 3
    path = tmp_path / "run.xyz"
    if program == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("run.xyz", text)
    elif program == "zstd":     # its frame's magic number, then anything
        path.write_bytes(b"\x28\xb5\x2f\xfd" + text)
    else:
        path.write_bytes({"gzip": gzip, "bzip2": bz2, "xz": lzma}[program].compress(text))
    with pytest.raises(InputFileError) as error:
        open_trajectory(path, format=format)
    message = str(error.value)
    assert "run.xyz" in message
    if program == "zip":
        assert "is a zip archive" in message and "unzip run.xyz" in message
    else:
        assert f"is compressed ({program})" in message
        assert f"{program} -dc run.xyz > run-decompressed.xyz" in message


def _frames_text(tmp_path, n_frames: int) -> tuple[bytes, np.ndarray]:
    """The text of ``n_frames`` frames of 5 Si atoms (7 lines each, Time= 1 fs apart) and
    their positions as read (test_xyz_batches' writer)."""
    path = tmp_path / "frames.xyz"
    written = _write_frames(path, 5, n_frames, seed=3)
    return path.read_bytes(), _as_written(written)


def _all_frames(path) -> np.ndarray:
    with open_trajectory(path) as reader:
        return np.array([positions.copy() for positions in reader.frames()])


def test_utf8_byte_order_mark_skipped(tmp_path):
    """A UTF-8 byte-order mark at the start (a file saved by a Windows editor) is no part of
    line 1: the same frames as without it, extended XYZ and a LAMMPS dump."""
    text, expected = _frames_text(tmp_path, 6)
    plain, marked = tmp_path / "plain.xyz", tmp_path / "marked.xyz"
    plain.write_bytes(text)
    marked.write_bytes(trajectory_text.UTF8_BOM + text)
    assert _all_frames(marked).tobytes() == expected.tobytes()
    with open_trajectory(marked) as reader:
        assert reader.frame_interval_fs == 1.0
    lammps = tmp_path / "marked.lammpstrj"
    lammps.write_bytes(trajectory_text.UTF8_BOM + _lammps_text(expected))
    assert _all_frames(lammps).tobytes() == expected.tobytes()
    unnamed = tmp_path / "marked.data"       # the format found from the first line
    unnamed.write_bytes(trajectory_text.UTF8_BOM + text)
    assert _all_frames(unnamed).tobytes() == expected.tobytes()


def test_utf16_refused(tmp_path):
    text, _ = _frames_text(tmp_path, 3)
    path = tmp_path / "wide.xyz"
    path.write_bytes(text.decode().encode("utf-16"))
    with pytest.raises(InputFileError) as error:
        open_trajectory(path)
    assert "wide.xyz: is UTF-16 text" in str(error.value)
    assert "iconv -f UTF-16 -t UTF-8 wide.xyz > wide-utf8.xyz" in str(error.value)


def _lammps_text(expected: np.ndarray) -> bytes:
    """A LAMMPS dump of ``expected`` (frames of 5 Si atoms, 14 lines each)."""
    return "".join("ITEM: TIMESTEP\n{}\nITEM: NUMBER OF ATOMS\n5\nITEM: BOX BOUNDS pp pp pp\n"
                   "0 10\n0 10\n0 10\nITEM: ATOMS id element x y z\n".format(10 * frame)
                   + "".join(f"{atom + 1} Si {x:.10f} {y:.10f} {z:.10f}\n"
                             for atom, (x, y, z) in enumerate(expected[frame]))
                   for frame in range(len(expected))).encode()


@pytest.mark.parametrize("cut_in_frame", [False, True])
@pytest.mark.parametrize("suffix", [".xyz", ".lammpstrj"])
def test_zero_bytes_after_a_crash_named(tmp_path, cut_in_frame, suffix):
    """A file whose writing stopped and was left padded with zero bytes is refused at the
    line where the zeros begin, and the fix it gives (``head -n``) keeps exactly the whole
    frames before them (extended XYZ, LAMMPS dump)."""
    import subprocess

    text, expected = _frames_text(tmp_path, 8)
    per_frame = 7
    if suffix == ".lammpstrj":
        text, per_frame = _lammps_text(expected), 14
    lines = text.splitlines(keepends=True)
    keep = len(b"".join(lines[:5 * per_frame])) + (100 if cut_in_frame else 0)
    path = tmp_path / f"crashed{suffix}"
    path.write_bytes(text[:keep] + b"\0" * 4096)
    with pytest.raises(InputFileError) as error:
        _all_frames(path)
    message = str(error.value)
    zero_line = text[:keep].count(b"\n") + 1
    assert f"frame 5 (line {zero_line})" in message
    assert f"holds zero bytes from line {zero_line} on" in message
    kept_lines = 5 * per_frame
    assert f"head -n {kept_lines} crashed{suffix} > crashed-cut{suffix}" in message
    cut = tmp_path / f"crashed-cut{suffix}"
    with open(cut, "wb") as handle:
        subprocess.run(["head", "-n", str(kept_lines), str(path)], stdout=handle, check=True)
    assert _all_frames(cut).tobytes() == expected[:5].tobytes()


def test_folder_and_pipe_refused(tmp_path):
    """A folder, or a pipe (``mdinsim sqw <(zcat run.xyz.gz)``: a named pipe here), is
    refused at once with what to give instead; the pipe is not opened (that waited for a
    writer for ever) nor read from its middle."""
    import os

    folder = tmp_path / "run_0.xyz"
    folder.mkdir()
    for open_it in (open_trajectory, trajectory_extxyz.ExtxyzReader):   # a reader itself too
        with pytest.raises(InputFileError) as error:
            open_it(folder)
        assert "run_0.xyz: is a folder, not a trajectory file" in str(error.value)
    if not hasattr(os, "mkfifo"):
        return
    pipe = tmp_path / "pipe.xyz"
    os.mkfifo(pipe)
    with pytest.raises(InputFileError) as error:
        open_trajectory(pipe)           # no writer: opening it would block
    assert "pipe.xyz: is not a regular file (a pipe or a device)" in str(error.value)
    assert "zcat run.xyz.gz > run.xyz" in str(error.value)


def test_zero_bytes_named_only_where_the_reading_stopped_at_them(tmp_path):
    """A file of zero bytes only is named as such at frame 0; a frame garbled before the
    zeros begin keeps its own error (the zeros come later)."""
    zeros = tmp_path / "zeros.xyz"
    zeros.write_bytes(b"\0" * 70000)
    with pytest.raises(InputFileError) as error:
        open_trajectory(zeros)
    assert "frame 0 (line 1): the file holds zero bytes from line 1 on" in str(error.value)
    assert "it holds no whole frame" in str(error.value)
    text, _ = _frames_text(tmp_path, 8)
    lines = text.splitlines(keepends=True)
    lines[5 * 7 + 3] = b"Si 1.0 x 2.0\n"                     # frame 5, atom 1
    garbled = tmp_path / "garbled.xyz"
    garbled.write_bytes(b"".join(lines[:6 * 7]) + b"\0" * 4096)
    with pytest.raises(InputFileError) as error:
        _all_frames(garbled)
    assert "frame 5 (line 39)" in str(error.value)
    assert "zero bytes" not in str(error.value)


@pytest.mark.parametrize("source, accepted", [
    ("nep4 2 Ge Si\n", True), ("Si\n", True), ("nep4 1 Ge\n", False), ("junk", False),
    ("structure 5 Si", True), ("structure 4 Si", False), ("structure 5 Ge", False)])
def test_species_from_checked_where_the_trajectory_names_its_species(tmp_path, source,
                                                                     accepted):
    """An extended XYZ trajectory names its species (5 Si atoms): a --species-from given with it
    had been ignored without a word, a junk file too. It is now checked against them: a NEP
    model or species file must list Si, a structure file hold the same atoms in order."""
    from ase import Atoms
    from ase.io import write

    path = tmp_path / "run.xyz"
    expected = _write_frames(path, 5, 3, seed=4)
    if source.startswith("structure"):
        _, count, symbol = source.split()
        species = tmp_path / "start.xyz"
        write(species, Atoms(symbol * int(count) if len(symbol) == 1 else
                             [symbol] * int(count), cell=[10, 10, 10], pbc=True,
                             positions=np.zeros((int(count), 3))), format="extxyz")
    else:
        species = tmp_path / ("model.txt" if source.startswith("nep") else
                              "run.xyz.species.txt" if source == "Si\n" else "junk.txt")
        species.write_text(source)
    if accepted:
        with open_trajectory(path, species_from=species) as reader:
            assert reader.species == ["Si"] * 5
            frames = np.array([positions.copy() for positions in reader.frames()])
        np.testing.assert_array_equal(frames, _as_written(expected))
        return
    with pytest.raises(InputFileError) as raised:
        open_trajectory(path, species_from=species)
    assert species.name in str(raised.value)
