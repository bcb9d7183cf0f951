"""A frame's atom lines parsed in parts on several threads (issue 17) give what one pass gives:
the same doubles bit for bit, the same species hashes, the same first error (status, line,
column) and the same position in the file; frames not wholly in the buffer still go through the
one pass with its refills (NEED_MORE).

The reference is the sequential kernel itself (one pass, one thread); the examples cover every
number form the kernel reads (fixed, exponents with e/E/d, nan/inf, long mantissas, signs, a
leading or trailing point), blanks (tabs, CR, several spaces, a blank line) and errors at
random lines. The split points are guessed from ``_bytes_per_line``: any guess must give the
same result, so the examples draw it too.
"""

from __future__ import annotations

import os
import tempfile
import threading

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mantid_mdinsim.execution import READER_THREADS, thread_limits
from mantid_mdinsim.io import trajectory_text
from mantid_mdinsim.io.trajectory_text import STATUS_OK, ChunkedText, parse_threads

SETTINGS = settings(max_examples=int(os.environ.get("MDINSIM_FUZZ_EXAMPLES", 150)),
                    deadline=None, derandomize=True)

NUMBERS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
    st.floats(-1e4, 1e4).map(lambda x: f"{x:.8f}"),
    st.floats(-1e4, 1e4).map(lambda x: f"{x:.17g}"),
    st.floats(-1e30, 1e30).map(lambda x: f"{x:.6e}".replace("e", "D")),
    st.integers(-10**25, 10**25).map(str),
    st.sampled_from(["nan", "-inf", "+Inf", "1.", ".5", "-0.0", "+3", "1e308", "1e-320",
                     "123456789012345678901234.5", "0.000000000000000000001234"]),
)
BAD = st.sampled_from(["x", "1.2.3", "--1", "1e", "0x10", "1,5", "nanx", "."])
SEPARATORS = st.sampled_from([" ", "  ", "\t", " \t "])


@st.composite
def blocks(draw):
    """The text of ``n_lines`` atom lines (species + 3 numbers), maybe spoilt at some lines,
    followed by the next frame's header."""
    n_lines = draw(st.integers(2, 40))
    lines = []
    for _ in range(n_lines):
        words = [draw(st.sampled_from(["Si", "O", "H2"]))]
        words += [draw(NUMBERS) for _ in range(3)]
        separator = draw(SEPARATORS)
        lines.append(draw(st.sampled_from(["", " "])) + separator.join(words)
                     + draw(st.sampled_from(["", " ", "\r"])))
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):   # errors at random lines
        index = draw(st.integers(0, n_lines - 1))
        kind = draw(st.sampled_from(["bad", "few", "many", "blank"]))
        words = lines[index].split()
        if kind == "bad":
            words[draw(st.integers(1, 3))] = draw(BAD)
        elif kind == "few":
            words = words[:draw(st.integers(1, 3))]
        elif kind == "many":
            words.append(draw(NUMBERS))
        else:
            words = []
        lines[index] = " ".join(words)
    text = "\n".join(lines) + "\n" + draw(st.sampled_from(["3\nnext frame\n", ""]))
    return n_lines, text.encode()


ROLES = np.array([trajectory_text.COLUMN_SPECIES, 0, 1, 2], dtype=np.int64)


def _parse(path, n_lines, threads, bytes_per_line, chunk_bytes, monkeypatch):
    monkeypatch.setattr(trajectory_text, "MIN_LINES_PER_PART", 1)
    text = ChunkedText(path, chunk_bytes=chunk_bytes)
    text.refill()   # as the reader's header lines do
    text._bytes_per_line = bytes_per_line
    out = np.full((n_lines, 3), -7.0)
    hashes = np.zeros(n_lines, dtype=np.uint64)
    token = READER_THREADS.set(threads)
    try:
        status, line, column = text.parse_lines(n_lines, ROLES, out, hashes)
    finally:
        READER_THREADS.reset(token)
        text.close()
    return (status, line, column), out, hashes, text.offset, text.line_number


@SETTINGS
@given(block=blocks(), threads=st.integers(2, 4), guess=st.floats(0.02, 1.5),
       chunk_bytes=st.sampled_from([1 << 21, 1 << 21, 1 << 21, 64, 333]))
