"""Fast parsing of the atom lines of text trajectories (extended XYZ, LAMMPS dump).

The text of a trajectory is what limits the end-to-end speed of an S(q,w) calculation when it is
parsed with Python string operations per line (dynasor's readers spend most of their time there).
Here a frame's atom lines are parsed in one numba call straight from the bytes of the file: the
numeric columns go into a float array and the species column into a 64-bit hash per atom, which is
enough to check that the species never change from frame to frame (their text is read once, from
the first frame, in Python).

:class:`ChunkedText` reads the file in large chunks, so memory stays bounded by the chunk size
(a few frames), whatever the length of the trajectory.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import weakref
from pathlib import Path

import numba
from llvmlite import ir as llvm_ir
from numba.core import cgutils, types
from numba.cpython.unsafe.numbers import trailing_zeros
from numba.extending import intrinsic
import numpy as np

from .. import numba_loading  # noqa: F401  (before the first kernel call: leaner set-up)
from ..errors import InputFileError
from .trajectory import UTF8_BOM, TrajectoryReader

#: Column roles for :func:`parse_atom_lines`.
COLUMN_IGNORED = -1
COLUMN_SPECIES = -2

#: Status codes of :func:`parse_atom_lines`.
STATUS_OK = 0
STATUS_NEED_MORE = 1     # the buffer ended before the last line did
STATUS_BAD_NUMBER = 2    # a numeric column holds something that is not a number
STATUS_TOO_FEW = 3       # a line has fewer columns than the header announces
STATUS_TOO_MANY = 4      # a line has more columns than the header announces

# Exact powers of ten: dividing an integer mantissa below 2**53 by one of these is correctly
# rounded, so "%.8f"-style text converts exactly as Python's float() would.
_POWERS_OF_TEN = np.array([10.0 ** k for k in range(23)])

_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)


@numba.njit(cache=True, inline="always")
def _is_space(c: int) -> bool:
    return c == 32 or c == 9 or c == 13 or c == 11 or c == 12


@numba.njit(cache=True, inline="always")
def _digits(buf, i, end, mantissa, digits, exponent, fraction):
    """Decimal digits from ``buf[i]`` on, added to ``mantissa`` (at most 18 significant digits
    kept; beyond them a digit of the integer part raises the ``exponent``); in the ``fraction``
    each digit kept lowers the exponent. Returns (i after them, mantissa, digits, exponent,
    whether any digit was read)."""
    seen = False
    while i < end and 48 <= buf[i] <= 57:
        seen = True
        if digits < 18:
            mantissa = mantissa * 10 + (buf[i] - 48)
            if mantissa > 0:
                digits += 1
            if fraction:
                exponent -= 1
        elif not fraction:
            exponent += 1
        i += 1
    return i, mantissa, digits, exponent, seen


@numba.njit(cache=True)
def _parse_number(buf, i, end, powers):
    """Parse the number in ``buf[i:end]``; return ``(value, ok)``. ``nan``/``inf`` are numbers."""
    sign = 1.0
    if i < end and (buf[i] == 45 or buf[i] == 43):  # - +
        if buf[i] == 45:
            sign = -1.0
        i += 1
    if i < end and (buf[i] | 32) in (110, 105):  # nan, inf (any case)
        length = end - i
        if length == 3 and (buf[i] | 32) == 110 and (buf[i + 1] | 32) == 97 \
                and (buf[i + 2] | 32) == 110:
            return np.nan, True
        if length >= 3 and (buf[i] | 32) == 105 and (buf[i + 1] | 32) == 110 \
                and (buf[i + 2] | 32) == 102:
            return sign * np.inf, True
        return 0.0, False
    i, mantissa, digits, exponent, seen_digit = _digits(buf, i, end, 0, 0, 0, False)
    if i < end and buf[i] == 46:  # .
        i, mantissa, digits, exponent, seen_fraction = _digits(buf, i + 1, end, mantissa,
                                                               digits, exponent, True)
        seen_digit = seen_digit or seen_fraction
    if not seen_digit:
        return 0.0, False
    if i < end and (buf[i] | 32) in (101, 100):  # e E d D
        i += 1
        exp_sign = 1
        if i < end and (buf[i] == 45 or buf[i] == 43):
            if buf[i] == 45:
                exp_sign = -1
            i += 1
        if i >= end:
            return 0.0, False
        value = 0
        while i < end and 48 <= buf[i] <= 57:
            if value < 100000:
                value = value * 10 + (buf[i] - 48)
            i += 1
        exponent += exp_sign * value
    if i != end:
        return 0.0, False
    return sign * _scale(mantissa, exponent, powers), True


@numba.njit(cache=True, inline="always")
def _two_product(a, b):
    """p + e == a * b exactly (Dekker's product, no FMA needed)."""
    p = a * b
    t = 134217729.0 * a
    a_high = t - (t - a)
    a_low = a - a_high
    t = 134217729.0 * b
    b_high = t - (t - b)
    b_low = b - b_high
    e = ((a_high * b_high - p) + a_high * b_low + a_low * b_high) + a_low * b_low
    return p, e


@numba.njit(cache=True)
def _scale(mantissa, exponent, powers):
    """mantissa * 10**exponent, correctly rounded in practice.

    Below 2**53, with |exponent| <= 22, the mantissa and the power of ten are exact doubles and
    one division (or product) rounds once. Otherwise (%.17g output, as GPUMD writes, or large
    exponents) the value is carried as a pair of doubles (the mantissa split exactly in two)
    through divisions by exact powers of ten with the exact remainder, and rounded once at the
    end, as Python's float() does.
    """
    if exponent == 0:
        return float(mantissa)
    if mantissa < 9007199254740992 and -22 <= exponent <= 22:  # 2**53
        return float(mantissa) / powers[-exponent] if exponent < 0 \
            else float(mantissa) * powers[exponent]
    high = float(mantissa)
    low = float(mantissa - np.int64(high))
    while exponent < 0:
        step = min(22, -exponent)
        power = powers[step]
        quotient = high / power
        product, error = _two_product(quotient, power)
        correction = (((high - product) - error) + low) / power
        high = quotient + correction
        low = correction - (high - quotient)
        exponent += step
    while exponent > 0:
        step = min(22, exponent)
        product, error = _two_product(high, powers[step])
        correction = error + low * powers[step]
        high = product + correction
        low = correction - (high - product)
        exponent -= step
    return high


_ZEROS8 = np.uint64(0x3030303030303030)
_HIGH_NIBBLES = np.uint64(0xF0F0F0F0F0F0F0F0)
_SIXES = np.uint64(0x0606060606060606)


@numba.njit(cache=True, inline="always")
def _load_eight(buf, i):
    """``buf[i:i + 8]`` as a little-endian 64-bit word (the compiler makes it one load: the
    index unsigned, so that no byte's load waits on a negative-index wrap-around)."""
    base = np.uint64(i)
    word = np.uint64(0)
    for k in range(8):
        word |= np.uint64(buf[base + np.uint64(k)]) << np.uint64(8 * k)
    return word


@numba.njit(cache=True, inline="always")
def _eight_digits(word):
    """Every byte of ``word`` is an ASCII digit: 0x3_, and still 0x3_ after adding 6."""
    return (word & _HIGH_NIBBLES) == _ZEROS8 and \
        ((word + _SIXES) & _HIGH_NIBBLES) == _ZEROS8


@numba.njit(cache=True, inline="always")
def _eight_digit_value(word):
    """The integer of 8 ASCII digits (first digit in the lowest byte): pairs, then fours,
    then the eight combined, each in one product (no carry crosses a lane)."""
    value = word - _ZEROS8
    value = (value * np.uint64(10) + (value >> np.uint64(8))) & np.uint64(0x00FF00FF00FF00FF)
    value = (value * np.uint64(100) + (value >> np.uint64(16))) & np.uint64(0x0000FFFF0000FFFF)
    value = (value * np.uint64(10000) + (value >> np.uint64(32))) & np.uint64(0xFFFFFFFF)
    return np.int64(value)


@numba.njit(cache=True, inline="always")
def _token_end(buf, i, size):
    """The offset of the first blank or newline from ``buf[i]`` on (``size`` if none)."""
    while i < size and buf[i] != 10 and not _is_space(buf[i]):
        i += 1
    return i


@numba.njit(cache=True, nogil=True)
def parse_atom_lines(buf, start, n_lines, roles, at_eof, out, hashes, powers):
    """Parse ``n_lines`` whitespace-separated lines of ``len(roles)`` columns from ``buf[start:]``.

    ``roles[c]`` is the output column of ``out`` for a numeric column, ``COLUMN_SPECIES`` for the
    species column (hashed into ``hashes``) or ``COLUMN_IGNORED``.

    Returns ``(status, offset, line, column)``: the status code, the offset after the last parsed
    line, and the line (0-based within the block) and column where a problem was found.
    """
    n_cols = roles.shape[0]
    size = buf.shape[0]
    i = start
    for line in range(n_lines):
        column = 0
        while True:
            # skip blanks, stop at end of line
            while i < size and _is_space(buf[i]):
                i += 1
            if i >= size:
                if not at_eof:
                    return STATUS_NEED_MORE, start, line, column
                break
            if buf[i] == 10:  # newline
                i += 1
                break
            token_start = i
            role = roles[column] if column < n_cols else COLUMN_IGNORED
            if role >= 0:
                # The common number of a trajectory, [-+]digits[.digits] with at most 15
                # digits, followed by a blank or a newline, is read in this one pass (three
                # times faster than finding the token's end, then parsing it): below 10**15
                # the mantissa is an exact double and one division by an exact power of ten
                # rounds once, as Python's float() does. Anything else (exponents, nan, long
                # mantissas, a token the buffer cuts) goes to _parse_number.
                j = i
                negative = False
                if buf[j] == 45 or buf[j] == 43:  # - +
                    negative = buf[j] == 45
                    j += 1
                mantissa = 0
                n_digits = 0
                fraction_digits = 0
                seen_point = False
                while j < size:
                    c = buf[j]
                    digit = np.int64(c) - 48
                    if 0 <= digit <= 9:
                        mantissa = mantissa * 10 + digit
                        n_digits += 1
                        if seen_point:
                            fraction_digits += 1
                    elif c == 46 and not seen_point:  # .
                        seen_point = True
                        # the first 8 digits of the fraction at once, where they are 8
                        # digits (the mantissa and digit counts as the loop would make them)
                        if j + 9 <= size:
                            word = _load_eight(buf, j + 1)
                            if _eight_digits(word):
                                mantissa = mantissa * 100000000 + _eight_digit_value(word)
                                n_digits += 8
                                fraction_digits += 8
                                j += 8
                    else:
                        break
                    j += 1
                if j < size and (buf[j] == 32 or buf[j] == 10 or buf[j] == 9 or buf[j] == 13) \
                        and 0 < n_digits <= 15:
                    value = float(mantissa) / powers[fraction_digits]
                    out[line, role] = -value if negative else value
                    i = j
                    column += 1
                    continue
            i = _token_end(buf, i, size)
            if i >= size and not at_eof:
                return STATUS_NEED_MORE, start, line, column
            if column >= n_cols:
                return STATUS_TOO_MANY, i, line, column
            if role >= 0:
                value, ok = _parse_number(buf, token_start, i, powers)
                if not ok:
                    return STATUS_BAD_NUMBER, i, line, column
                out[line, role] = value
            elif role == COLUMN_SPECIES:
                hashes[line] = _species_hash(buf, token_start, i)
            column += 1
        if column < n_cols:
            if i >= size:  # the file ends inside this line: truncated, not garbled
                return STATUS_NEED_MORE, i, line, column
            return STATUS_TOO_FEW, i, line, column
    return STATUS_OK, i, n_lines, 0


@numba.njit(cache=True)
def skip_lines(buf, start, n_lines):
    """Offset after ``n_lines`` newlines from ``start``, or -1 where the buffer ends first."""
    i = start
    size = buf.shape[0]
    found = 0
    while found < n_lines:
        while i < size and buf[i] != 10:
            i += 1
        if i >= size:
            return -1
        i += 1
        found += 1
    return i


@numba.njit(cache=True, nogil=True)
def _count_line_value(buf, i, size):
    """The integer of a count line from ``buf[i]`` on (blanks, digits, blanks, a newline):
    ``(value, offset after its newline)``; ``(-1, -1)`` where the line is anything else,
    ``(-2, -2)`` where the buffer ends first."""
    while i < size and _is_space(buf[i]):
        i += 1
    value = 0
    digits = 0
    while i < size and 48 <= buf[i] <= 57:
        value = value * 10 + (buf[i] - 48)
        digits += 1
        i += 1
        if digits > 15:
            return -1, -1
    while i < size and _is_space(buf[i]):
        i += 1
    if i >= size:
        return -2, -2
    if digits == 0 or buf[i] != 10:
        return -1, -1
    return value, i + 1


# -- the species hash: one rule ------------------------------------------------------------------
# A species of at most 8 bytes is its own bytes as a little-endian word (exact: no two such
# species share a value, and the fast line below takes it from the word it loaded); a longer
# one is its FNV-1a hash with the low byte cleared, so it never equals the word of a short
# species whose first character is not NUL (frame 0's species are element symbols: a later
# frame's species is compared with those).

_SHORT_SPECIES_BYTES = 8
_LOW_BYTE_CLEARED = np.uint64(0xFFFFFFFFFFFFFF00)


@numba.njit(cache=True, inline="always")
def _species_hash(buf, start, end):
    """The hash of the species ``buf[start:end]`` (see :func:`species_hashes`)."""
    if end - start <= _SHORT_SPECIES_BYTES:
        word = np.uint64(0)
        for k in range(start, end):
            word |= np.uint64(buf[k]) << np.uint64(8 * (k - start))
        return word
    h = _FNV_OFFSET
    for k in range(start, end):
        h = (h ^ np.uint64(buf[k])) * _FNV_PRIME
    return h & _LOW_BYTE_CLEARED


def species_hashes(tokens: list[str]) -> np.ndarray:
    """The hashes :func:`parse_atom_lines` computes, for species read as text (frame 0): the
    UTF-8 bytes as a little-endian word up to 8 bytes, else FNV-1a with its low byte cleared
    (the rule of :func:`_species_hash`)."""
    prime, mask = int(_FNV_PRIME), (1 << 64) - 1
    cache: dict[str, int] = {}
    for token in set(tokens):       # a few species: each hashed once
        data = token.encode()
        if len(data) <= _SHORT_SPECIES_BYTES:
            h = int.from_bytes(data, "little")
        else:
            h = int(_FNV_OFFSET)
            for byte in data:
                h = ((h ^ byte) * prime) & mask
            h &= int(_LOW_BYTE_CLEARED)
        cache[token] = h
    return np.fromiter(map(cache.__getitem__, tokens), dtype=np.uint64, count=len(tokens))


# -- the plain atom line, read by bit masks (issue 17) ------------------------------------------
# The lines of nearly every trajectory are ``species x y z`` with numbers ``[-+]d.ddd`` of <= 15
# digits. Read byte by byte, each token costs branches that the processor mispredicts whenever
# the layout varies (a sign or not, 1 or 2 integer digits, blank runs of varying width), and
# each token's start waits on the end of the one before. Here the line's first 64 bytes are
# compared at once (vector compares: one bit a byte, as simdjson does) into masks of the
# separators, newlines, digits, points and signs; the tokens' bounds come from those masks by
# trailing-zero counts (starts, ends and points each their own chain), the whole line is
# checked against them in a few word operations, and the three numbers are then converted
# independently (the processor overlaps them): on x86 each number's 16 bytes by one byte
# shuffle (the point out, the bytes below the first digit zeroed) and three multiply-adds
# (_sixteen_digits_value), elsewhere as two words of 8 digits (_eight_digit_value); the sign is
# in the divisor (_SIGNED_POWERS). A line that holds anything else (exponents, long
# numbers, species of more than 8 bytes, integers, other blanks or controls, a line longer than
# 64 bytes, or 128 with ignored columns, the buffer's end near) is left to parse_atom_lines,
# which reads the rest of its frame: the numbers are the same bit for bit (the same integer
# mantissa divided once by the same exact power of ten), and errors are always those of
# parse_atom_lines. Words are read little-endian: on a big-endian machine (none that numba
# runs on today) the general code reads every line.

#: A fast line's numbers end within this many bytes from its start (GPUMD's 3-column lines are
#: about 45 bytes, ASE's 54), its newline within twice that (ignored columns: velocities...);
#: the buffer must hold _FAST_BYTES bytes from the line's start, and 16 before it (a number's
#: digits are read as the two words before its end).
_LINE_WINDOW = 64
_FAST_BYTES = 2 * _LINE_WINDOW
_PLAIN_LINES = sys.byteorder == "little"
#: The divisors of a plain number: 10**n for n fraction digits, at 16 + n negated (the sign in
#: the one division: -(m / p) == m / -p, rounded the same, and -0.0 stays -0.0).
_SIGNED_POWERS = np.concatenate([_POWERS_OF_TEN[:16], -_POWERS_OF_TEN[:16]])


def _window_mask(predicate: str, value: int, offset: int = 0):
    """An intrinsic ``mask(address)``: bit k set where ``(byte[address + k] - offset)
    <predicate> value`` (unsigned bytes, k < 64). The 64 bytes are one vector load and one
    compare (LLVM makes it e.g. vpcmpb with AVX-512, two vpcmpeqb/vpmovmskb with AVX2, SSE2
    elsewhere), and the masks of one window share the load. An address, not the array: an
    array argument costs a reference count increment and decrement (atomic) each call."""

    @intrinsic
    def mask(typingctx, address):
        if not isinstance(address, types.Integer):
            return None

        def codegen(context, builder, signature, args):
            vector_type = llvm_ir.VectorType(llvm_ir.IntType(8), 64)
            pointer = builder.inttoptr(args[0], vector_type.as_pointer())
            vector = builder.load(pointer, align=1)
            if offset:
                vector = builder.sub(vector, llvm_ir.Constant(
                    vector_type, [llvm_ir.Constant(llvm_ir.IntType(8), offset)] * 64))
            bound = llvm_ir.Constant(vector_type,
                                     [llvm_ir.Constant(llvm_ir.IntType(8), value)] * 64)
            bits = builder.icmp_unsigned(predicate, vector, bound)
            return builder.bitcast(bits, llvm_ir.IntType(64))

        return types.uint64(address), codegen

    return mask


@intrinsic
def _word_at(typingctx, address):
    """The 8 bytes at ``address`` as a little-endian word (one unaligned load)."""
    if not isinstance(address, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        pointer = builder.inttoptr(args[0], llvm_ir.IntType(64).as_pointer())
        return builder.load(pointer, align=1)

    return types.uint64(address), codegen


@intrinsic
def _bit_count(typingctx, value):
    """The number of set bits of ``value`` (one popcnt instruction)."""
    if not isinstance(value, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return value(value), codegen


_spaces_in = _window_mask("==", 32)
_tabs_in = _window_mask("==", 9)
_returns_in = _window_mask("==", 13)
_newlines_in = _window_mask("==", 10)
_controls_in = _window_mask("<=", 32)          # blanks, newlines and other control bytes
_digits_in = _window_mask("<=", 9, offset=48)
_points_in = _window_mask("==", 46)
_minus_in = _window_mask("==", 45)
_plus_in = _window_mask("==", 43)


#: Masks of the low n bytes of a word, n = 0 to 8.
_LOW_BYTES = np.array([(1 << (8 * n)) - 1 for n in range(9)], dtype=np.uint64)


@numba.njit(cache=True, inline="always")
def _low_bytes(n):
    """A mask of the low ``n`` bytes of a word (``0 <= n <= 8``; unsigned: no wrap-around
    code for a negative index)."""
    return _LOW_BYTES[np.uint64(n)]


@numba.njit(cache=True, inline="always")
def _zero_filled(word, n):
    """``word`` with its low ``n`` bytes (``0 <= n <= 8``) made ASCII '0'."""
    low = _low_bytes(n)
    return (word & ~low) | (_ZEROS8 & low)


def _vector_digits() -> bool:
    """Whether the kernels are compiled for an x86-64 processor with SSSE3 (byte shuffles and
    byte multiply-adds: every x86-64 processor since 2006 but the first Opterons), by the CPU
    features numba compiles for (``NUMBA_CPU_FEATURES`` or the host's). Elsewhere (ARM...) the
    digits are read with word operations. ``MDINSIM_PORTABLE_KERNELS=1`` forces the word
    operations (tests; numba's cache does not know this variable: use a cache directory of
    its own, ``NUMBA_CACHE_DIR``)."""
    if os.environ.get("MDINSIM_PORTABLE_KERNELS", "") not in ("", "0"):
        return False
    from llvmlite import binding
    from numba.core import codegen

    if not binding.get_process_triple().startswith(("x86_64", "amd64")):
        return False
    features = numba.config.CPU_FEATURES
    if features is None:
        features = codegen.get_host_cpu_features()
    return "+ssse3" in str(features).split(",")


#: The digits of a plain number are read by byte shuffles and multiply-adds (x86) or by words.
_VECTOR_DIGITS = _vector_digits()

#: pshufb controls, 16 bytes for each point (0-15) and fill (0-15), at 256 * point + 16 * fill:
#: byte j takes byte j of the text after the point, j - 1 up to it (the point taken out), and
#: is 0 (0x80: pshufb's zero) below the first digit (j < fill).
_DIGIT_CONTROLS = bytearray(
    0x80 if j < fill else (j - 1) % 256 if j <= point else j
    for point in range(16) for fill in range(16) for j in range(16))


def _x86_function(builder, name, result, arguments):
    """The LLVM intrinsic ``name`` (an x86 instruction) declared in the builder's module."""
    function_type = llvm_ir.FunctionType(result, arguments)
    return cgutils.get_or_insert_function(builder.module, function_type, name)


@intrinsic
def _sixteen_digits_value(typingctx, address, point, fill):
    """The integer of the 16 bytes at ``address``: ASCII digits, the point at byte ``point``
    (0-15: taken out, the bytes below it moved up one) and ``fill`` bytes (1-15) below the
    first digit taken as 0; x86 SSSE3 only (see _vector_digits). The bytes minus '0' are
    shuffled into 16 digits (pshufb, the control from _DIGIT_CONTROLS), then combined in pairs
    (pmaddubsw by 10, 1), fours (pmaddwd by 100, 1) and eights (pmaddwd by 10000, 1): the
    two 8-digit halves, whose sum hi * 10**8 + lo is the integer (< 10**15: exact, as a
    double)."""
    if not all(isinstance(arg, types.Integer) for arg in (address, point, fill)):
        return None

    def codegen(context, builder, signature, args):
        i8, i16, i32, i64 = (llvm_ir.IntType(n) for n in (8, 16, 32, 64))
        bytes16, words8, ints4 = (llvm_ir.VectorType(i8, 16), llvm_ir.VectorType(i16, 8),
                                  llvm_ir.VectorType(i32, 4))
        address_value = builder.zext(args[0], i64) if args[0].type.width < 64 else args[0]
        point_value = builder.sext(args[1], i64) if args[1].type.width < 64 else args[1]
        fill_value = builder.sext(args[2], i64) if args[2].type.width < 64 else args[2]
        module = builder.module
        try:
            table = module.get_global("mdinsim_digit_controls")
        except KeyError:
            table_type = llvm_ir.ArrayType(i8, len(_DIGIT_CONTROLS))
            table = llvm_ir.GlobalVariable(module, table_type, "mdinsim_digit_controls")
            table.linkage = "internal"
            table.global_constant = True
            table.initializer = llvm_ir.Constant(table_type, _DIGIT_CONTROLS)
        table_address = builder.ptrtoint(table, i64)

        def load16(at):
            return builder.load(builder.inttoptr(at, bytes16.as_pointer()), align=1)

        def splat(vector_type, values):
            return llvm_ir.Constant(vector_type, [llvm_ir.Constant(vector_type.element, v)
                                                  for v in values])

        text = load16(address_value)
        digits = builder.sub(text, splat(bytes16, [48] * 16))
        control = load16(builder.add(table_address, builder.add(
            builder.shl(point_value, llvm_ir.Constant(i64, 8)),
            builder.shl(fill_value, llvm_ir.Constant(i64, 4)))))
        shuffle = _x86_function(builder, "llvm.x86.ssse3.pshuf.b.128", bytes16,
                                [bytes16, bytes16])
        pairs_of = _x86_function(builder, "llvm.x86.ssse3.pmadd.ub.sw.128", words8,
                                 [bytes16, bytes16])
        multiply_add = _x86_function(builder, "llvm.x86.sse2.pmadd.wd", ints4, [words8, words8])
        ordered = builder.call(shuffle, [digits, control])
        pairs = builder.call(pairs_of, [ordered, splat(bytes16, [10, 1] * 8)])
        fours = builder.call(multiply_add, [pairs, splat(words8, [100, 1] * 4)])
        # the four 4-digit values (< 10**4) as 16-bit lanes, then pairs of them
        fours = builder.shuffle_vector(builder.bitcast(fours, words8), llvm_ir.Constant(
            words8, None), llvm_ir.Constant(llvm_ir.VectorType(i32, 8),
                                            [llvm_ir.Constant(i32, k) for k in
                                             (0, 2, 4, 6, 0, 2, 4, 6)]))
        eights = builder.call(multiply_add, [fours, splat(words8, [10000, 1] * 4)])
        # the halves (< 10**8) as doubles, combined there: hi * 10**8 and the sum (< 10**15)
        # are exact (one conversion of two lanes instead of a move, three integer operations
        # and a conversion)
        double = llvm_ir.DoubleType()
        halves = builder.sitofp(builder.shuffle_vector(
            eights, llvm_ir.Constant(ints4, None),
            llvm_ir.Constant(llvm_ir.VectorType(i32, 2), [llvm_ir.Constant(i32, 0),
                                                          llvm_ir.Constant(i32, 1)])),
            llvm_ir.VectorType(double, 2))
        high = builder.extract_element(halves, llvm_ir.Constant(i32, 0))
        low = builder.extract_element(halves, llvm_ir.Constant(i32, 1))
        return builder.fadd(builder.fmul(high, llvm_ir.Constant(double, 1e8)), low)

    return types.float64(address, point, fill), codegen


@numba.njit(cache=True, inline="always")
def _plain_mantissa_vector(window, digits_start, point, end):
    """The mantissa of the checked number at ``window + digits_start`` to ``window + end``
    (the point at ``point``, 1 to 15 digits; the 16 bytes before ``end`` readable), by
    vector shuffles and multiply-adds (_sixteen_digits_value)."""
    return _sixteen_digits_value(window + np.uint64(end - 16), point - end + 16,
                                 17 - end + digits_start)


@numba.njit(cache=True, inline="always")
def _plain_mantissa_words(window, digits_start, point, end):
    """As _plain_mantissa_vector, by words: the 16 bytes before the end are two words; the
    point is taken out (the bytes below it moved up one), the bytes below the first digit made
    '0', and each word's 8 digits converted at once."""
    high = _word_at(window + np.uint64(end - 16))
    low = _word_at(window + np.uint64(end - 8))
    if end - point - 1 >= 8:                # the point in the high word
        q = point - end + 16
        high = ((high & _low_bytes(q)) << np.uint64(8)) | (high & ~_low_bytes(q + 1))
    else:                                   # in the low word: the high word moves up too
        q = point - end + 8
        low = ((low & _low_bytes(q)) << np.uint64(8)) | (high >> np.uint64(56)) \
            | (low & ~_low_bytes(q + 1))
        high = high << np.uint64(8)
    fill = 16 - (end - digits_start - 1)    # bytes below the first digit
    high = _zero_filled(high, min(fill, 8))
    low = _zero_filled(low, max(fill - 8, 0))
    return _eight_digit_value(high) * 100000000 + _eight_digit_value(low)


_plain_mantissa = _plain_mantissa_vector if _VECTOR_DIGITS else _plain_mantissa_words


@numba.njit(cache=True, inline="always")
def _plain_value(window, digits_start, point, end, negative):
    """The number of the checked token at ``window + digits_start`` to ``window + end``:
    digits, the point at ``point``, digits (1 to 15 digits; the 16 bytes before ``end``
    readable), negative where ``negative`` is 1: its mantissa divided once by an exact power
    of ten."""
    return float(_plain_mantissa(window, digits_start, point, end)) \
        / _SIGNED_POWERS[(negative << np.uint64(4)) + np.uint64(end - point - 1)]


@numba.njit(cache=True, inline="always")
def _first_four_bits(mask):
    """The places of the first four set bits of ``mask`` (64 for those it lacks): one
    trailing-zero count each, the lowest bit cleared between."""
    first = np.int64(trailing_zeros(mask))
    rest = mask & (mask - np.uint64(1))
    second = np.int64(trailing_zeros(rest))
    rest &= rest - np.uint64(1)
    third = np.int64(trailing_zeros(rest))
    rest &= rest - np.uint64(1)
    return first, second, third, np.int64(trailing_zeros(rest))


@numba.njit(cache=True, nogil=True, inline="always")
def _plain_line(window, n_columns):
    """The line ``species x y z`` (then ``n_columns - 4`` ignored columns) at address
    ``window``: blanks between, the newline within ``_LINE_WINDOW`` bytes (within twice that
    with ignored columns, the numbers in the first ``_LINE_WINDOW``), ``window - 16`` to
    ``window + _FAST_BYTES`` readable: ``(bytes up to and with its newline, species hash, x, y,
    z, ok)``. Not ok where the line is anything else (the general code reads it). An
    address, not the buffer: an array argument costs two atomic reference counts a call."""
    newlines = _newlines_in(window)
    separators = _spaces_in(window) | _tabs_in(window) | _returns_in(window) | newlines
    after_separators = (separators << np.uint64(1)) | np.uint64(1)
    starts = ~separators & after_separators
    # a token's end: a separator after a byte of it (the tokens' ends, as their starts, one
    # trailing-zero count each: no count waits on another)
    ends = separators & ~after_separators
    if newlines != 0:
        length = np.int64(trailing_zeros(newlines))
        before = (np.uint64(1) << np.uint64(length)) - np.uint64(1)
        starts &= before
        later_starts = np.uint64(0)
        # no control byte but the blanks (the general code keeps e.g. a NUL in a token)
        others = _controls_in(window) & ~separators & before
    else:
        # a longer line: its ignored columns run on into the next window
        if n_columns == 4:
            return 0, np.uint64(0), 0.0, 0.0, 0.0, False
        later = window + np.uint64(_LINE_WINDOW)
        later_newlines = _newlines_in(later)
        if later_newlines == 0:
            return 0, np.uint64(0), 0.0, 0.0, 0.0, False
        later_length = np.int64(trailing_zeros(later_newlines))
        later_before = (np.uint64(1) << np.uint64(later_length)) - np.uint64(1)
        later_separators = _spaces_in(later) | _tabs_in(later) | _returns_in(later) \
            | later_newlines
        later_starts = ~later_separators & ((later_separators << np.uint64(1))
                                            | (separators >> np.uint64(63))) & later_before
        others = (_controls_in(window) & ~separators) \
            | (_controls_in(later) & ~later_separators & later_before)
        length = _LINE_WINDOW + later_length
    t0, t1, t2, t3 = _first_four_bits(starts)
    e0, e1, e2, e3 = _first_four_bits(ends)
    # the columns announced, the numbers whole in the first window (the fourth token's end
    # is the fourth end: the first three end before it starts)
    if np.int64(_bit_count(starts) + _bit_count(later_starts)) != n_columns or others != 0 \
            or e3 >= 64:
        return 0, np.uint64(0), 0.0, 0.0, 0.0, False
    # nothing in the numbers (bytes t1 to e3 but the blanks) but digits, points and a
    # leading sign
    numbers = ~separators & ((np.uint64(1) << np.uint64(e3)) - (np.uint64(1) << np.uint64(t1)))
    points = _points_in(window)
    minus = _minus_in(window)
    signs = (minus | _plus_in(window)) & starts
    points &= numbers
    if (numbers & ~(_digits_in(window) | points | signs)) != 0:
        return 0, np.uint64(0), 0.0, 0.0, 0.0, False
    p1, p2, p3, _ = _first_four_bits(points)
    d1 = t1 + np.int64((signs >> np.uint64(t1)) & np.uint64(1))
    d2 = t2 + np.int64((signs >> np.uint64(t2)) & np.uint64(1))
    d3 = t3 + np.int64((signs >> np.uint64(t3)) & np.uint64(1))
    # one point a number: three in all, the first before the first number's end, the second
    # after it and before the second's end, the third after that; 1 to 15 digits (e - d - 2 in
    # 0..14, compared unsigned); a species of at most 8 bytes
    ok = (_bit_count(points) == 3) & (p1 < e1) & (e1 < p2) & (p2 < e2) & (e2 < p3) \
        & (e0 - t0 <= 8) & (np.uint64(e1 - d1 - 2) <= np.uint64(14)) \
        & (np.uint64(e2 - d2 - 2) <= np.uint64(14)) & (np.uint64(e3 - d3 - 2) <= np.uint64(14))
    if not ok:
        return 0, np.uint64(0), 0.0, 0.0, 0.0, False
    species = _word_at(window + np.uint64(t0)) & _low_bytes(e0 - t0)
    # the sign in the divisor: no branch
    x = _plain_value(window, d1, p1, e1, (minus >> np.uint64(t1)) & np.uint64(1))
    y = _plain_value(window, d2, p2, e2, (minus >> np.uint64(t2)) & np.uint64(1))
    z = _plain_value(window, d3, p3, e3, (minus >> np.uint64(t3)) & np.uint64(1))
    return length + 1, species, x, y, z, True


@numba.njit(cache=True, inline="always")
def _plain_layout(roles):
    """The columns are ``species x y z``, then only ignored ones."""
    if roles.shape[0] < 4 or roles[0] != COLUMN_SPECIES or roles[1] != 0 or roles[2] != 1 \
            or roles[3] != 2:
        return False
    for column in range(4, roles.shape[0]):
        if roles[column] != COLUMN_IGNORED:
            return False
    return True


#: Bytes read at a time. A refill holds the old buffer and the new one at once (a read and a
#: join before 3 December: then about four chunks): 16 MB chunks made peak memory grow by 24 MB from
#: a 27 MB to a 107 MB file (the second chunk is the first full-sized join); 2 MB chunks keep
#: it small and the same for every file (a frame larger than a chunk is read whole).
CHUNK_BYTES = 1 << 21
#: The first chunk read after the opening or a seek: what is read for the header and frame 0
#: (a 1000-atom frame is 45 kB; larger ones read on), or for a frame read frame by frame
#: between the parts (trajectory_parts), which read the file themselves.
OPENING_CHUNK_BYTES = 1 << 16
#: The first window of :meth:`ChunkedText.readlines` (a 1000-atom frame is 45 kB).
READLINES_WINDOW_BYTES = 1 << 16

#: The file is asked for (``posix_fadvise(WILLNEED)``) this far ahead of what has been read,
#: so many bytes a call (see :meth:`ChunkedText._advise_ahead`).
ADVISE_AHEAD_BYTES = 8 << 20
ADVISE_BYTES = 2 << 20


#: Bytes of the buffers of each kind (texts, parts' positions) kept for the process once
#: their readers close: a trajectory read again, or a Dask worker's next piece, finds them
#: faulted in already (a first touch costs a page fault a 4 kB page, ~3.6 us on this VM: 27
#: MB read again in one process, 2 threads, 1800 faults a pass, warm ~27 -> ~25 ms, cold ~36
#: -> ~31 ms; DEVELOPERS.md has the figures). More (frames of millions of atoms) is freed as
#: its reader closes.
KEPT_BYTES = 16 << 20


class _Reused:
    """Buffers (the chunks of text, the parts' texts and positions) each used again once
    nothing outside refers to it: no frame of it is held by a caller (a view holds its array),
    no part in flight holds it. A fresh buffer each time cost a page
    fault per 4 kB written (and zeroing, for a bytearray): on this VM 9.5 -> 4.7 ms to read
    a 27 MB file's chunks. A caller keeping frames (``list(reader.frames())``) keeps their
    arrays from being reused and gets fresh ones, as before. One is shared by the readers of
    a process (on any threads: a buffer is found free and handed out under a lock), and kept
    for it up to :data:`KEPT_BYTES` (:meth:`trim`, as a reader closes). It keeps ``keep``
    buffers, more while more are in use at once."""

    def __init__(self, make, capacity, keep: int):
        self._make, self._capacity, self.keep = make, capacity, keep
        self._kept: list = []
        self._lock = threading.Lock()
        _ALL_REUSED.add(self)

    def take(self, size: int):
        """A buffer of at least ``size`` (its contents undefined)."""
        with self._lock:
            for index in range(len(self._kept)):
                item = self._kept[index]
                # references: the list's, this name's and getrefcount's argument: nobody else's
                if self._capacity(item) >= size and sys.getrefcount(item) == 3:
                    return item
                del item
            # room for the next ones, a little larger or smaller
            item = self._make(size + size // 4 + 1)
            if len(self._kept) >= self.keep:
                # a free one (too small) let go; none where all are in use: more readers at
                # once (a Dask worker's threads) than ``keep`` then keep theirs, not take
                # each other's places and make new ones for every part
                for index in range(len(self._kept)):
                    if sys.getrefcount(self._kept[index]) == 2:     # the list's, the argument
                        del self._kept[index]
                        break
            self._kept.append(item)
            return item

    def trim(self, kept_bytes: int = KEPT_BYTES) -> None:
        """Keep at most ``kept_bytes`` of buffers, the largest let go first (one in use is
        freed by its holder)."""
        with self._lock:
            sizes = [memoryview(item).nbytes for item in self._kept]
            total = sum(sizes)
            for size, index in sorted(((size, index) for index, size in enumerate(sizes)),
                                      reverse=True):
                if total <= kept_bytes:
                    break
                self._kept[index] = None
                total -= size
            self._kept = [item for item in self._kept if item is not None]


_ALL_REUSED: weakref.WeakSet = weakref.WeakSet()


def _new_locks_in_child() -> None:
    """A forked child: a lock some thread of the parent held would be held for ever (a
    buffer in use there stays in use: it is never taken)."""
    for reused in list(_ALL_REUSED):
        reused._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_locks_in_child)

#: ChunkedText's chunks, for every reader of the process: each reader uses the chunk being
#: read into, the one before (its rest is copied in) and a spare.
_CHUNKS = _Reused(bytearray, len, keep=6)


class ChunkedText:
    """A text file read in large chunks, with line access for headers and byte access for the
    numba parser. Only the current chunk (and the unread rest of the previous one) is in memory.
    """

    def __init__(self, path: str | os.PathLike, chunk_bytes: int = CHUNK_BYTES):
        self.path = Path(path)
        # unbuffered: chunks are read straight into the buffer (readinto), no copy
        self._handle = open(self.path, "rb", buffering=0)
        self._advise = hasattr(os, "posix_fadvise")
        if self._advise:
            # read front to back: the kernel's readahead may double its window
            os.posix_fadvise(self._handle.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
        self.chunk_bytes = chunk_bytes
        self.buffer = bytearray()   # the text from offset _consumed, up to ``end``
        self.end = 0
        self.position = 0           # offset of the next unread byte in ``buffer``
        self.eof = False
        self.line_number = 0        # 1-based number of the last line returned by readline
        self.size = os.path.getsize(self.path)
        self._consumed = 0          # bytes of the file before ``buffer[0]``
        # a UTF-8 byte-order mark (a file saved by some Windows editors) is no text of line 1
        if self._handle.read(len(UTF8_BOM)) == UTF8_BOM:
            self._consumed = len(UTF8_BOM)
        else:
            self._handle.seek(0)
        self._buffers = _CHUNKS
        self._advised = 0           # the kernel was asked to read the file up to here
        self._chunks_read = 0       # since the opening or the last seek

    def close(self) -> None:
        self._handle.close()
        self._buffers.trim()

    @property
    def offset(self) -> int:
        """Bytes of the file consumed so far."""
        return self._consumed + self.position

    def refill(self, minimum: int = 0) -> bool:
        """Read another chunk (at least ``minimum`` more bytes where the file has them); keep
        the unread part. Return False at the end of the file."""
        if self.eof:
            return False
        # no more than the file held at open, and a byte (to see its end): the last frames,
        # read frame by frame, take no full chunk (a file grown since: whole chunks)
        remaining = self.size - (self._consumed + self.end)
        chunk = self.chunk_bytes if self._chunks_read else min(self.chunk_bytes,
                                                               OPENING_CHUNK_BYTES)
        want = max(chunk if remaining < 0 else min(chunk, remaining + 1), minimum)
        keep = self.end - self.position
        # another buffer (the unread rest of this one is copied in), the chunk read after it
        buffer = self._buffers.take(keep + want)
        got = 0
        with memoryview(buffer) as view:
            view[:keep] = memoryview(self.buffer)[self.position:self.end]
            while got < want:
                count = self._handle.readinto(view[keep + got:keep + want])
                if not count:
                    break
                got += count
        if got < want:
            self.eof = True
        self._consumed += self.position
        self.buffer, self.end = buffer, keep + got
        self.position = 0
        self._chunks_read += 1
        self._advise_ahead()
        return got > 0

    def _advise_ahead(self) -> None:
        """Ask the kernel to read the file from the disk up to ``ADVISE_AHEAD_BYTES`` ahead of
        what has been read, so that the disk works while the chunks before are scanned and
        parsed: ``posix_fadvise(WILLNEED)``, a call each ``ADVISE_BYTES``. Linux reads at most
        the device's read-ahead size a call (``force_page_cache_ra``): on this VM a call for a
        whole cold file read nothing more, while calls of 2 MB had its 27 MB in the page cache
        20 ms later. Next to no cost where the file is in the page cache already (0.2-0.3 ms
        for 27 MB). Only once a second chunk is read: a reading that stays in one chunk
        (opening an extended XYZ file for frame 0, a frame read frame by frame between the
        parts of trajectory_parts) asks for nothing, as the calls cost the caller processor
        time (a cold 27 MB extended XYZ pass, open and frames, 2 threads, medians of 15
        interleaved, three runs: 27.5 -> 26.9, 28.4 -> 25.7, 29.8 -> 25.2 ms without the
        opening's 8 MB asked ahead; the parts read the file themselves)."""
        if not self._advise or self.eof or self._chunks_read < 2:
            return
        front = self._consumed + self.end
        goal = min(self.size, front + ADVISE_AHEAD_BYTES)
        while self._advised < goal:
            start = max(self._advised, front)
            os.posix_fadvise(self._handle.fileno(), start, ADVISE_BYTES, os.POSIX_FADV_WILLNEED)
            self._advised = start + ADVISE_BYTES

    def array(self) -> np.ndarray:
        return np.frombuffer(self.buffer, dtype=np.uint8, count=self.end)

    def readline(self) -> bytes | None:
        """The next line without its end-of-line characters, or None at the end of the file."""
        while True:
            end = self.buffer.find(b"\n", self.position, self.end)
            if end >= 0:
                line = bytes(memoryview(self.buffer)[self.position:end])
                self.position = end + 1
                self.line_number += 1
                return line.rstrip(b"\r")
            if not self.refill():
                if self.position < self.end:
                    line = bytes(memoryview(self.buffer)[self.position:self.end])
                    self.position = self.end
                    self.line_number += 1
                    return line.rstrip(b"\r")
                return None

    def parse_lines(self, n_lines: int, roles: np.ndarray, out: np.ndarray,
                    hashes: np.ndarray) -> tuple[int, int, int]:
        """Parse ``n_lines`` atom lines; return ``(status, line, column)`` (see
        :func:`parse_atom_lines`) and advance past them when the status is OK."""
        while True:
            status, offset, line, column = parse_atom_lines(
                self.array(), self.position, n_lines, roles, self.eof, out, hashes,
                _POWERS_OF_TEN)
            if status == STATUS_NEED_MORE and not self.eof:
                self.refill(minimum=self.end - self.position + self.chunk_bytes)
                continue
            if status == STATUS_OK:
                self.position = offset
                self.line_number += n_lines
            return status, line, column

    def seek(self, offset: int, line_number: int) -> None:
        """Go to ``offset`` of the file, the line before it being ``line_number`` (where the
        parts of :class:`trajectory_parts.FrameParts` stopped)."""
        self._handle.seek(offset)
        self.buffer, self.end, self.position = bytearray(), 0, 0
        self._consumed, self.eof = offset, False
        self.line_number = line_number
        self._chunks_read = 0

    def readlines(self, count: int) -> list[bytes]:
        """The next ``count`` lines as :meth:`readline` gives them (fewer where the file ends
        first), cut by one split of a window of the buffer, not one call a line (frame 0's
        atom lines, when a trajectory is opened; no numba kernel, whose first call in a
        process costs 0.15 s). The window starts at ``READLINES_WINDOW_BYTES`` and doubles
        where it holds too few lines: the text copied stays about that of the lines."""
        lines: list[bytes] = []
        window = READLINES_WINDOW_BYTES
        while len(lines) < count:
            stop = min(self.end, self.position + window)
            text = bytes(memoryview(self.buffer)[self.position:stop])
            whole = text.split(b"\n", count - len(lines))
            rest = whole.pop()      # after the last newline taken: a line's start, or more
            if b"\r" in text:
                whole = [line.rstrip(b"\r") for line in whole]
            lines += whole
            self.position += len(text) - len(rest)
            self.line_number += len(whole)
            if len(lines) == count:
                break
            if stop < self.end:
                window *= 2
            elif not self.refill():
                if rest:            # the last line, without its newline
                    lines.append(rest.rstrip(b"\r"))
                    self.position = self.end
                    self.line_number += 1
                break
        return lines

    def skip(self, n_lines: int) -> bool:
        """Skip ``n_lines`` lines; False where the file ends first."""
        while True:
            offset = skip_lines(self.array(), self.position, n_lines)
            if offset >= 0:
                self.position = offset
                self.line_number += n_lines
                return True
            if not self.refill(minimum=self.end - self.position + self.chunk_bytes):
                return False


class TextTrajectoryReader(TrajectoryReader):
    """What the text formats (extended XYZ, LAMMPS dump) share: frames of header lines, then
    one line per atom; frame 0's atom lines read as words (for the species), the others parsed
    by :func:`parse_atom_lines`."""

    text_format = True
    _first_frame_bytes = 1

    def __init__(self, path):
        super().__init__(path)
        text = ChunkedText(self.path)
        try:
            with self._zero_bytes_named(0, 0, 0):
                header = self._read_header(text, 0)
                if header is None:
                    raise self.frame_error(0, "the file holds no frame",
                                           "check that the MD run wrote its trajectory")
                self._read_first_frame(text, header)
        finally:
            text.close()

    def _read_header(self, text: ChunkedText, frame: int):
        """The header of the next frame (its number of atoms first), or None at the end of
        the file."""
        raise NotImplementedError

    def _read_first_frame(self, text: ChunkedText, header) -> None:
        """Fill ``n_atoms``, ``species``, ``cell`` from frame 0 (its ``header`` read, the
        text at its first atom line)."""
        raise NotImplementedError

    def _first_atom_lines(self, text: ChunkedText) -> list[bytes]:
        """Frame 0's ``n_atoms`` atom lines, from where ``text`` stands; notes the size of
        frame 0 for :meth:`estimated_frame_count`."""
        lines = text.readlines(self.n_atoms)
        if len(lines) < self.n_atoms:
            raise self.frame_error(0, f"the file ends after {len(lines)} of {self.n_atoms} "
                                   "atom lines", "the file is truncated")
        self._first_frame_bytes = text.offset
        return lines

    def _first_atom_rows(self, text: ChunkedText) -> list[list[bytes]]:
        """The words of frame 0's atom lines (see :meth:`_first_atom_lines`)."""
        return [line.split() for line in self._first_atom_lines(text)]

    def estimated_frame_count(self) -> int:
        return max(1, round(self.path.stat().st_size / max(1, self._first_frame_bytes)))

    @contextlib.contextmanager
    def _zero_bytes_named(self, frame: int, offset: int, frame_line: int):
        """Reading the frame ``frame`` (starting at ``offset``, after line ``frame_line``): an
        error it raises is told as :meth:`_zero_bytes_error` where that applies."""
        try:
            yield
        except InputFileError as error:
            zeros = self._zero_bytes_error(frame, offset, frame_line, error)
            if zeros is None:
                raise
            raise zeros from error

    def _zero_bytes_error(self, frame: int, offset: int, frame_line: int,
                          error: InputFileError):
        """Where the frame that failed with ``error`` (the frame starting at ``offset``, after
        line ``frame_line``) holds zero bytes at or before the line it failed at, the error
        that says so: a file whose writing stopped (a crash, a full disk, a node lost) may be
        left padded with zeros, which would otherwise read as a garbled frame. None where it
        holds none there."""
        with open(self.path, "rb") as handle:
            handle.seek(offset)
            # frame 0's size is not known yet where it failed
            text = handle.read(2 * self._first_frame_bytes + 65536 if frame else 4 << 20)
        zero = text.find(b"\0")
        if zero < 0:
            return None
        line = frame_line + text.count(b"\n", 0, zero) + 1
        failed_line = getattr(error, "line", None)
        if failed_line is not None and line > failed_line:
            return None         # it failed before them: its own error says why
        cut = f"{self.path.stem}-cut{self.path.suffix}"
        fix = (f"keep the {frame} whole frames before it (head -n {frame_line} "
               f"{self.path.name} > {cut}) and give {cut}" if frame else
               "it holds no whole frame: write the trajectory again")
        return self.frame_error(frame, f"the file holds zero bytes from line {line} on: its "
                                "writing stopped there (a crash, a full disk?)", fix,
                                line=line)

