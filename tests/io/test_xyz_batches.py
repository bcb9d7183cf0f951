"""Extended XYZ read in batches of whole frames (issue 17) gives what the frame-by-frame path
gives: the same positions bit for bit, the same recorded times, and the same error (message,
frame, line and column) for corrupted files, wherever the batches start and end and on any
number of threads.

The reference is the reader with the parts switched off (``FrameParts.batches`` finding
nothing: every frame then goes through ``_read_header`` and ``parse_lines``, the code before
batches). The files are random: atom counts, number forms, comment lines with or without
``Time=`` and ``Properties=``, extra columns, CRLF line ends, blank lines between frames and at
the end; some are spoilt (cut anywhere, a bad number, a wrong atom count, another species, a
missing column, a changed cell, a line that reads as the atom count where a part syncs). Parts
of a few bytes to a few kB put part boundaries anywhere in the frames, and small buffers make
the parts read on.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mantid_mdinsim.errors import InputFileError
from mantid_mdinsim.io import trajectory_parts, trajectory_text
from mantid_mdinsim.io.trajectory import open_trajectory
from mantid_mdinsim.io.trajectory_parts import FrameParts
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
                                 "repeat", "not-finite", "time", "count-comment"]))
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
    elif kind == "count-comment":    # a later comment line that reads as the atom count
        comments = [i for i, line in enumerate(body) if "Lattice" in line]
        body[draw(st.sampled_from(comments[1:] or comments))] = str(n_atoms)
        text = newline.join(body)
    elif kind == "garbage":
        position = draw(st.integers(0, len(text)))
        text = text[:position] + draw(st.sampled_from(["\n", "\n\n", "q", " 7\n",
                                                       f"{n_atoms}\n", f"\n{n_atoms}\n"])) \
            + text[position:]
    # a UTF-8 byte-order mark (skipped): the parts then start 3 bytes into the file
    return draw(st.sampled_from([b"", b"", b"", trajectory_text.UTF8_BOM])) + text.encode()


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


def _one_frame_at_a_time(self, offset):
    """FrameParts.batches finding nothing: the reader goes frame by frame from ``offset``."""
    self.stop_offset, self.lines = offset, 0
    yield from ()


def _same(first, second) -> None:
    frames_a, times_a, error_a = first
    frames_b, times_b, error_b = second
    assert error_a == error_b
    assert times_a == times_b
    assert len(frames_a) == len(frames_b)
    for a, b in zip(frames_a, frames_b):
        assert a.tobytes() == b.tobytes()      # bit for bit (also -0.0)


@SETTINGS
@given(text=trajectories(), part_bytes=st.integers(1, 3000), threads=st.integers(1, 4),
       start=st.sampled_from([0, 0, 1, 3]), margin=st.sampled_from([(1.25, 4096), (0, 0),
                                                                   (0, 7), (0.5, 1)]),
       chunk_bytes=st.sampled_from([1, 64, 1 << 21]), few_rows=st.booleans(),
       opening=st.sampled_from([1 << 16, 1, 40, 700]))
def test_batches_equal_frame_by_frame(tmp_path, monkeypatch, text, part_bytes, threads, start,
                                      margin, chunk_bytes, few_rows, opening):
    path = tmp_path / "t.xyz"
    path.write_bytes(text)
    with monkeypatch.context() as patch:
        patch.setattr(FrameParts, "batches", _one_frame_at_a_time)
        reference = _read(path, start)
    with monkeypatch.context() as patch:
        patch.setattr(ChunkedText.__init__, "__defaults__", (chunk_bytes,))
        patch.setattr(trajectory_text, "OPENING_CHUNK_BYTES", opening)
        patch.setattr(trajectory_parts, "PART_BYTES", part_bytes)
        patch.setattr(trajectory_parts, "MIN_FRAMES_PER_PART", 0)
        patch.setattr(trajectory_parts, "MARGIN_FRAMES", margin[0])
        patch.setattr(trajectory_parts, "SLACK_BYTES", margin[1])
        patch.setattr(trajectory_parts, "parse_threads", lambda: threads)
        if few_rows:                  # positions arrays of one frame: they grow
            patch.setattr(FrameParts, "_frames_in", lambda self, part_bytes: 1)
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
@pytest.mark.parametrize("limited", [True, False])
def test_parts_on_threads(tmp_path, monkeypatch, threads, limited):
    """The parts are parsed on the threads asked for, at most that many at once where a
    piece's limit says so (one more where nobody limited them: a pool thread more), and give
    the numbers written, to the last bit of "%.10f"; a part's frames are those whose count
    lines start in its bytes."""
    import threading

    from mantid_mdinsim.execution import READER_THREADS

    path = tmp_path / "t.xyz"
    written = _write_frames(path, 300, 60)
    frame_bytes = path.stat().st_size / 60
    calls, running, most = [], [0], [0]
    lock = threading.Lock()
    parse = trajectory_parts.parse_part

    def counted(buf, start, limit, sync, n_atoms, roles, out, first, *rest):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            result = parse(buf, start, limit, sync, n_atoms, roles, out, first, *rest)
        finally:
            with lock:
                running[0] -= 1
        calls.append((threading.current_thread().name, result[0] - first))
        return result

    monkeypatch.setattr(trajectory_parts, "parse_part", counted)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(trajectory_parts, "parse_threads", lambda: threads)
    monkeypatch.setattr(trajectory_parts, "PART_BYTES", 100_000)
    token = READER_THREADS.set(threads if limited else None)
    try:
        with open_trajectory(path) as reader:
            frames = np.array([positions.copy() for positions in reader.frames()])
    finally:
        READER_THREADS.reset(token)
    expected = _as_written(written)
    assert frames.tobytes() == expected.tobytes()
    assert sum(found for _, found in calls) == 60
    # the first frame on the caller's thread, then parts of 100 kB: their count lines
    assert calls[0][1] == 1
    assert all(found <= 100_000 // frame_bytes + 1 for _, found in calls[1:])
    names = {name for name, _ in calls[1:]}
    pool = threads if limited or threads == 1 else threads + 1
    if threads == 1:
        assert names == {threading.current_thread().name}
    else:
        # (how many of them took a part depends on the timing: not asserted)
        assert all(name.startswith(f"mdinsim-parse-{pool}-") for name in names)
        assert len(names) <= pool and most[0] <= pool


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
    monkeypatch.setattr(trajectory_parts, "PART_BYTES", 20_000)
    monkeypatch.setattr(trajectory_parts, "MIN_FRAMES_PER_PART", 0)
    monkeypatch.setattr(trajectory_parts, "parse_threads", lambda: 2)
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


# -- the batch kernel's fast line (_plain_line) against the general code ------------------------
# parse_part reads lines "species x y z" through bit masks of 64-byte windows and leaves any
# other line (and the rest of its frame) to parse_atom_lines. These tests put every shape of
# token near the fast path's limits into frames and check parse_part against the general code
# frame by frame (the same stopping frame, the same numbers bit for bit) and against Python's
# float().

DIGITS = "0123456789"


@st.composite
def number_tokens(draw) -> str:
    """A number column's token: decimals of every shape (at the fast path's limits: 14-17
    digits, 0-20 integer and 0-25 fraction digits, leading zeros, '.5', '5.'), exponents,
    nan/inf, integers and junk."""
    sign = draw(st.sampled_from(["", "", "-", "+"]))
    kind = draw(st.sampled_from(["plain"] * 6 + ["long", "edge", "edge", "exponent",
                                                 "special", "integer", "junk", "junk"]))
    if kind in ("plain", "long", "exponent"):
        integer = draw(st.text(DIGITS, max_size=20 if kind == "long" else 7))
        fraction = draw(st.text(DIGITS, max_size=25 if kind == "long" else 12))
        text = sign + integer + "." + fraction
        if kind == "exponent":
            text += draw(st.sampled_from(["e-3", "E+05", "e0", "d2", "e"]))
        return text
    if kind == "edge":
        digits = draw(st.text(DIGITS, min_size=14, max_size=17))
        point = draw(st.integers(0, len(digits)))
        return sign + digits[:point] + "." + digits[point:]
    if kind == "special":
        return sign + draw(st.sampled_from(["nan", "inf", "Infinity", "NaN", "in"]))
    if kind == "integer":
        return sign + draw(st.text(DIGITS, min_size=1, max_size=20))
    return draw(st.sampled_from(["1.2.3", "--1", "-+1", "1-", ".", "-.", "x", "0x1", "1,5",
                                 "1.5\x00", "\x012.0", "1.5\x0b", "..5", "1.5.", "+", "1.x5",
                                 "a.5", "1.-5", "1.5+", "1._5", "1.5\x7f", "1.5é", "-1.5-",
                                 "12.34.5", ".1.", "0.1234567.8"]))


SPECIES_TOKENS = st.text(st.sampled_from("AaBHOSiKrÅé_1"), min_size=1, max_size=12) \
    .filter(lambda token: len(token.encode()) <= 12)


@st.composite
def kernel_frames(draw):
    """(text of the frames, padding after them, frame-0 species, ignored columns): 1-3 frames
    of 1-30 atom lines, usually plain, sometimes with any token shape, other blanks or
    columns; 0 or 3 ignored columns (velocities) after the positions."""
    n_atoms = draw(st.integers(1, 30))
    n_extra = draw(st.sampled_from([0, 0, 3]))
    n_frames = draw(st.integers(1, 3))
    species = [draw(SPECIES_TOKENS) for _ in range(n_atoms)]
    plain = st.tuples(st.sampled_from(["", "-"]), st.integers(0, 999),
                      st.integers(0, 10 ** 10 - 1), st.sampled_from([6, 8, 10])) \
        .map(lambda v: f"{v[0]}{v[1]}.{v[2] % 10 ** v[3]:0{v[3]}d}")
    text = ""
    for frame in range(n_frames):
        text += f"{n_atoms}\nTime={frame} comment line, long enough\n"
        for atom in range(n_atoms):
            odd = draw(st.integers(0, 9)) == 0
            words = [species[atom] if not (odd and draw(st.booleans()))
                     else draw(SPECIES_TOKENS)]
            words += [draw(number_tokens() if odd else plain) for _ in range(3 + n_extra)]
            if odd and draw(st.booleans()):
                words = draw(st.sampled_from([words[:3], words + ["7"], words + ["a", "b"]]))
            separator = draw(st.sampled_from([" ", " ", "  ", "       ", "\t", " \t ", "\x0b"]
                                             if odd else [" ", " ", "  ", "       "]))
            lead = draw(st.sampled_from(["", "", " ", "   ", "\t"]))
            end = draw(st.sampled_from(["\n", "\n", "\r\n", " \n", "\t\n", "\x0c\n"]
                                       if odd else ["\n", "\n", "\n", " \n"]))
            text += lead + separator.join(words) + end
    padding = draw(st.sampled_from(["", "\n", "9" * 40, "x" * 200, "\n" * 300]))
    return text.encode(), padding.encode(), species, n_extra


def _general_frames(buf, n_frames, n_atoms, roles, expected):
    """What parse_part must give, by the general code over the frames as written (a count
    line, a comment line, ``n_atoms`` lines each): (frames before the first that does not
    parse cleanly, positions)."""
    out = np.zeros((n_frames, n_atoms, 3))
    hashes = np.empty(n_atoms, dtype=np.uint64)
    i = 0
    for k in range(n_frames):
        atoms = trajectory_text.skip_lines(buf, i, 2)
        end = trajectory_text.skip_lines(buf, atoms, n_atoms)
        status, offset, _, _ = trajectory_text.parse_atom_lines(
            buf, atoms, n_atoms, roles, False, out[k], hashes, trajectory_text._POWERS_OF_TEN)
        if status != trajectory_text.STATUS_OK or offset != end \
                or hashes.tobytes() != expected.tobytes():
            return k, out
        i = end
    return n_frames, out


def _plain_decimal(token: str) -> bool:
    body = token.lstrip("+-")
    return token.count("-") + token.count("+") <= 1 and body.count(".") <= 1 \
        and body.replace(".", "").isdigit()


@SETTINGS
@given(frames=kernel_frames(), roles_kind=st.sampled_from(["plain"] * 5 + ["other"]))
def test_kernel_lines_equal_general_code(frames, roles_kind):
    text, padding, species, n_extra = frames
    buf = np.frombuffer(text + padding, dtype=np.uint8)
    n_atoms = len(species)
    roles = np.array(([trajectory_text.COLUMN_SPECIES, 0, 1, 2] if roles_kind == "plain"
                      else [trajectory_text.COLUMN_SPECIES, 2, 0, 1])
                     + [trajectory_text.COLUMN_IGNORED] * n_extra, dtype=np.int64)
    expected = trajectory_text.species_hashes(species)
    n_frames = text.count(b"comment line, long enough")
    positions = np.zeros((8, n_atoms, 3))
    starts, ends = np.empty(8, dtype=np.int64), np.empty(8, dtype=np.int64)
    not_finite = np.zeros(1, dtype=np.int64)
    stop, *_ = trajectory_parts.parse_part(
        buf, 0, len(buf), False, n_atoms, roles, positions, 0,
        np.empty(n_atoms, dtype=np.uint64), expected, trajectory_text._POWERS_OF_TEN, starts,
        ends, not_finite)
    reference_stop, reference = _general_frames(buf, n_frames, n_atoms, roles, expected)
    assert stop == reference_stop
    assert positions[:stop].tobytes() == reference[:stop].tobytes()
    # the callers leave their finite check out only where the kernel saw every number finite
    assert not_finite[0] > 0 or np.isfinite(reference[:stop]).all()
    assert [buf[a:b].tobytes() for a, b in zip(starts[:stop], ends[:stop])] == \
        [f"Time={k} comment line, long enough".encode() for k in range(stop)]
    # and Python's float(), for the plain decimals of the frames read
    lines = [line.split() for line in text.decode().split("\n")]
    for k in range(stop):
        for atom in range(n_atoms):
            for column, role in enumerate(roles[1:4], start=1):
                token = lines[k * (n_atoms + 2) + 2 + atom][column]
                if _plain_decimal(token):
                    assert positions[k, atom, role] == float(token)
                    assert np.signbit(positions[k, atom, role]) == token.startswith("-")


def test_kernel_reads_plain_lines_fast():
    """The fast line does read plain lines (not everything handed to the general code): with
    the general code made to fail, plain frames still parse, to the digit."""
    n_atoms = 50
    rng = np.random.default_rng(3)
    values = rng.uniform(-20, 20, (n_atoms, 3))
    lines = "".join(f"Ar{' ' * (1 + k % 3)}{x:.{6 + k % 5}f} {y:.10f}  {z:.8f}\n"
                    for k, (x, y, z) in enumerate(values))
    text = f"{n_atoms}\ncomment\n{lines}".encode() + b"\n" * 128
    buf = np.frombuffer(text, dtype=np.uint8)
    start = text.index(b"\nAr") + 1
    positions = np.zeros((1, n_atoms, 3))
    expected = trajectory_text.species_hashes(["Ar"] * n_atoms)
    roles = np.array([trajectory_text.COLUMN_SPECIES, 0, 1, 2], dtype=np.int64)
    # an expected hash the general code never reaches: only the fast lines can succeed
    found, status, *_ = trajectory_parts.parse_part(
        buf, 0, 1, False, n_atoms, roles, positions, 0, np.empty(n_atoms, dtype=np.uint64),
        expected, trajectory_text._POWERS_OF_TEN, np.empty(1, dtype=np.int64),
        np.empty(1, dtype=np.int64), np.zeros(1, dtype=np.int64))
    assert found == 1 and status == trajectory_parts.PART_CUT   # the blank lines to the end
    words = [line.split() for line in lines.splitlines()]
    assert positions[0].tobytes() == np.array([[float(w) for w in row[1:]]
                                               for row in words]).tobytes()
    length, species, x, y, z, ok = trajectory_text._plain_line(
        np.uint64(buf.ctypes.data) + np.uint64(start), 4)
    assert ok and length == len(lines.splitlines()[0]) + 1
    assert species == expected[0] and (x, y, z) == tuple(float(w) for w in words[0][1:])


@given(tokens=st.lists(SPECIES_TOKENS, min_size=1, max_size=20))
@settings(max_examples=200, deadline=None, derandomize=True)
def test_species_hash_one_rule(tokens):
    """species_hashes (Python, frame 0's text) is the kernels' _species_hash of the same
    bytes, and tells different species apart (exact up to 8 bytes)."""
    hashes = trajectory_text.species_hashes(tokens)
    for token, value in zip(tokens, hashes):
        data = np.frombuffer(token.encode(), dtype=np.uint8)
        assert trajectory_text._species_hash(data, 0, data.size) == value
    short = {token for token in tokens if len(token.encode()) <= 8}
    assert len({int(v) for t, v in zip(tokens, hashes) if t in short}) == len(short)


@st.composite
def atom_lines(draw, n_extra: int) -> str:
    """One atom line of any shape the fast line must take or refuse, with ``n_extra`` ignored
    columns meant (the line may have other counts)."""
    odd = draw(st.booleans())
    words = [draw(SPECIES_TOKENS)] + [draw(number_tokens()) for _ in range(3)]
    words += [draw(st.sampled_from(["0.1234567890", "-12.5", "7", "x" * 30, "Ar", "1e-3"]))
              for _ in range(n_extra)]
    if odd:
        words = draw(st.sampled_from([words, words[:3], words + ["7"], words[:1],
                                      words[:-1] if n_extra else words]))
    separator = draw(st.sampled_from([" ", "  ", "         ", "\t", " \t ", "\x0b"] if odd
                                     else [" ", "  ", "         "]))
    lead = draw(st.sampled_from(["", "", " ", "   ", "\t"]))
    end = draw(st.sampled_from(["\n", "\r\n", " \n", "\t\n", "\x0c\n", "\x00\n"] if odd
                               else ["\n", " \n"]))
    return lead + separator.join(words) + end


@SETTINGS
@given(data=st.data(), n_extra=st.sampled_from([0, 0, 0, 1, 3, 6]))
def test_plain_line_equals_general_code(data, n_extra):
    """Line by line: where the fast line takes a line, the general code reads it the same
    (numbers bit for bit, species hash, length); the lines it takes are exactly the plain ones:
    the columns announced, a species of <= 8 bytes, numbers [-+]digits.digits of 1 to 15
    digits ending within 64 bytes, the newline within 64 bytes (128 with ignored columns),
    blanks of spaces, tabs and CR only."""
    lines = data.draw(st.lists(atom_lines(n_extra), min_size=1, max_size=30))
    roles = np.array([trajectory_text.COLUMN_SPECIES, 0, 1, 2]
                     + [trajectory_text.COLUMN_IGNORED] * n_extra, dtype=np.int64)
    for line in lines:
        encoded = line.encode()
        buf = np.frombuffer(b"#" * 16 + encoded + b"\n" * 200, dtype=np.uint8)
        length, species, x, y, z, ok = trajectory_text._plain_line(
            np.uint64(buf.ctypes.data) + np.uint64(16), 4 + n_extra)
        out = np.zeros((1, 3))
        hashes = np.zeros(1, dtype=np.uint64)
        status, offset, _, _ = trajectory_text.parse_atom_lines(
            buf, 16, 1, roles, False, out, hashes, trajectory_text._POWERS_OF_TEN)
        words = line.split()
        numbers_end = len(" ".join(words[:4]).encode())     # where blanks are single
        if len(words) >= 4:
            numbers_end = encoded.index(words[3].encode(),
                                        encoded.index(words[2].encode(),
                                                      encoded.index(words[1].encode(),
                                                                    len(words[0].encode()))
                                                      + len(words[1].encode()))
                                        + len(words[2].encode())) + len(words[3].encode())
        plain = len(encoded) <= (64 if n_extra == 0 else 128) and numbers_end < 64 \
            and len(words) == 4 + n_extra and all(
                _plain_decimal(word) and "." in word
                and 1 <= sum(c.isdigit() for c in word) <= 15 for word in words[1:4]) \
            and len(words[0].encode()) <= 8 and not any(c in line for c in "\x0b\x0c\x00")
        assert ok == plain
        if ok:
            assert status == trajectory_text.STATUS_OK and offset == 16 + length
            assert np.array([x, y, z]).tobytes() == out[0].tobytes()
            assert np.array([x, y, z]).tobytes() == np.array(
                [float(word) for word in words[1:4]]).tobytes()
            assert species == hashes[0] == trajectory_text.species_hashes(words[:1])[0]


@pytest.mark.parametrize("sign", ["", "-", "+"])
def test_plain_line_digit_limits(sign):
    """Every split of 1, 8, 9, 15 digits by the point (taken, exactly float()) and of 16 (left
    to the general code: above 2**53 one division is not always correctly rounded), in each
    number column."""
    digits = "9876543210987654"
    for n_digits in (1, 8, 9, 15, 16):
        for point in range(n_digits + 1):
            number = sign + digits[:point] + "." + digits[point:n_digits]
            for column in range(3):
                words = ["Kr", "0.5", "-2.25", "+3.125"]
                words[1 + column] = number
                line = " ".join(words) + "\n"
                buf = np.frombuffer(b"#" * 16 + line.encode() + b"\n" * 100, dtype=np.uint8)
                length, species, *values, ok = trajectory_text._plain_line(
                    np.uint64(buf.ctypes.data) + np.uint64(16), 4)
                assert ok == (n_digits <= 15), line
                if ok:
                    assert length == len(line)
                    assert np.array(values).tobytes() == np.array(
                        [float(word) for word in words[1:]]).tobytes()


@pytest.mark.parametrize("n_extra", [0, 3])
def test_plain_line_window_edges(n_extra):
    """Lines moved across the window's edges (leading blanks): the numbers ending at byte 63
    or 64, the newline at 63/64 (127/128 with ignored columns). Taken exactly where they
    fit, read as float() does."""
    core = "Ar -1.5 2.5 3.25" + " 0.1 -0.2 x3" * (n_extra // 3)
    for lead in range(80):
        for tail in ("", " " * (63 - len(core) - lead % 64)):
            line = " " * lead + core + tail + "\n"
            buf = np.frombuffer(b"#" * 16 + line.encode() + b"\n" * 200, dtype=np.uint8)
            length, species, *values, ok = trajectory_text._plain_line(
                np.uint64(buf.ctypes.data) + np.uint64(16), 4 + n_extra)
            numbers_end = lead + len("Ar -1.5 2.5 3.25")
            fits = numbers_end < 64 and len(line) <= (64 if n_extra == 0 else 128)
            assert ok == fits, (lead, len(line))
            if ok:
                assert length == len(line)
                assert values == [-1.5, 2.5, 3.25]


def _line_values(line: str, n_extra: int = 0):
    """_plain_line on ``line`` (16 bytes of '9' before it: digits a shuffle must not take)."""
    buf = np.frombuffer(b"9" * 16 + line.encode() + b"\n" * 200, dtype=np.uint8)
    return trajectory_text._plain_line(np.uint64(buf.ctypes.data) + np.uint64(16), 4 + n_extra)


@pytest.mark.parametrize("mantissa", ["vector", "words"])
def test_plain_mantissa_every_shape(mantissa):
    """Both digit readers (x86 shuffles and multiply-adds, and the word operations used
    elsewhere) give the integer of the digits for every count of digits (1-15) and place of
    the point, with digits (the number before) right below the first digit or the sign: the
    fill, the point and the 16-byte window at every offset."""
    if mantissa == "vector" and not trajectory_text._VECTOR_DIGITS:
        pytest.skip("the vector digits need x86-64 with SSSE3")
    read = getattr(trajectory_text, f"_plain_mantissa_{mantissa}")
    rng = np.random.default_rng(17)
    for n_digits in range(1, 16):
        for point in range(n_digits + 1):
            for sign in ("", "-", "+"):
                for _ in range(4):
                    digits = "".join(rng.choice(list("0123456789"), n_digits))
                    if rng.random() < 0.3:
                        digits = "9" * n_digits
                    token = sign + digits[:point] + "." + digits[point:]
                    text = "".join(rng.choice(list("0123456789"), 17)) + token + " "
                    buf = np.frombuffer(text.encode() + b" " * 16, dtype=np.uint8)
                    start = 17
                    end = start + len(token)
                    value = read(np.uint64(buf.ctypes.data), start + len(sign),
                                 start + len(sign) + point, end)
                    assert value == int(digits), token


def test_vector_digits_chosen_by_the_processor(monkeypatch):
    """The vector digits where numba compiles for x86-64 with SSSE3, the words elsewhere and
    where MDINSIM_PORTABLE_KERNELS asks (both kernels are tested above, here and in the
    line tests through whichever this machine takes)."""
    import platform

    monkeypatch.delenv("MDINSIM_PORTABLE_KERNELS", raising=False)
    from llvmlite import binding

    expected = platform.machine().lower() in ("x86_64", "amd64") \
        and binding.get_host_cpu_features().get("ssse3", False)
    if os.environ.get("NUMBA_CPU_FEATURES") is None:
        assert trajectory_text._vector_digits() == expected
    monkeypatch.setenv("MDINSIM_PORTABLE_KERNELS", "1")
    assert not trajectory_text._vector_digits()


@pytest.mark.parametrize("n_points", [(a, b, c) for a in range(3) for b in range(3)
                                      for c in range(3)])
def test_plain_line_one_point_a_number(n_points):
    """A line is taken only where each number holds exactly one point (the fast line counts
    the points of all three and checks their order against the numbers' ends)."""
    numbers = {0: "12", 1: "1.25", 2: "1.2.5"}
    for sign in ("", "-"):
        words = ["Si"] + [sign + numbers[k] for k in n_points]
        length, species, *values, ok = _line_values(" ".join(words) + "\n")
        assert ok == (n_points == (1, 1, 1))
        if ok:
            assert values == [float(word) for word in words[1:]]


@pytest.mark.parametrize("negative", [False, True])
def test_plain_line_signs_and_zeros(negative):
    """Signs in the divisor: -0.0 stays -0.0, +0.0 and '+' give +0.0, bit for bit float()."""
    for token in ("0.0", "0.", ".0", "0.000000000000", "000000000000.0", "1.5", "+0.0"):
        word = ("-" + token.lstrip("+")) if negative else token
        line = f"H {word} {word}   {word}\n"
        length, species, *values, ok = _line_values(line)
        assert ok
        assert np.array(values).tobytes() == np.array([float(word)] * 3).tobytes(), line


@pytest.mark.parametrize("threads", [1, 2])
def test_frames_kept_by_the_caller_stay_as_read(tmp_path, monkeypatch, threads):
    """Part arrays and text buffers are used again only once nothing refers to them: frames
    a caller keeps (no copy) still hold their own numbers after all the others are read."""
    path = tmp_path / "t.xyz"
    written = _write_frames(path, 50, 40)
    monkeypatch.setattr(trajectory_parts, "parse_threads", lambda: threads)
    monkeypatch.setattr(trajectory_parts, "PART_BYTES", 5000)
    monkeypatch.setattr(trajectory_parts, "MIN_FRAMES_PER_PART", 0)
    with open_trajectory(path) as reader:
        kept = list(reader.frames())
        every_other = [positions for index, positions in enumerate(reader.frames())
                       if index % 2 == 0]
    expected = _as_written(written)
    np.testing.assert_array_equal(np.array(kept), expected)
    np.testing.assert_array_equal(np.array(every_other), expected[::2])


def _open_descriptors(path) -> int:
    """File descriptors of this process open on ``path``."""
    count = 0
    for entry in os.scandir("/proc/self/fd"):
        try:
            count += os.path.samefile(os.readlink(entry.path), path)
        except OSError:
            continue
    return count


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc")
def test_parts_end_with_the_caller(tmp_path, monkeypatch):
    """A caller that stops early (the primitive-cell check reads two frames) ends the parts:
    those in flight are waited for and the file closed, nothing is left reading it."""
    import itertools

    path = tmp_path / "t.xyz"
    written = _write_frames(path, 50, 200)
    monkeypatch.setattr(trajectory_parts, "parse_threads", lambda: 2)
    monkeypatch.setattr(trajectory_parts, "PART_BYTES", 5000)
    monkeypatch.setattr(trajectory_parts, "MIN_FRAMES_PER_PART", 0)
    started = []
    run = FrameParts._run
    monkeypatch.setattr(FrameParts, "_run", lambda self, part: started.append(part) or
                        run(self, part))
    with open_trajectory(path) as reader:
        frames = reader.frames()
        first = [positions.copy() for positions in itertools.islice(frames, 3)]
        assert _open_descriptors(path) >= 2         # the frame-by-frame text and the parts'
        frames.close()
        assert _open_descriptors(path) == 0
    assert 1 < len(started) < 20                    # a few parts ahead, not the whole file
    np.testing.assert_array_equal(np.array(first), _as_written(written[:3]))


def test_parts_without_positional_reads(tmp_path, monkeypatch):
    """Where the system has no ``preadv`` (Windows), the threads read the parts through one
    file under a lock: the same frames."""
    path = tmp_path / "t.xyz"
    written = _write_frames(path, 40, 50)
    monkeypatch.delattr(os, "preadv")
    monkeypatch.setattr(trajectory_parts, "parse_threads", lambda: 3)
    monkeypatch.setattr(trajectory_parts, "PART_BYTES", 3000)
    monkeypatch.setattr(trajectory_parts, "MIN_FRAMES_PER_PART", 0)
    with open_trajectory(path) as reader:
        frames = np.array([positions.copy() for positions in reader.frames()])
    assert frames.tobytes() == _as_written(written).tobytes()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offset=st.integers(0, 3 * 4096), size=st.integers(0, 9000),
       buffer_shift=st.integers(0, 4095), positional=st.booleans())
def test_read_at_gives_the_bytes_at_a_congruent_address(tmp_path, monkeypatch, offset, size,
                                                        buffer_shift, positional):
    """A part's bytes are the file's from its offset (fewer only at the file's end), at an
    address whose distance to the offset is whole pages (the kernel copies slowly into a
    buffer 1-31 bytes past its source on AMD Zen), whatever the buffer's own address."""
    path = tmp_path / "t.bin"
    if not path.exists():
        path.write_bytes(np.random.default_rng(5).integers(0, 256, 4 * 4096 + 123,
                                                           dtype=np.uint8).tobytes())
    content = path.read_bytes()
    with monkeypatch.context() as patch:
        if not positional:
            patch.delattr(os, "preadv")
        reader = trajectory_parts._PositionalFile(path)
        try:
            page = trajectory_parts.PAGE_BYTES
            buffer = np.empty(size + 2 * page, dtype=np.uint8)[buffer_shift:][:size + page]
            text = reader.read_at(offset, size, buffer)
            fresh = reader.read_at(offset, size)
        finally:
            reader.close()
    assert text.tobytes() == fresh.tobytes() == content[offset:offset + size]
    assert (text.ctypes.data - offset) % page == 0 or len(text) == 0


@pytest.mark.parametrize("threads", [1, 2])
def test_file_growing_while_read(tmp_path, monkeypatch, threads):
    """Frames written while the file is read (an MD run still going) are read too, as the
    frame-by-frame reading would: the parts read what the file holds, then go on."""
    path = tmp_path / "t.xyz"
    written = _write_frames(path, 30, 40)
    first_half = path.read_bytes()
    cut = first_half.index(b"30\nTime=20.0")
    path.write_bytes(first_half[:cut])
    monkeypatch.setattr(trajectory_parts, "parse_threads", lambda: threads)
    monkeypatch.setattr(trajectory_parts, "PART_BYTES", 4000)
    monkeypatch.setattr(trajectory_parts, "MIN_FRAMES_PER_PART", 0)
    frames = []
    with open_trajectory(path) as reader:
        for index, positions in enumerate(reader.frames()):
            frames.append(positions.copy())
            if index == 5:
                with open(path, "ab") as handle:
                    handle.write(first_half[cut:])
    assert np.array(frames).tobytes() == _as_written(written).tobytes()


@pytest.mark.parametrize("threads", [1, 2])
def test_buffer_ending_at_a_frame_end_reads_on(tmp_path, monkeypatch, threads):
    """A part's buffer that ends exactly where a frame ends (no byte of the next) is read on:
    frames of one size, parts of that size and no margin (this hung before READ_ON_BYTES)."""
    path = tmp_path / "t.xyz"
    rng = np.random.default_rng(5)
    positions = rng.uniform(1, 9, (12, 7, 3))
    frame_text = ['7\nLattice="10 0 0 0 10 0 0 0 10" Properties=species:S:1:pos:R:3\n'
                  + "".join(f"Si {x:.6f} {y:.6f} {z:.6f}\n" for x, y, z in frame)
                  for frame in positions]
    assert len({len(text) for text in frame_text}) == 1
    path.write_text("".join(frame_text))
    monkeypatch.setattr(trajectory_parts, "parse_threads", lambda: threads)
    monkeypatch.setattr(trajectory_parts, "PART_BYTES", len(frame_text[0]))
    monkeypatch.setattr(trajectory_parts, "MIN_FRAMES_PER_PART", 0)
    monkeypatch.setattr(trajectory_parts, "MARGIN_FRAMES", 0)
    monkeypatch.setattr(trajectory_parts, "SLACK_BYTES", 0)
    with open_trajectory(path) as reader:
        frames = np.array([frame.copy() for frame in reader.frames()])
    expected = np.array([[[float(f"{v:.6f}") for v in atom] for atom in frame]
                         for frame in positions])
    assert frames.tobytes() == expected.tobytes()


@pytest.mark.parametrize("threads", [1, 2])
def test_readers_share_buffers_safely(tmp_path, monkeypatch, threads):
    """The parts' texts and arrays are kept for the process and shared by its readers: a
    second reading takes the buffers of the first (no new ones), frames a caller keeps from
    one file stay as read while others are read, and readers of two files on two threads at
    once each get their own file's numbers."""
    import threading

    from mantid_mdinsim.execution import READER_THREADS

    first_path, second_path = tmp_path / "a.xyz", tmp_path / "b.xyz"
    first = _as_written(_write_frames(first_path, 60, 50, seed=1))
    second = _as_written(_write_frames(second_path, 60, 50, seed=2))
    monkeypatch.setattr(trajectory_parts, "parse_threads", lambda: threads)
    monkeypatch.setattr(trajectory_parts, "PART_BYTES", 6000)
    monkeypatch.setattr(trajectory_parts, "MIN_FRAMES_PER_PART", 0)

    def read(path, keep: bool = False):
        with open_trajectory(path) as reader:
            return [positions if keep else positions.copy() for positions in reader.frames()]

    assert np.array(read(first_path)).tobytes() == first.tobytes()
    texts = [id(text) for text in trajectory_parts._TEXTS._kept]
    assert np.array(read(first_path)).tobytes() == first.tobytes()
    assert [id(text) for text in trajectory_parts._TEXTS._kept] == texts

    kept = read(first_path, keep=True)          # views of the parts' arrays
    results: dict = {}

    def read_on_thread(name, path) -> None:
        token = READER_THREADS.set(threads)
        try:
            results[name] = [np.array(read(path)) for _ in range(3)]
        finally:
            READER_THREADS.reset(token)

    workers = [threading.Thread(target=read_on_thread, args=(name, path))
               for name, path in (("first", first_path), ("second", second_path))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert np.array(kept).tobytes() == first.tobytes()
    for passes, expected in ((results["first"], first), (results["second"], second)):
        assert len(passes) == 3
        assert all(frames.tobytes() == expected.tobytes() for frames in passes)


def test_kept_buffers_trimmed():
    """Buffers kept past their readers are trimmed to the bytes allowed, the largest let go
    first; one still held by somebody keeps its contents."""
    reused = trajectory_text._Reused(lambda size: np.empty(size, dtype=np.uint8), len, keep=8)
    held = reused.take(4000)
    held[:] = 7
    others = [reused.take(size) for size in (100, 2000, 10)]
    del others
    assert sorted(len(item) for item in reused._kept) == [13, 126, 2501, 5001]
    reused.trim(3000)
    assert sorted(len(item) for item in reused._kept) == [13, 126, 2501]
    assert (held == 7).all()
    reused.trim(0)
    assert reused._kept == []
    assert len(reused.take(50)) == 63


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork only")
def test_forked_child_takes_buffers(tmp_path, monkeypatch):
    """A child forked while another thread of the parent takes a buffer (holds the kept
    buffers' lock) reads on: the lock is a new one in the child, not one held for ever."""
    import multiprocessing

    path = tmp_path / "t.xyz"
    written = _as_written(_write_frames(path, 40, 30))
    monkeypatch.setattr(trajectory_parts, "PART_BYTES", 3000)
    monkeypatch.setattr(trajectory_parts, "MIN_FRAMES_PER_PART", 0)
    monkeypatch.setattr(trajectory_parts, "parse_threads", lambda: 2)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()

    def child() -> None:
        with open_trajectory(path) as reader:
            queue.put(np.array([positions.copy() for positions in reader.frames()]).tobytes())

    locks = [trajectory_parts._TEXTS._lock, trajectory_text._CHUNKS._lock]
    for lock in locks:
        lock.acquire()
    try:
        process = context.Process(target=child)
        process.start()
    finally:
        for lock in locks:
            lock.release()
    try:
        data = queue.get(timeout=120)
    finally:
        process.join(timeout=60)
        if process.is_alive():              # hung: not left behind
            process.kill()
    assert data == written.tobytes()


def test_kept_buffers_grow_with_the_readers_at_once():
    """More buffers in use at once than ``keep`` (a Dask worker's threads each reading) are
    all kept, so that each is used again, not replaced by a new one for every part; a new
    buffer that is needed lets go of a free one (too small) once ``keep`` are kept."""
    reused = trajectory_text._Reused(lambda size: np.empty(size, dtype=np.uint8), len, keep=2)
    held = [reused.take(100) for _ in range(5)]
    assert len({id(item) for item in held}) == 5 and len(reused._kept) == 5
    first = {id(item) for item in held}
    del held
    again = [reused.take(100) for _ in range(5)]
    assert {id(item) for item in again} == first          # no new buffers
    kept_before = [id(item) for item in reused._kept]
    del again
    large = reused.take(10_000)                            # none fits: the first free goes
    assert [id(item) for item in reused._kept] == kept_before[1:] + [id(large)]