def test_parts_equal_one_pass(block, threads, guess, chunk_bytes):
    from _pytest.monkeypatch import MonkeyPatch

    n_lines, data = block
    bytes_per_line = guess * len(data) / n_lines
    with tempfile.TemporaryDirectory() as folder, MonkeyPatch.context() as monkeypatch:
        path = os.path.join(folder, "block.txt")
        with open(path, "wb") as handle:
            handle.write(data)
        one = _parse(path, n_lines, 1, bytes_per_line, chunk_bytes, monkeypatch)
        parts = _parse(path, n_lines, threads, bytes_per_line, chunk_bytes, monkeypatch)
    (status, line, column), out, hashes, offset, line_number = one
    assert parts[0] == (status, line, column)
    # The rows before the first error are written alike (after it one pass stops: undefined).
    rows = n_lines if status == STATUS_OK else line
    np.testing.assert_array_equal(parts[1][:rows].view(np.uint64), out[:rows].view(np.uint64))
    np.testing.assert_array_equal(parts[2][:rows], hashes[:rows])
    if status == STATUS_OK:
        assert (parts[3], parts[4]) == (offset, line_number)


def test_parts_used_and_limited(tmp_path, monkeypatch):
    """The parallel path does run for a large frame in the buffer, and a piece given one
    thread (a Dask worker with --threads-per-worker 1) parses on one."""
    monkeypatch.setattr(trajectory_text, "MIN_LINES_PER_PART", 2)
    path = tmp_path / "block.txt"
    rng = np.random.default_rng(5)
    values = rng.uniform(-10, 10, size=(50, 3)).tolist()
    path.write_text("".join(f"Si {x:.10f} {y:.6e} {z!r}\n" for x, y, z in values))
    calls = []
    original = trajectory_text.ChunkedText._parse_in_parts
    monkeypatch.setattr(trajectory_text.ChunkedText, "_parse_in_parts",
                        lambda self, *args: calls.append(args[1]) or original(self, *args))
    for threads, expected in ((1, []), (3, [3])):
        calls.clear()
        with thread_limits(threads):
            assert parse_threads() == threads
            text = ChunkedText(path)
            text.refill()
            text._bytes_per_line = 40.0
            out, hashes = np.empty((50, 3)), np.empty(50, dtype=np.uint64)
            assert text.parse_lines(50, ROLES, out, hashes) == (STATUS_OK, 50, 0)
            text.close()
        assert calls == expected
        # against Python's float(), bit for bit
        np.testing.assert_array_equal(out, [[float(w) for w in line.split()[1:]]
                                            for line in path.read_text().splitlines()])
    # daemons: a thread alive at exit would keep lifetime.end_process from its fast exit
    parsers = [t for t in threading.enumerate() if t.name.startswith("mdinsim-parse")]
    assert parsers and all(t.daemon for t in parsers)


def _read_all(path, threads):
    from mantid_mdinsim.errors import MdinsimError
    from mantid_mdinsim.io.trajectory import open_trajectory

    token = READER_THREADS.set(threads)
    try:
        with open_trajectory(path) as reader:
            return np.array(list(reader.frames())), None
    except MdinsimError as error:
        return None, str(error)
    finally:
        READER_THREADS.reset(token)


def test_reader_errors_name_the_same_line(tmp_path, monkeypatch):
    """Through the extended-XYZ reader: the frames bit for bit, and a bad number in the
    second half of a frame reported at the same file line and column, on 1 and 4 threads."""
    monkeypatch.setattr(trajectory_text, "MIN_LINES_PER_PART", 2)
    rng = np.random.default_rng(11)
    lines = []
    for index in range(3):
        lines += ["20", f'Time={index}.0 Lattice="6 0 0 0 6 0 0 0 6" '
                  'Properties=species:S:1:pos:R:3']
        lines += [f"Si {x:.9f} {y:.4e} {z!r}" for x, y, z in rng.uniform(0, 6, (20, 3)).tolist()]
    good = tmp_path / "good.xyz"
    good.write_text("\n".join(lines) + "\n")
    one, _ = _read_all(good, 1)
    parts, _ = _read_all(good, 4)
    np.testing.assert_array_equal(parts.view(np.uint64), one.view(np.uint64))
    lines[2 * 22 + 2 + 15] = "Si 1.0 2.0 x3"          # frame 2, atom 15
    bad = tmp_path / "bad.xyz"
    bad.write_text("\n".join(lines) + "\n")
    _, message_one = _read_all(bad, 1)
    _, message_parts = _read_all(bad, 4)
    # 2 frames of 22 lines, 2 header lines, then atom 15: line 62 of the file
    assert message_one is not None and "(line 62)" in message_one
    assert message_parts == message_one
