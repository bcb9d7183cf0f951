"""Reduced experimental spectra to put next to a prediction.

:func:`load_experiment` reads either

* a Mantid processed NeXus file (``SaveNexusProcessed``; one Workspace2D entry, 1-D or 2-D,
  read by :func:`mantid_mdinsim.io.nexus.load_processed_nexus`), or
* a text file of two or three columns: energy transfer in meV (positive = neutron energy
  loss), intensity, and optionally its standard error. Columns are separated by blanks or
  commas (CSV); lines starting with ``#`` are comments; one header line of column names
  (``energy,intensity,error``) may come before the numbers. A header that names cm^-1
  (``Energy (cm-1)``, ``wavenumber``) before any other unit gives the energies in cm^-1
  (converted to meV); one that names THz or eV is refused. UTF-8, with or without a
  byte-order mark; bytes that are not UTF-8 only matter where a number should be.

Text spectra become a one-spectrum :class:`~mantid_mdinsim.spectrum.Spectrum` on points in
energy transfer (``DeltaE``, meV), in increasing order, marked as a distribution (intensity per
meV, as reduced S(Q,w) is).
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import h5py
import numpy as np

from ..errors import InputFileError
from ..spectrum import Spectrum, energy_axis
from ..units import MEV_PER_INVERSE_CM
from .nexus import list_processed_nexus_entries, load_processed_nexus
from .paths import refuse_utf16_text

__all__ = ["load_experiment"]

_TEXT_FORMAT = ("a text file of 2 or 3 columns: energy transfer (meV), intensity, and "
                "optionally its error, separated by blanks or commas, '#' for comments")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eEdD][+-]?\d+)?$|^[+-]?(nan|inf|infinity)$",
                     re.IGNORECASE)


def load_experiment(path: str | os.PathLike, entry: int | str | None = None) -> Spectrum:
    """Read a reduced experimental spectrum.

    Parameters
    ----------
    path
        A Mantid processed NeXus file (recognised by its HDF5 signature, whatever its name)
        or a two/three-column text file (energy transfer in meV, intensity, error).
    entry
        For NeXus files: the entry number (1-based), entry name or workspace name; by default
        the first Workspace2D entry. Not used for text files.

    Returns
    -------
    A :class:`Spectrum`. From text: X = energy transfer points in meV (``DeltaE``), one
    spectrum, errors zero where the file has no error column, ``name``/``title`` = the file's
    stem, log ``experiment_file`` = the path.

    Raises
    ------
    InputFileError
        Missing or empty file; a line that is not 2 or 3 numbers (the message gives the line);
        negative errors; repeated or unordered energies; a NeXus entry that is not a spectrum.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(path, "file not found",
                             fix=f"give a Mantid processed NeXus file or {_TEXT_FORMAT}")
    if path.is_dir():
        raise InputFileError(path, "is a folder, not a file", fix="give the data file")
    if h5py.is_hdf5(path):
        return _load_nexus(path, entry)
    return _load_text(path)


def _load_nexus(path: Path, entry: int | str | None) -> Spectrum:
    if entry is None:
        spectra = [info["entry"] for info in list_processed_nexus_entries(path)
                   if info["kind"] == "Workspace2D"]
        if not spectra:
            raise InputFileError(path, "holds no spectrum (Workspace2D) entry",
                                 fix="save the reduced workspace with SaveNexusProcessed")
        entry = spectra[0]
    (workspace,) = load_processed_nexus(path, entry=entry)
    if not isinstance(workspace, Spectrum):
        raise InputFileError(path, "is a table, not a spectrum", where=f"entry {entry!r}",
                             fix="choose the entry of the reduced Workspace2D")
    # The text files' rule for the energies, for the X of a NeXus file too: NaN, repeated or
    # unordered X had been compared (an unordered histogram gave a negative bin width).
    x = np.asarray(workspace.x.values, dtype=float)
    kind = "bin edge" if workspace.is_histogram else "point"
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        raise InputFileError(path, f"X {kind} {bad[0]} is not a finite number ({x[bad[0]]})",
                             where=f"entry {entry!r}, X axis",
                             fix="give the reduced spectrum with its X values")
    steps = np.diff(x)
    if steps.size and not np.all(steps > 0):
        bad_step = int(np.argmax(steps <= 0)) + 1
        raise InputFileError(path, f"X {kind} {bad_step} ({x[bad_step]:g}) does not follow "
                             f"X {kind} {bad_step - 1} ({x[bad_step - 1]:g}) in increasing "
                             "order", where=f"entry {entry!r}, X axis",
                             fix="sort the spectrum by X (Mantid SortXAxis) and remove "
                                 "repeated X")
    return workspace


