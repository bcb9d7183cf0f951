"""Extended XYZ read in batches of whole frames (issue 17) gives what the frame-by-frame path
gives: the same positions bit for bit, the same recorded times, and the same error (message,
frame, line and column) for corrupted files, wherever the batches start and end and on any
number of threads.

The reference is the reader with batches switched off (``ChunkedText.parse_frames`` finding
nothing: every frame then goes through ``_read_header`` and ``parse_lines``, the code before
batches). The files are random: atom counts, number forms, comment lines with or without
``Time=`` and ``Properties=``, extra columns, CRLF line ends, blank lines between frames and at
the end; some are spoilt (cut anywhere, a bad number, a wrong atom count, another species, a
missing column, a changed cell). Chunks of a few bytes to a few kB put batch boundaries
anywhere in the frames.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mantid_mdinsim.errors import InputFileError
from mantid_mdinsim.io import trajectory_extxyz, trajectory_text
from mantid_mdinsim.io.trajectory import open_trajectory
from mantid_mdinsim.io.trajectory_text import ChunkedText

SETTINGS = settings(max_examples=int(os.environ.get("MDINSIM_FUZZ_EXAMPLES", 120)),
                    deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])

NUMBERS = st.one_of(
    st.floats(-40, 40).map(lambda x: f"{x:.10f}"),
    st.floats(-40, 40).map(lambda x: f"{x:.17g}"),
    st.floats(-40, 40).map(repr),
    st.floats(-40, 40).map(lambda x: f"{x:.6e}"),
    st.sampled_from(["1.", ".5", "-0.0", "+3", "1E-3", "2.5d0", "123456789012345678.25"]),
)
SPECIES = ["Si", "O", "H"]


@st.composite
def trajectories(draw) -> bytes:
    """Text of an extended XYZ file, maybe spoilt."""
    n_atoms = draw(st.integers(1, 12))
    n_frames = draw(st.integers(1, 7))
    species = [draw(st.sampled_from(SPECIES)) for _ in range(n_atoms)]
    extra = draw(st.sampled_from(["", ":vel:R:3", ":id:I:1"]))
    properties = draw(st.sampled_from([f"Properties=species:S:1:pos:R:3{extra}", None]))
    if properties is None:
        extra = ""
    with_time = draw(st.booleans())
    newline = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    lattice = 'Lattice="10.0 0.0 0.0 0.0 11.0 0.0 0.0 0.0 12.0"'
    lines: list[str] = []
    for frame in range(n_frames):
        for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2])) if frame else 0):
            lines.append(draw(st.sampled_from(["", " ", "\t"])))
        lines.append(draw(st.sampled_from(["", " "])) + str(n_atoms)
                     + draw(st.sampled_from(["", " "])))
        comment = [lattice]
        if with_time:
            comment.insert(0, f"Time={10.0 * frame:.8f}")
        if properties:
            comment.append(properties)
        lines.append(" ".join(comment))
        for atom in range(n_atoms):
            words = [species[atom]] + [draw(NUMBERS) for _ in range(3)]
            if extra == ":vel:R:3":
                words += [draw(NUMBERS) for _ in range(3)]
            elif extra == ":id:I:1":
                words.append(str(atom))
            separator = draw(st.sampled_from([" ", "  ", "\t"]))
            lines.append(draw(st.sampled_from(["", " "])) + separator.join(words))
    for _ in range(draw(st.sampled_from([0, 0, 1, 3]))):
        lines.append("")
    text = newline.join(lines) + newline
    kind = draw(st.sampled_from(["none", "cut", "number", "count", "count", "species",
                                 "column", "cell", "no-lattice", "garbage", "garbage",
                                 "repeat", "not-finite", "time"]))
    body = text.split(newline)
    atom_lines = [i for i, line in enumerate(body) if line.strip()[:1] in ("S", "O", "H")]
    if kind == "cut":
        text = text[:draw(st.integers(1, len(text) - 1))]
    elif kind in ("number", "species", "column") and atom_lines:
        index = draw(st.sampled_from(atom_lines))
        words = body[index].split()
        if kind == "number":
            words[draw(st.integers(1, 3))] = draw(st.sampled_from(["x", "1.2.3", "--1", "1e"]))
        elif kind == "species":
            words[0] = "Ge"
        else:
            words.pop()
        body[index] = " ".join(words)
        text = newline.join(body)
    elif kind == "count":
        counts = [i for i, line in enumerate(body) if line.strip() == str(n_atoms)]
        counts = counts[1:] or counts      # frame 0 is read by the same code either way
        body[draw(st.sampled_from(counts))] = draw(st.sampled_from(
            [str(n_atoms + 1), str(n_atoms - 1), "+" + str(n_atoms), "x"]))
        text = newline.join(body)
    elif kind == "cell":
        comments = [i for i, line in enumerate(body) if "Lattice" in line]
        index = draw(st.sampled_from(comments))
        body[index] = body[index].replace("11.0", "11.5")
        text = newline.join(body)
    elif kind == "no-lattice":       # a later comment line without its cell
        comments = [i for i, line in enumerate(body) if "Lattice" in line]
        index = draw(st.sampled_from(comments[1:] or comments))
        body[index] = body[index].replace(lattice, draw(st.sampled_from(["", 'pbc="T T T"'])))
        text = newline.join(body)
    elif kind == "repeat" and n_frames > 1:     # a frame's atom lines again in the next
        frame = draw(st.integers(1, n_frames - 1))
        first = [i for i, line in enumerate(body) if line.strip() == str(n_atoms)]
        if len(first) == n_frames:
            body[first[frame] + 2:first[frame] + 2 + n_atoms] = \
                body[first[frame - 1] + 2:first[frame - 1] + 2 + n_atoms]
            text = newline.join(body)
    elif kind == "not-finite" and atom_lines:
        index = draw(st.sampled_from(atom_lines))
        words = body[index].split()
        words[draw(st.integers(1, 3))] = draw(st.sampled_from(["nan", "-inf", "1e999"]))
        body[index] = " ".join(words)
        text = newline.join(body)
    elif kind == "time" and with_time:       # a frame's Time= repeated, back, late or gone
        comments = [i for i, line in enumerate(body) if "Lattice" in line]
        index = draw(st.sampled_from(comments[1:] or comments))
        frame = comments.index(index)
        new_time = draw(st.sampled_from([f"Time={10.0 * (frame - 1):.8f}",
                                         f"Time={10.0 * frame - 15:.8f}",
                                         f"Time={10.0 * frame + 5:.8f}",
                                         f"Time={10.0 * frame + 0.001:.8f}", "", "Time=x"]))
        body[index] = body[index].replace(f"Time={10.0 * frame:.8f}", new_time)
        text = newline.join(body)
    elif kind == "garbage":
        position = draw(st.integers(0, len(text)))
        text = text[:position] + draw(st.sampled_from(["\n", "\n\n", "q", " 7\n"])) \
            + text[position:]
    return text.encode()


def _read(path, start: int):
    """(frames, times, error message): everything the reader gives."""
    frames, times = [], []
    try:
        with open_trajectory(path) as reader:
            for positions in reader.frames(start=start):
                frames.append(positions.copy())
                times.append(reader.frame_time)
    except InputFileError as error:
        return frames, times, str(error)
    return frames, times, None


def _one_frame_at_a_time(*args, **kwargs):
    return None


def _same(first, second) -> None:
    frames_a, times_a, error_a = first
    frames_b, times_b, error_b = second
    assert error_a == error_b
    assert times_a == times_b
    assert len(frames_a) == len(frames_b)
    for a, b in zip(frames_a, frames_b):
        assert a.tobytes() == b.tobytes()      # bit for bit (also -0.0)


@SETTINGS
@given(text=trajectories(), chunk_bytes=st.integers(1, 3000), threads=st.integers(1, 4),
       start=st.sampled_from([0, 0, 1, 3]), batch_frames=st.sampled_from([1, 2, 3, 4096]))
def test_batches_equal_frame_by_frame(tmp_path, monkeypatch, text, chunk_bytes, threads,
                                      start, batch_frames):
    path = tmp_path / "t.xyz"
    path.write_bytes(text)
    with monkeypatch.context() as patch:
        patch.setattr(ChunkedText, "parse_frames", _one_frame_at_a_time)
        reference = _read(path, start)
    with monkeypatch.context() as patch:
        patch.setattr(ChunkedText.__init__, "__defaults__", (chunk_bytes,))
        patch.setattr(trajectory_extxyz, "MIN_FRAMES_PER_BATCH", 0)
        patch.setattr(trajectory_text, "MIN_BYTES_PER_THREAD", 1)
        patch.setattr(trajectory_text, "MAX_FRAMES_PER_BATCH", batch_frames)
        patch.setattr(trajectory_text, "parse_threads", lambda: threads)
        batched = _read(path, start)
    _same(batched, reference)


def _write_frames(path, n_atoms: int, n_frames: int, seed: int = 0) -> np.ndarray:
    generator = np.random.default_rng(seed)
    positions = generator.uniform(0, 10, (n_frames, n_atoms, 3))
    lines = []
    for frame in range(n_frames):
        lines += [str(n_atoms), f'Time={frame:.8f} Lattice="10 0 0 0 10 0 0 0 10" '
                  "Properties=species:S:1:pos:R:3"]
        lines += [f"Si {x:.10f} {y:.10f} {z:.10f}" for x, y, z in positions[frame]]
    path.write_text("\n".join(lines) + "\n")
    return positions


def _as_written(positions: np.ndarray) -> np.ndarray:
    """The numbers as _write_frames prints them ("%.10f"), read back by Python."""
    return np.array([[[float(f"{v:.10f}") for v in atom] for atom in frame]
                     for frame in positions])


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_batches_used_on_threads(tmp_path, monkeypatch, threads):
    """Large batches are parsed on the threads asked for (and give the numbers written, to
    the last bit of "%.10f"), with the frames of a bounded buffer at a time."""
    path = tmp_path / "t.xyz"
    written = _write_frames(path, 300, 60)
    calls = []
    parse = trajectory_text.parse_frames

    def counted(buf, atom_starts, frame_starts, first, last, *rest):
        calls.append(last - first)
        return parse(buf, atom_starts, frame_starts, first, last, *rest)

    monkeypatch.setattr(trajectory_text, "parse_frames", counted)
    monkeypatch.setattr(trajectory_text, "parse_threads", lambda: threads)
    monkeypatch.setattr(trajectory_text, "MIN_BYTES_PER_THREAD", 1000)
    monkeypatch.setattr(ChunkedText.__init__, "__defaults__", (100_000,))
    monkeypatch.setattr(trajectory_extxyz, "MIN_FRAMES_PER_BATCH", 0)
    with open_trajectory(path) as reader:
        frames = np.array([positions.copy() for positions in reader.frames()])
    expected = _as_written(written)
    assert frames.tobytes() == expected.tobytes()
    assert sum(calls) == 60
    assert max(calls) <= 100_000 * 2 // (300 * 30)      # a batch is the frames of a buffer
    assert len(calls) >= threads * 60 * 300 * 40 // 200_000


def test_thread_limit_of_a_piece(monkeypatch):
    """A piece given n threads (a Dask worker's --threads-per-worker) parses on at most n."""
    from mantid_mdinsim.execution import thread_limits

    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    with thread_limits(1):
        assert trajectory_text.parse_threads() == 1
    with thread_limits(3):
        assert trajectory_text.parse_threads() == min(3, trajectory_text.MAX_PARSE_THREADS)


FIXED = st.tuples(st.floats(-1e7, 1e7), st.integers(0, 16)).map(lambda v: f"{v[0]:.{v[1]}f}")


@SETTINGS
@given(texts=st.lists(st.one_of(FIXED, NUMBERS), min_size=1, max_size=40),
       separator=st.sampled_from([" ", "\t", "  "]), end=st.sampled_from(["\n", "\r\n", " \n"]))
def test_numbers_equal_python_float(texts, separator, end):
    """The atom-line parser (with its 8-digits-at-once fraction) reads every number as
    Python's float() does, bit for bit."""
    line = (separator.join(texts) + end).encode()
    out = np.empty((1, len(texts)))
    status, _, _, _ = trajectory_text.parse_atom_lines(
        np.frombuffer(line, dtype=np.uint8), 0, 1, np.arange(len(texts), dtype=np.int64),
        True, out, np.empty(1, dtype=np.uint64), trajectory_text._POWERS_OF_TEN)
    assert status == trajectory_text.STATUS_OK
    expected = np.array([float(text.replace("d", "e")) for text in texts])
    assert out[0].tobytes() == expected.tobytes()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_forked_child_parses_on_its_own_threads(tmp_path, monkeypatch):
    """A child forked after the parent's parse threads started reads on threads of its own
    (the parent's do not exist there; waiting on them would hang)."""
    import multiprocessing

    path = tmp_path / "t.xyz"
    written = _write_frames(path, 200, 40)
    monkeypatch.setattr(trajectory_text, "MIN_BYTES_PER_THREAD", 1000)
    monkeypatch.setattr(trajectory_text, "parse_threads", lambda: 2)
    with open_trajectory(path) as reader:
        first = np.array([positions.copy() for positions in reader.frames()])
    context = multiprocessing.get_context("fork")
    queue = context.Queue()

    def child() -> None:
        with open_trajectory(path) as reader:
            queue.put(np.array([positions.copy() for positions in reader.frames()]).tobytes())

    process = context.Process(target=child)
    process.start()
    data = queue.get(timeout=120)
    process.join(timeout=60)
    assert data == first.tobytes()
    assert first.shape == written.shape


@pytest.mark.parametrize("threads", [1, 2])
def test_frames_kept_by_the_caller_stay_as_read(tmp_path, monkeypatch, threads):
    """Batch arrays and text buffers are used again only once nothing refers to them: frames
    a caller keeps (no copy) still hold their own numbers after all the others are read."""
    path = tmp_path / "t.xyz"
    written = _write_frames(path, 50, 40)
    monkeypatch.setattr(trajectory_text, "parse_threads", lambda: threads)
    monkeypatch.setattr(trajectory_text, "MIN_BYTES_PER_THREAD", 1000)
    monkeypatch.setattr(ChunkedText.__init__, "__defaults__", (5000,))
    monkeypatch.setattr(trajectory_extxyz, "MIN_FRAMES_PER_BATCH", 0)
    with open_trajectory(path) as reader:
        kept = list(reader.frames())
        every_other = [positions for index, positions in enumerate(reader.frames())
                       if index % 2 == 0]
    expected = _as_written(written)
    np.testing.assert_array_equal(np.array(kept), expected)
    np.testing.assert_array_equal(np.array(every_other), expected[::2])


def test_read_ahead_ends_with_the_caller(tmp_path, monkeypatch):
    """A caller that stops early (the primitive-cell check reads two frames) ends the
    read-ahead thread: nothing is left reading the file."""
    import itertools
    import threading

    path = tmp_path / "t.xyz"
    written = _write_frames(path, 50, 200)
    monkeypatch.setattr(trajectory_text, "parse_threads", lambda: 2)
    monkeypatch.setattr(trajectory_text, "MIN_BYTES_PER_THREAD", 1000)
    monkeypatch.setattr(ChunkedText.__init__, "__defaults__", (5000,))
    monkeypatch.setattr(trajectory_extxyz, "MIN_FRAMES_PER_BATCH", 0)
    with open_trajectory(path) as reader:
        frames = reader.frames()
        first = [positions.copy() for positions in itertools.islice(frames, 3)]
        assert any(thread.name == "mdinsim-read-ahead" for thread in threading.enumerate())
        frames.close()
        assert not any(thread.name == "mdinsim-read-ahead" and thread.is_alive()
                       for thread in threading.enumerate())
    np.testing.assert_array_equal(np.array(first), _as_written(written[:3]))