def _split(line: str) -> list[str]:
    if "," in line:
        return [field.strip() for field in line.split(",")]
    return line.split()


def _read_text(path: Path) -> str:
    """The file's text: UTF-8, its byte-order mark (Excel's CSV) skipped; bytes that are not
    UTF-8 (a Latin-1 comment) replaced, as only the numbers matter; UTF-16 and binary files
    (NUL bytes) refused."""
    data = path.read_bytes()
    refuse_utf16_text(path, data[:2])
    if b"\0" in data:
        raise InputFileError(path, "is neither a NeXus (HDF5) file nor a text file",
                             fix=f"give a Mantid processed NeXus file or {_TEXT_FORMAT}")
    return data.decode("utf-8-sig", errors="replace")


#: Energy units a header may name, as meV per unit (None: refused); the first named in the line
#: is the energy column's.
_HEADER_UNITS = (
    (re.compile(r"mev", re.IGNORECASE), 1.0),
    (re.compile(r"cm\s*\^?\s*[-\u2212]\s*1|1\s*/\s*cm|wave\s*numbers?", re.IGNORECASE),
     MEV_PER_INVERSE_CM),
    (re.compile(r"(?<![a-z])(thz|ev)(?![a-z])", re.IGNORECASE), None),
)


def _header_energy_unit(path: Path, header: str, number: int) -> float:
    """meV per unit of the energy column of a header line (1 where it names no unit): a
    header 'Energy (cm-1)', as TOSCA's exports have, had been read as meV."""
    found = [(match.start(), match.group(0), factor) for pattern, factor in _HEADER_UNITS
             for match in [pattern.search(header)] if match]
    if not found:
        return 1.0
    _, unit, factor = min(found, key=lambda item: item[0])
    if factor is None:
        raise InputFileError(path, f"the energy column is in {unit} (header '{header[:60]}')",
                             where=f"line {number}", fix="give energy transfer in meV or cm^-1")
    return factor


def _load_text(path: Path) -> Spectrum:
    text = _read_text(path)
    rows: list[list[float]] = []
    line_numbers: list[int] = []
    n_columns = None
    header_allowed = True
    meV_per_unit = 1.0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = _split(line)
        numeric = [bool(_NUMBER.match(field)) for field in fields]
        if header_allowed and not any(numeric):
            # one line of column names before the numbers ('Energy (cm-1) Intensity (a.u.)')
            header_allowed = False
            meV_per_unit = _header_energy_unit(path, line, number)
            continue
        header_allowed = False
        if not all(numeric) or len(fields) not in (2, 3):
            raise InputFileError(path, f"'{raw.strip()[:60]}' is not 2 or 3 numbers",
                                 where=f"line {number}", fix=f"the file must be {_TEXT_FORMAT}")
        if n_columns is None:
            n_columns = len(fields)
        elif len(fields) != n_columns:
            raise InputFileError(path, f"has {len(fields)} columns where the lines before have "
                                       f"{n_columns}", where=f"line {number}",
                                 fix="give every line the same columns")
        values = [float(field.replace("d", "e").replace("D", "e")) for field in fields]
        if not math.isfinite(values[0]):
            raise InputFileError(path, f"energy transfer '{fields[0]}' is not a finite number",
                                 where=f"line {number}", fix="remove the line")
        if n_columns == 3 and values[2] < 0:
            raise InputFileError(path, f"error {fields[2]} is negative", where=f"line {number}",
                                 fix="the third column is the standard error, >= 0")
        rows.append(values)
        line_numbers.append(number)
    if len(rows) < 2:
        raise InputFileError(path, "holds fewer than 2 data lines" if rows else
                             "holds no data", fix=f"the file must be {_TEXT_FORMAT}")
    data = np.asarray(rows, dtype=float)
    data[:, 0] *= meV_per_unit
    energy = data[:, 0]
    steps = np.diff(energy)
    if np.all(steps < 0):
        data, line_numbers = data[::-1], line_numbers[::-1]
        energy, steps = data[:, 0], -steps[::-1]
    if not np.all(steps > 0):
        bad = int(np.argmax(steps <= 0)) + 1
        raise InputFileError(path, f"energy transfer {energy[bad]:g} meV does not follow "
                                   f"{energy[bad - 1]:g} meV in order",
                             where=f"line {line_numbers[bad]}",
                             fix="sort the lines by energy transfer and remove repeated ones")
    errors = data[:, 2] if data.shape[1] == 3 else np.zeros(len(data))
    return Spectrum(x=energy_axis(energy), values=data[:, 1][np.newaxis, :],
                    errors=errors[np.newaxis, :], distribution=True, y_unit="",
                    y_unit_label="Intensity", title=path.stem, name=path.stem,
                    logs={"experiment_file": str(path)})
