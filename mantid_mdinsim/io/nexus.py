"""Mantid's processed NeXus format, written and read with h5py.

:func:`save_processed_nexus` writes :class:`~mantid_mdinsim.spectrum.Spectrum` and
:class:`~mantid_mdinsim.spectrum.Table` objects the way Mantid's ``SaveNexusProcessed`` writes a
Workspace2D and a TableWorkspace, so that ``LoadNexusProcessed`` (and ``Load``) in Mantid reads
them back as workspaces (several entries as a WorkspaceGroup). :func:`load_processed_nexus`
reads files written by Mantid and by this module.

The layout follows Mantid's sources (mantidproject/mantid), read for this module:

* ``Framework/DataHandling/src/SaveNexusProcessed.cpp``: one ``NXentry`` per workspace,
  ``mantid_workspace_<n>``; header, experiment info (sample, logs, instrument), data, history.
* ``Framework/Nexus/src/NexusFileIO.cpp`` and ``inc/MantidNexus/NexusFileIO.h``:
  ``writeNexusProcessedHeader`` (``title``, ``workspace_name``, ``definition``,
  ``definition_local``), ``writeNexusProcessedData2D`` (``workspace/values`` with ``signal``,
  ``axes``, ``units``, ``unit_label``; ``errors``; ``axis1`` with ``distribution``, ``units``
  and, for a ``Label`` unit, ``caption``/``label``; ``axis2`` numeric or, for a text axis, the
  labels joined by newlines with ``units="TextAxis"``), ``writeNexusTableWorkspace``
  (``table_workspace/column_<n>`` with ``name``, ``units``, ``interpret_as``).
* ``Framework/API/src/Sample.cpp`` and ``Framework/Kernel/src/Material.cpp``
  (``Sample::saveNexus``/``loadNexus``), ``Framework/API/src/Run.cpp`` and ``LogManager.cpp``
  (``logs`` NXgroup with a ``goniometer`` NXpositioner), ``Framework/Kernel/src/
  PropertyWithValue.cpp`` and ``TimeSeriesProperty.cpp`` (``saveProperty``: one ``NXlog`` per
  log with ``value`` and, for time series, ``time`` with a ``start`` attribute; booleans as
  ``uint8`` with a group attribute ``boolean="1"``), ``Framework/Kernel/src/PropertyNexus.cpp``
  (``loadProperty``), ``Framework/API/src/WorkspaceHistory.cpp`` (``process``).
* ``Framework/DataHandling/src/LoadNexusProcessed.cpp``: what the loader requires.

What ``LoadNexusProcessed`` actually needs (everything else is optional there):

* an entry ``mantid_workspace_1`` (``confidence``); further entries ``mantid_workspace_<n>``
  make a WorkspaceGroup, named after each ``workspace_name`` (when all differ);
* ``workspace/`` (NXdata) with a 2-D float dataset carrying the ``signal`` attribute, ``errors``
  of the same shape, ``axis1`` (1-D shared X, or 2-D per spectrum) with ``units`` and
  ``distribution`` ("1"/"0"), ``axis2`` with ``units`` (``spectraNumber``, ``TextAxis`` or a
  unit ID; ``n_spectra + 1`` values make a BinEdgeAxis); ``caption``/``label`` for ``Label``;
* ``table_workspace/column_<n>`` numbered from 1 without gaps, each with a non-empty ``name``;
* for the sample logs to load at all, a ``sample`` NXsample whose ``version`` attribute is > 0
  with ``name`` and ``shape_xml`` attributes, ``material`` (``name``, ``version``), and
  ``num_other_samples``/``num_oriented_lattice``; otherwise the logs are silently dropped
  (``ExperimentInfo::loadSampleAndLogInfoNexus``). A missing ``instrument`` or ``process``
  group only produces a warning.

Strings are fixed-length ASCII (``|S``) with HDF5's null-terminated padding, as the NeXus API
writes them; the header strings carry the terminating null in their length (``title`` of
``" "`` is ``|S2``), attributes and log values do not; empty strings are stored as ``" "``
(NeXus cannot store empty data) and read back as empty.

Logs (``Spectrum.logs``/``Table.logs``): a ``str`` is a string value; an ``int`` an ``int32``
value (``int64`` beyond its range); a ``float`` a ``float64`` value; a ``bool`` a boolean time
series with one entry (Mantid cannot store single booleans); a 1-D array a time series
(``value`` and ``time``, one entry per second from the save time, because a Spectrum holds no
times), numbers keeping their dtype and strings as Mantid's string time series. On reading,
time series and Mantid's array properties come back as 1-D arrays (their times are dropped), a
boolean series of one entry as a ``bool``; log units are not kept.
"""

from __future__ import annotations

import datetime
import io
import os
import platform
import re
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Sequence

import h5py
import numpy as np

from .. import __version__
from ..errors import InputFileError
from ..spectrum import (UNIT_EMPTY, UNIT_LABEL, UNIT_SPECTRUM_NUMBER, Axis, Spectrum, Table)
from .atomic import write_bytes_atomic

__all__ = ["save_processed_nexus", "load_processed_nexus", "list_processed_nexus_entries",
           "ENTRY_PREFIX"]

#: Entries of a processed file are named ``mantid_workspace_<n>``, n = 1, 2, ...
ENTRY_PREFIX = "mantid_workspace_"
_ENTRY_PATTERN = re.compile(rf"^{ENTRY_PREFIX}(\d+)$")
#: The NeXus API version whose conventions the layout follows (root attribute NeXus_version).
NEXUS_VERSION = "4.4.3"
_DEFINITION = "Mantid Processed Workspace"
_DEFINITION_URL = "http://www.nexusformat.org/instruments/xml/NXprocessed.xml"
_DEFINITION_LOCAL_URL = "http://www.isis.rl.ac.uk/xml/IXmantid.xml"
_PARAMETER_MAP_DESCRIPTION = (
    "A string representation of the parameter map. The format is either: "
    "|detID:id-value;param-type;param-name;param-value| for a detector or  "
    "|comp-name;param-type;param-name;param-value| for other components.")
_TEXT_AXIS_UNIT = "TextAxis"
#: Mantid's NexusFileIO compresses values and errors with NX_COMP_LZW, which is deflate level 6.
_DEFLATE_LEVEL = 6
#: Table units Mantid writes when a column has none (NexusFileIO::writeNexusTableWorkspace).
_TABLE_NO_UNIT = {"Not known", "N/A", "", " "}
#: Groups of an entry that hold a workspace type this module does not read, and what they are.
_UNSUPPORTED_GROUPS = {
    "event_workspace": "an EventWorkspace",
    "peaks_workspace": "a PeaksWorkspace",
    "offsets_workspace": "an OffsetsWorkspace",
    "mask_workspace": "a MaskWorkspace",
}
_SUPPORTED = ("mdinsim reads Workspace2D entries (a 'workspace' group) and TableWorkspace "
              "entries (a 'table_workspace' group)")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# ------------------------------------------------------------------------------------------
# HDF5 primitives with the NeXus API's conventions
# ------------------------------------------------------------------------------------------
def _encode(text: str) -> bytes:
    return str(text).encode("utf-8")


def _string_type(size: int) -> h5py.h5t.TypeStringID:
    """A fixed-length, null-terminated ASCII string type, as napi5 makes for NX_CHAR."""
    string_type = h5py.h5t.C_S1.copy()
    string_type.set_size(max(int(size), 1))
    string_type.set_strpad(h5py.h5t.STR_NULLTERM)
    string_type.set_cset(h5py.h5t.CSET_ASCII)
    return string_type


def _set_text_attribute(obj: h5py.HLObject, name: str, text: str, *,
                        terminated: bool = False, blank_if_empty: bool = False) -> None:
    """A scalar string attribute. ``terminated`` counts the C string's null in the size (as
    ``NXputattr(..., size() + 1, NX_CHAR)`` does); ``blank_if_empty`` stores ``" "`` for an
    empty string (as ``NeXus::File::putAttr`` does)."""
    data = _encode(text)
    if blank_if_empty and not data:
        data = b" "
    if terminated:
        data += b"\0"
    string_type = _string_type(len(data))
    if name in obj.attrs:
        del obj.attrs[name]
    attribute = h5py.h5a.create(obj.id, name.encode(), string_type,
                                h5py.h5s.create(h5py.h5s.SCALAR))
    # Written with the file's own type as memory type: no conversion, so a string that fills
    # its size exactly is not cut to make room for a terminator.
    attribute.write(np.array(data, dtype=f"S{string_type.get_size()}"), mtype=string_type)


def _set_int_attribute(obj: h5py.HLObject, name: str, value: int) -> None:
    obj.attrs.create(name, np.int32(value))


def _write_text_rows(group: h5py.Group, name: str, rows: Sequence[bytes], width: int,
                     shape: tuple[int, ...], chunks: tuple[int, ...] | None = None
                     ) -> h5py.Dataset:
    """A fixed-length string dataset. NeXus stores an NX_CHAR array of dims ``[..., width]``
    as HDF5 strings of size ``width`` with the last dimension set to 1 (napi5)."""
    string_type = _string_type(width)
    plist = None
    if chunks is not None:
        plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        plist.set_chunk(chunks)
    dataset_id = h5py.h5d.create(group.id, name.encode(), string_type,
                                 h5py.h5s.create_simple(shape), dcpl=plist)
    data = np.array(list(rows), dtype=f"S{string_type.get_size()}").reshape(shape)
    if data.size:
        dataset_id.write(h5py.h5s.ALL, h5py.h5s.ALL, data, mtype=string_type)
    return h5py.Dataset(dataset_id)  # wrapped as created: no lookup by name


def _write_text(group: h5py.Group, name: str, text: str, *, terminated: bool = False
                ) -> h5py.Dataset:
    """A string field of shape (1,): ``NeXus::File::writeData(name, string)`` (no terminator)
    or NexusFileIO's ``writeNxValue<std::string>`` (with it); empty text is stored as " "."""
    data = _encode(text) or b" "
    if terminated:
        data += b"\0"
    return _write_text_rows(group, name, [data], len(data), (1,))


def _make_group(parent: h5py.Group, name: str, nx_class: str,
                version: int | None = None) -> h5py.Group:
    group = parent.create_group(name)
    _set_text_attribute(group, "NX_class", nx_class)
    if version is not None:
        _set_int_attribute(group, "version", version)
    return group


def _write_number(group: h5py.Group, name: str, value: Any, dtype: Any) -> h5py.Dataset:
    return group.create_dataset(name, data=np.array([value], dtype=dtype))


# ------------------------------------------------------------------------------------------
# Writing
# ------------------------------------------------------------------------------------------
def save_processed_nexus(path: str | os.PathLike,
                         workspaces: Spectrum | Table | Sequence[Spectrum | Table]) -> Path:
    """Write workspaces to ``path`` as Mantid's ``SaveNexusProcessed`` would.

    Parameters
    ----------
    path
        Output file (``.nxs``). Written atomically: on any failure no file is left there.
    workspaces
        One :class:`Spectrum` (a Workspace2D) or :class:`Table` (a TableWorkspace), or a
        sequence of them: entry ``mantid_workspace_<n>`` holds the n-th, and Mantid's
        ``LoadNexusProcessed`` loads several entries as a WorkspaceGroup.

    Returns
    -------
    The path written.
    """
    items = [workspaces] if isinstance(workspaces, (Spectrum, Table)) else list(workspaces)
    if not items:
        raise ValueError("save_processed_nexus needs at least one Spectrum or Table")
    for index, item in enumerate(items):
        if not isinstance(item, (Spectrum, Table)):
            raise TypeError(f"workspace {index} is a {type(item).__name__}; save_processed_nexus "
                            "writes Spectrum and Table objects")
        _check_writable(item, index)
    path = Path(path)
    now = datetime.datetime.now().astimezone()
    # The file is built in memory and written by Python: HDF5 failing to write (disk full,
    # file size limit) crashed the process (segmentation fault in h5py's clean-up), while a
    # Python write gives an OSError that atomic_path turns into a message with the size needed.
    buffer = io.BytesIO()
    # HDF5 1.8 file-format objects at most, so that Mantid builds on older HDF5 read it.
    with h5py.File(buffer, "w", libver=("earliest", "v108")) as handle:
        _write_root_attributes(handle, path, now)
        repeated = _RepeatedGroups()
        with _DeflatedRows() as deflated:
            for number, item in enumerate(items, start=1):
                entry = _make_group(handle, f"{ENTRY_PREFIX}{number}", "NXentry")
                if isinstance(item, Spectrum):
                    _write_spectrum_entry(entry, item, now, deflated, repeated)
                else:
                    _write_table_entry(entry, item, now, repeated)
            deflated.write()
    write_bytes_atomic(path, buffer.getbuffer())
    return path


def _check_writable(item: Spectrum | Table, index: int) -> None:
    """Refuse, before anything is written, what the format cannot hold."""
    what = f"workspace {index} ('{item.name}')" if item.name else f"workspace {index}"
    for name, value in item.logs.items():
        if not name or "/" in name or name in (".", "goniometer"):
            raise ValueError(f"{what}: log name '{name}' cannot be stored (empty, '/', or the "
                             "reserved 'goniometer')")
        _log_kind(name, value, what)
    if isinstance(item, Spectrum):
        for axis_name, axis in (("X", item.x), ("vertical", item.vertical)):
            if axis.is_text and any("\n" in label for label in axis.labels):
                raise ValueError(f"{what}: a {axis_name} axis label contains a newline, which "
                                 "Mantid's text axis uses as separator")
        if item.x.is_text:
            raise ValueError(f"{what}: the X axis must be numeric (Mantid's X holds numbers)")
    else:
        for column_name, column in item.columns.items():
            if not column_name:
                raise ValueError(f"{what}: a table column needs a name (Mantid skips unnamed "
                                 "columns)")
            _table_column_kind(column_name, column, what)


def _write_root_attributes(handle: h5py.File, path: Path, now: datetime.datetime) -> None:
    # napi5's NXopen writes these four on file creation.
    _set_text_attribute(handle, "NeXus_version", NEXUS_VERSION)
    _set_text_attribute(handle, "file_name", str(path.absolute()))
    _set_text_attribute(handle, "HDF5_Version", h5py.version.hdf5_version)
    _set_text_attribute(handle, "file_time", now.isoformat(timespec="seconds"))


def _write_header(entry: h5py.Group, title: str, name: str) -> None:
    """NexusFileIO::writeNexusProcessedHeader."""
    _write_text(entry, "title", title, terminated=True)
    if name:  # Mantid writes workspace_name only for a named workspace
        _write_text(entry, "workspace_name", name, terminated=True)
    for field, url in (("definition", _DEFINITION_URL),
                       ("definition_local", _DEFINITION_LOCAL_URL)):
        dataset = _write_text(entry, field, _DEFINITION, terminated=True)
        _set_text_attribute(dataset, "URL", url, terminated=True)
        _set_text_attribute(dataset, "Version", "1.0", terminated=True)


def _write_spectrum_entry(entry: h5py.Group, spectrum: Spectrum, now: datetime.datetime,
                          deflated: "_DeflatedRows", repeated: "_RepeatedGroups") -> None:
    _write_header(entry, spectrum.title, spectrum.name)
    repeated.write(entry, "sample", (), _write_sample)
    repeated.write(entry, "logs", _logs_key(spectrum.logs),
                   lambda parent: _write_logs(parent, spectrum.logs, now))
    numbers = _spectrum_numbers(spectrum)
    repeated.write(entry, "instrument", (numbers.shape, numbers.tobytes()),
                   lambda parent: _write_instrument(parent, numbers, now))
    _write_workspace(entry, spectrum, deflated)
    repeated.write(entry, "process", (), lambda parent: _write_process(parent, now))


class _RepeatedGroups:
    """Groups that several entries of one file hold alike (sample, instrument, process, logs
    of equal values), written once and copied into the others with HDF5's object copy
    (H5Ocopy, in the library): writing each log's group, dataset and attributes again cost
    38 ms per S(q,w) entry, a copy of the whole group a fifth of it. The copies are objects of
    their own (not hard links: Mantid's NexusDescriptorLazy keys the objects it indexes by
    their unique ID), with the same datasets, types, attributes and values as a group written
    anew (tests/io/test_nexus.py compares them)."""

    def __init__(self) -> None:
        self._written: dict[tuple[str, Any], h5py.Group] = {}

    def write(self, entry: h5py.Group, name: str, key: Any,
              write: Callable[[h5py.Group], Any]) -> None:
        """Group ``name`` in ``entry``: written by ``write(entry)``, or copied from the first
        group of this ``name`` written with an equal ``key`` (what the group's content depends
        on, exactly: equal keys write equal groups)."""
        source = self._written.get((name, key))   # the entry that holds the first one
        if source is None:
            write(entry)
            self._written[(name, key)] = entry
        else:
            h5py.h5o.copy(source.id, name.encode(), entry.id, name.encode())


def _write_sample(entry: h5py.Group) -> None:
    """Sample::saveNexus with an unnamed sample of no shape and an empty material (version 2,
    formulaStyle "empty"), as Mantid writes for a workspace without sample information."""
    sample = _make_group(entry, "sample", "NXsample")
    _set_text_attribute(sample, "name", "", blank_if_empty=True)
    _set_int_attribute(sample, "name_empty", 1)
    _set_int_attribute(sample, "version", 1)
    _set_text_attribute(sample, "shape_xml", "", blank_if_empty=True)
    material = _make_group(sample, "material", "NXdata", version=2)
    _set_text_attribute(material, "name", "", blank_if_empty=True)
    _set_text_attribute(material, "formulaStyle", "empty")
    for field, value in (("number_density", 0.0), ("packing_fraction", 1.0),
                         ("temperature", 0.0), ("pressure", 0.0)):
        _write_number(material, field, value, np.float64)
    _write_number(sample, "num_other_samples", 0, np.int32)
    _write_number(sample, "num_oriented_lattice", 0, np.int32)
    _write_number(sample, "geom_id", 0, np.int32)
    for field in ("geom_thickness", "geom_height", "geom_width"):
        _write_number(sample, field, 0.0, np.float64)


def _log_kind(name: str, value: Any, what: str) -> str:
    """How a log value is stored: 'bool', 'int', 'float', 'str', 'array', 'text_array'."""
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, np.integer)):
        return "int"
    if isinstance(value, (float, np.floating)):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, (list, tuple, np.ndarray)):
        array = np.asarray(value)
        if array.ndim != 1:
            raise ValueError(f"{what}: log '{name}' is a {array.ndim}-D array; logs hold "
                             "scalars, strings or 1-D arrays")
        if array.dtype.kind in "biuf" or (array.size == 0 and array.dtype.kind != "U"):
            return "array"
        if array.dtype.kind in "USO" and all(isinstance(v, (str, bytes, np.str_, np.bytes_))
                                             for v in array):
            return "text_array"
    raise ValueError(f"{what}: log '{name}' is a {type(value).__name__}, which a Mantid log "
                     "cannot hold (use str, int, float, bool or a 1-D array)")


def _start_time(now: datetime.datetime) -> str:
    """ISO 8601 start of a time series, in UTC without zone as Mantid's DateAndTime writes."""
    return now.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def _logs_key(logs: dict[str, Any]) -> tuple:
    """What :func:`_write_logs` writes of ``logs``, exactly (names in order, how each is
    stored, its bytes): equal keys give equal ``logs`` groups (1, 1.0 and True differ)."""
    key = []
    for name, value in logs.items():
        kind = _log_kind(name, value, "log")
        if kind == "str":
            stored: Any = value
        elif kind == "int":
            stored = int(value)
        elif kind == "float":
            stored = np.float64(value).tobytes()  # -0.0 and NaN payloads kept apart
        elif kind == "bool":
            stored = bool(value)
        elif kind == "array":
            array = np.asarray(value)
            stored = (array.dtype.str, array.shape, array.tobytes())
        else:
            stored = tuple(v if isinstance(v, str) else v.decode() for v in value)
        key.append((name, kind, stored))
    return tuple(key)


def _write_time(log: h5py.Group, count: int, now: datetime.datetime) -> None:
    """TimeSeriesProperty::saveTimeVector: seconds since ``start``."""
    times = log.create_dataset("time", data=np.arange(count, dtype=np.float64))
    _set_text_attribute(times, "start", _start_time(now))


def _write_logs(entry: h5py.Group, logs: dict[str, Any], now: datetime.datetime) -> None:
    """Run::saveNexus: the ``logs`` NXgroup, a goniometer, one NXlog per log."""
    group = _make_group(entry, "logs", "NXgroup", version=1)
    goniometer = _make_group(group, "goniometer", "NXpositioner", version=1)
    _write_number(goniometer, "num_axes", 0, np.int32)
    for name, value in logs.items():
        kind = _log_kind(name, value, "log")
        log = _make_group(group, name, "NXlog")
        if kind == "str":
            _write_text(log, "value", value)
        elif kind == "int":
            dtype = np.int32 if np.iinfo(np.int32).min <= int(value) <= np.iinfo(np.int32).max \
                else np.int64
            _write_number(log, "value", int(value), dtype)
        elif kind == "float":
            _write_number(log, "value", float(value), np.float64)
        elif kind == "bool":
            # TimeSeriesProperty<bool>::saveProperty: uint8 values, group attribute boolean.
            log.create_dataset("value", data=np.array([bool(value)], dtype=np.uint8))
            _set_text_attribute(log, "boolean", "1")
            _write_time(log, 1, now)
        elif kind == "array":
            array = np.asarray(value)
            if array.dtype.kind == "b":
                log.create_dataset("value", data=array.astype(np.uint8))
                _set_text_attribute(log, "boolean", "1")
            else:
                if array.dtype.kind == "f" and array.dtype != np.float32:
                    array = array.astype(np.float64)
                elif array.dtype.kind in "iu" and array.dtype not in (
                        np.int32, np.int64, np.uint32, np.uint64):
                    array = array.astype(np.int64)
                dataset = log.create_dataset("value", data=array)
                _set_text_attribute(dataset, "units", "", blank_if_empty=True)
            _write_time(log, len(array), now)
        else:  # text_array: TimeSeriesProperty<std::string>::saveProperty
            rows = [_encode(v if isinstance(v, str) else v.decode()) for v in value]
            width = max((len(row) for row in rows), default=0) + 1
            _write_text_rows(log, "value", rows, width, (len(rows), 1))
            _write_time(log, len(rows), now)


def _spectrum_numbers(spectrum: Spectrum) -> np.ndarray:
    """The spectrum numbers MatrixWorkspace::saveSpectraMapNexus writes: the vertical axis's
    where it holds spectrum numbers, else 1..n."""
    n_spectra = spectrum.n_spectra
    if spectrum.vertical.unit == UNIT_SPECTRUM_NUMBER and len(spectrum.vertical) == n_spectra:
        return np.rint(spectrum.vertical.values).astype(np.int32)
    return np.arange(1, n_spectra + 1, dtype=np.int32)


def _write_instrument(entry: h5py.Group, numbers: np.ndarray, now: datetime.datetime) -> None:
    """ExperimentInfo::saveExperimentInfoNexus for a workspace without an instrument, and
    MatrixWorkspace::saveSpectraMapNexus's spectrum ``numbers`` (no detectors)."""
    instrument = _make_group(entry, "instrument", "NXinstrument", version=1)
    _write_text(instrument, "name", "")
    _write_text(instrument, "instrument_source", "")
    xml = _make_group(instrument, "instrument_xml", "NXnote")
    _write_text(xml, "data", "")
    _write_text(xml, "description", "XML contents of the instrument IDF file.")
    _write_text(xml, "type", "text/xml")
    parameters = _make_group(instrument, "instrument_parameter_map", "NXnote", version=1)
    _write_text(parameters, "author", "")
    _write_text(parameters, "data", "")
    date = now.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000"
    _write_text(parameters, "date", date)
    _write_text(parameters, "description", _PARAMETER_MAP_DESCRIPTION)
    _write_text(parameters, "type", "text/plain")
    detector = _make_group(instrument, "detector", "NXdetector", version=1)
    detector.create_dataset("spectra", data=numbers, chunks=(max(len(numbers), 1),),
                            compression="gzip", compression_opts=_DEFLATE_LEVEL)


def _axis_unit_attributes(dataset: h5py.Dataset, axis: Axis, spectrum_axis: bool) -> None:
    _set_text_attribute(dataset, "units", axis.unit or "unknown")
    if axis.unit == UNIT_LABEL:
        _set_text_attribute(dataset, "caption", axis.caption)
        _set_text_attribute(dataset, "label", axis.label)
    elif spectrum_axis:
        # A SpectraAxis's unit is Label("Spectrum", ""), so Mantid writes these too.
        _set_text_attribute(dataset, "caption", "Spectrum")
        _set_text_attribute(dataset, "label", "")


class _DeflatedRows:
    """The 2-D datasets of a file (values, errors), one chunk per spectrum compressed with
    deflate as Mantid writes them (chunks of one spectrum, ``NX_COMP_LZW``), compressed here
    in threads and written as chunks (``write_direct_chunk``) rather than by HDF5's filter in
    this thread: compression was two thirds of writing an S(q,w) file (0.24 of 0.40
    processor-s for 7 entries of 397 x 201 values), and zlib releases the GIL. A dataset's
    rows are compressed from :meth:`create` on, while this thread writes the entries' other
    groups (0.2 processor-s of HDF5 metadata for an S(q,w) file), and written by
    :meth:`write`; compressed rows are a third of the raw ones for S(q,w) (at most their
    size plus zlib's few bytes a row), and the rows are compressed from the array, not
    copied. The bytes are those HDF5's deflate filter writes (zlib's compress2 at the same
    level, kept even where it is longer than the raw chunk, as HDF5 keeps it);
    tests/io/test_nexus.py compares them chunk by chunk. Use as a context manager: leaving
    it ends the threads."""

    #: Rows per thread below which a dataset is not split between threads.
    ROWS_PER_THREAD = 64

    def __init__(self) -> None:
        self._pending: list[tuple[h5py.Dataset, list[range], list[Any]]] = []
        self._pool: ThreadPoolExecutor | None = None

    def __enter__(self) -> "_DeflatedRows":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        self._pending.clear()

    @staticmethod
    def _deflate(data: np.ndarray, rows: range) -> list[bytes]:
        return [zlib.compress(data[index], _DEFLATE_LEVEL) for index in rows]

    def create(self, group: h5py.Group, name: str, data: np.ndarray) -> h5py.Dataset:
        data = np.ascontiguousarray(data, dtype=np.float64)
        dataset = group.create_dataset(name, shape=data.shape, dtype=np.float64,
                                       chunks=(1, max(data.shape[1], 1)), compression="gzip",
                                       compression_opts=_DEFLATE_LEVEL)
        if not data.size:
            return dataset
        n_rows = data.shape[0]
        workers = max(1, min(os.cpu_count() or 1, n_rows // self.ROWS_PER_THREAD))
        if workers < 2:
            parts = [range(n_rows)]
            self._pending.append((dataset, parts, [self._deflate(data, parts[0])]))
            return dataset
        if self._pool is None:
            self._pool = ThreadPoolExecutor(os.cpu_count() or 1)
        parts = [range(k, n_rows, workers) for k in range(workers)]
        futures = [self._pool.submit(self._deflate, data, rows) for rows in parts]
        self._pending.append((dataset, parts, futures))
        return dataset

    def write(self) -> None:
        """Write the compressed rows of every dataset created, in order."""
        for dataset, parts, packed in self._pending:
            for rows, chunks in zip(parts, packed):
                if not isinstance(chunks, list):
                    chunks = chunks.result()
                for index, chunk in zip(rows, chunks):
                    dataset.id.write_direct_chunk((index, 0), chunk)
        self._pending.clear()


def _write_workspace(entry: h5py.Group, spectrum: Spectrum, deflated: _DeflatedRows) -> None:
    """NexusFileIO::writeNexusProcessedData2D."""
    group = _make_group(entry, "workspace", "NXdata")
    values = deflated.create(group, "values", spectrum.values)
    _set_int_attribute(values, "signal", 1)
    _set_text_attribute(values, "axes", "axis2,axis1")
    _set_text_attribute(values, "units", spectrum.y_unit)
    _set_text_attribute(values, "unit_label", spectrum.y_unit_label)
    deflated.create(group, "errors", spectrum.errors)
    axis1 = group.create_dataset("axis1", data=spectrum.x.values, dtype=np.float64)
    _set_text_attribute(axis1, "distribution", "1" if spectrum.distribution else "0",
                        terminated=True)
    _axis_unit_attributes(axis1, spectrum.x, spectrum_axis=False)
    vertical = spectrum.vertical
    if vertical.is_text:
        # Labels joined with a newline after each; the length excludes any terminator.
        text = "".join((label or " ") + "\n" for label in vertical.labels).encode("utf-8")
        axis2 = _write_text_rows(group, "axis2", [text], len(text), (1,))
        _set_text_attribute(axis2, "units", _TEXT_AXIS_UNIT)
    else:
        axis2 = group.create_dataset("axis2", data=vertical.values, dtype=np.float64)
        _axis_unit_attributes(axis2, vertical,
                              spectrum_axis=vertical.unit == UNIT_SPECTRUM_NUMBER)


def _write_process(entry: h5py.Group, now: datetime.datetime) -> None:
    """WorkspaceHistory::saveNexus's environment note (no algorithm history: provenance is in
    the logs)."""
    process = _make_group(entry, "process", "NXprocess")
    note = _make_group(process, "MantidEnvironment", "NXnote")
    author = _write_text(note, "author", "mdinsim")
    date = f"{now.year}-{_MONTHS[now.month - 1]}-{now.strftime('%d %H:%M:%S')}"
    _set_text_attribute(author, "date", date)
    _write_text(note, "description", "Mantid Environment data")
    _write_text(note, "data", f"Framework Version: mdinsim {__version__}\n"
                              f"OS name: {platform.system()}\n"
                              f"OS version: {platform.release()}\n")


def _table_column_kind(name: str, column: Any, what: str) -> str:
    """'text', 'number' or 'vector' (a column of 1-D arrays)."""
    if isinstance(column, np.ndarray) and column.dtype.kind in "biuf":
        if column.ndim == 1:
            return "number"
        if column.ndim == 2:
            return "vector"
    items = list(column)
    if isinstance(column, np.ndarray) and column.dtype.kind == "U":
        return "text"
    if items and all(isinstance(v, str) for v in items):
        return "text"
    if items and all(isinstance(v, (list, tuple, np.ndarray)) for v in items):
        if all(np.asarray(v).ndim == 1 and np.asarray(v).dtype.kind in "biuf" for v in items):
            return "vector"
    array = np.asarray(items)
    if array.ndim == 1 and (array.dtype.kind in "biuf" or array.size == 0):
        return "number"
    raise ValueError(f"{what}: table column '{name}' holds values Mantid's TableWorkspace "
                     "cannot store (numbers, strings or rows of numbers)")


def _table_number_dtype(array: np.ndarray) -> np.dtype:
    """The NeXus type NexusFileIO writes for a numeric column (bool as uint8)."""
    kind = array.dtype.kind
    if kind == "b":
        return np.dtype(np.uint8)
    if kind == "f":
        return np.dtype(np.float32) if array.dtype == np.float32 else np.dtype(np.float64)
    if array.dtype in (np.int32, np.int64, np.uint32, np.uint64):
        return array.dtype
    return np.dtype(np.int64)  # other integers, and an empty column


def _write_table_entry(entry: h5py.Group, table: Table, now: datetime.datetime,
                       repeated: _RepeatedGroups) -> None:
    """NexusFileIO::writeNexusTableWorkspace. The column units go into each column's ``units``
    attribute (Mantid writes "Not known"/"N/A" there and ignores it when loading); a table's
    logs, which Mantid does not save for tables, go into ``logs`` (ignored by Mantid)."""
    _write_header(entry, table.title, table.name)
    if table.logs:
        repeated.write(entry, "logs", _logs_key(table.logs),
                       lambda parent: _write_logs(parent, table.logs, now))
    group = _make_group(entry, "table_workspace", "NXdata")
    for index, (name, column) in enumerate(table.columns.items(), start=1):
        dataset_name = f"column_{index}"
        kind = _table_column_kind(name, column, "table")
        unit = table.units.get(name, "")
        if kind == "text":
            rows = [_encode(v) for v in column]
            width = max((len(row) for row in rows), default=0) or 1
            # Mantid pads with spaces (not nulls) and trims trailing blanks when loading.
            rows = [row.ljust(width, b" ") for row in rows]
            dataset = _write_text_rows(group, dataset_name, rows, width, (len(rows), 1),
                                       chunks=(1, 1) if rows else None)
            _set_text_attribute(dataset, "units", unit or "N/A")
            _set_text_attribute(dataset, "interpret_as", "A string")
        elif kind == "number":
            array = np.asarray(column)
            dataset = group.create_dataset(dataset_name,
                                           data=array.astype(_table_number_dtype(array)))
            _set_text_attribute(dataset, "units", unit or "Not known")
            _set_text_attribute(dataset, "interpret_as", "")
        else:
            rows = [np.asarray(row) for row in column]
            width = max((len(row) for row in rows), default=0)
            is_float = any(row.dtype.kind == "f" for row in rows)
            dtype = np.float64 if is_float else np.int32
            data = np.zeros((len(rows), width), dtype=dtype)
            for i, row in enumerate(rows):
                data[i, :len(row)] = row
            dataset = group.create_dataset(dataset_name, data=data)
            for i, row in enumerate(rows):
                _set_int_attribute(dataset, f"row_size_{i}", len(row))
            _set_text_attribute(dataset, "units", unit or "Not known")
            _set_text_attribute(dataset, "interpret_as", "")
        _set_text_attribute(dataset, "name", name)
    repeated.write(entry, "process", (), lambda parent: _write_process(parent, now))


# ------------------------------------------------------------------------------------------
# Reading
# ------------------------------------------------------------------------------------------
def _decode(value: Any) -> str:
    """Text of a string dataset or attribute (fixed or variable length), nulls removed."""
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0] if value.size else b""
    if isinstance(value, (bytes, np.bytes_)):
        value = bytes(value).decode("utf-8", errors="replace")
    return str(value).rstrip("\0")


def _blank_to_empty(text: str) -> str:
    """NeXus stores empty strings as a single blank; read it back as empty."""
    return "" if text == " " else text


def _attribute(obj: h5py.HLObject, name: str, default: str | None = None) -> str | None:
    if name not in obj.attrs:
        return default
    return _decode(obj.attrs[name])


def _nx_class(obj: h5py.HLObject) -> str:
    return _attribute(obj, "NX_class", "") or ""


def _entry_number(name: str) -> int | None:
    match = _ENTRY_PATTERN.match(name)
    return int(match.group(1)) if match else None


#: What h5py raises for damaged metadata or chunks that fail to decompress.
_READ_ERRORS = (OSError, KeyError, ValueError, TypeError, IndexError, RuntimeError)


def _damaged(path: Path, error: Exception, where: str | None) -> InputFileError:
    return InputFileError(path, f"is damaged and cannot be read ({error})", where=where,
                          fix="write the file again (SaveNexusProcessed or mdinsim)")


def _open(path: Path) -> h5py.File:
    """Open a file for reading, or raise an InputFileError saying why it cannot be."""
    if not path.exists():
        raise InputFileError(path, "file not found",
                             fix="check the path; a Mantid processed NeXus file (.nxs) is "
                                 "written by SaveNexusProcessed or mdinsim")
    if path.is_dir():
        raise InputFileError(path, "is a folder, not a file", fix="give the .nxs file")
    if not h5py.is_hdf5(path):
        raise InputFileError(path, "is not a NeXus (HDF5) file",
                             fix="give a Mantid processed NeXus file (.nxs) written by "
                                 "SaveNexusProcessed or mdinsim")
    try:
        return h5py.File(path, "r")
    except OSError as error:
        raise InputFileError(path, f"is damaged or truncated and cannot be opened ({error})",
                             fix="write the file again") from error


def _describe_entries(handle: h5py.File) -> str:
    names = list(handle.keys())
    return ", ".join(names) if names else "nothing"


def _workspace_entries(handle: h5py.File, path: Path) -> list[str]:
    """The ``mantid_workspace_<n>`` entries, by n."""
    entries = [name for name in handle.keys()
               if _entry_number(name) is not None and isinstance(handle[name], h5py.Group)]
    if not entries:
        md = [name for name in handle.keys() if name in ("MDEventWorkspace", "MDHistoWorkspace")]
        if md:
            raise InputFileError(path, f"holds an MD workspace ({md[0]}, written by SaveMD), "
                                       "which mdinsim cannot read",
                                 fix=f"{_SUPPORTED}; in Mantid, make a Workspace2D (e.g. "
                                     "ConvertMDHistoToMatrixWorkspace) and SaveNexusProcessed "
                                     "it")
        raise InputFileError(path, "is not a Mantid processed NeXus file (no entry "
                                   f"'{ENTRY_PREFIX}1'; it holds {_describe_entries(handle)})",
                             fix="save the workspace with Mantid's SaveNexusProcessed")
    return sorted(entries, key=_entry_number)


def _entry_kind(entry: h5py.Group) -> str:
    if "workspace" in entry:
        return "Workspace2D"
    if "table_workspace" in entry:
        return "TableWorkspace"
    for group, description in _UNSUPPORTED_GROUPS.items():
        if group in entry:
            return description
    return "unknown"


def list_processed_nexus_entries(path: str | os.PathLike) -> list[dict[str, str]]:
    """The entries of a processed NeXus file: ``entry`` (group name), ``name`` (workspace
    name, may be empty), ``title`` and ``kind`` ("Workspace2D", "TableWorkspace", or a
    description of a kind this module does not read)."""
    path = Path(path)
    with _open(path) as handle:
        try:
            return [{"entry": name,
                     "name": _read_string_field(handle[name], "workspace_name"),
                     "title": _read_string_field(handle[name], "title"),
                     "kind": _entry_kind(handle[name])}
                    for name in _workspace_entries(handle, path)]
        except _READ_ERRORS as error:
            raise _damaged(path, error, None) from error


def _select_entries(handle: h5py.File, path: Path, entry: int | str | None) -> list[str]:
    entries = _workspace_entries(handle, path)
    if entry is None:
        return entries
    if isinstance(entry, (int, np.integer)) and not isinstance(entry, bool):
        wanted = f"{ENTRY_PREFIX}{int(entry)}"
        if wanted in entries:
            return [wanted]
    elif isinstance(entry, str):
        if entry in entries:
            return [entry]
        named = [name for name in entries
                 if _read_string_field(handle[name], "workspace_name") == entry]
        if named:
            return named[:1]
    available = ", ".join(
        f"{name} ('{_read_string_field(handle[name], 'workspace_name')}')" for name in entries)
    raise InputFileError(path, f"has no entry {entry!r}", where=None,
                         fix=f"choose one of: {available} (by number, entry name or "
                             "workspace name)")


def load_processed_nexus(path: str | os.PathLike, entry: int | str | None = None
                         ) -> list[Spectrum | Table]:
    """Read a Mantid processed NeXus file (from Mantid's SaveNexusProcessed or from
    :func:`save_processed_nexus`).

    Parameters
    ----------
    path
        The ``.nxs`` file.
    entry
        ``None`` reads every ``mantid_workspace_<n>`` entry in order of n; an ``int`` n reads
        entry ``mantid_workspace_<n>`` (Mantid's EntryNumber); a ``str`` reads the entry of
        that group name or that workspace name.

    Returns
    -------
    One :class:`Spectrum` per Workspace2D entry and one :class:`Table` per TableWorkspace
    entry. X and vertical axes keep their Mantid unit IDs (``DeltaE`` in meV,
    ``MomentumTransfer`` in 1/Angstrom, ...), points or bin edges as stored.

    Raises
    ------
    InputFileError
        The file is missing, not HDF5, damaged, not a processed file, lacks the entry, or
        holds a workspace type that is not read (events, peaks, MD workspaces): the message
        names the entry and what is supported.
    """
    path = Path(path)
    with _open(path) as handle:
        where = None
        try:
            names = _select_entries(handle, path, entry)
            result: list[Spectrum | Table] = []
            for name in names:
                where = f"entry '{name}'"
                result.append(_read_entry(handle[name], path, name))
            return result
        except InputFileError:
            raise
        except _READ_ERRORS as error:
            raise _damaged(path, error, where) from error


def _read_entry(entry: h5py.Group, path: Path, name: str) -> Spectrum | Table:
    where = f"entry '{name}'"
    if "table_workspace" in entry:
        return _read_table(entry, path, where)
    if "workspace" in entry:
        return _read_spectrum(entry, path, where)
    for group, description in _UNSUPPORTED_GROUPS.items():
        if group in entry:
            fix = _SUPPORTED
            if group == "event_workspace":
                fix += ("; in Mantid, histogram the events (Rebin with PreserveEvents=False or "
                        "ConvertToMatrixWorkspace) and save again")
            raise InputFileError(path, f"holds {description}, which mdinsim cannot read",
                                 where=where, fix=fix)
    raise InputFileError(path, "holds no workspace data (groups: "
                               f"{', '.join(entry.keys()) or 'none'})", where=where,
                         fix=_SUPPORTED)


def _read_string_field(group: h5py.Group, name: str) -> str:
    if name not in group or not isinstance(group[name], h5py.Dataset):
        return ""
    return _blank_to_empty(_decode(group[name][()]))


def _require(group: h5py.Group, name: str, path: Path, where: str) -> Any:
    if name not in group:
        raise InputFileError(path, f"has no '{name}' in '{group.name}'", where=where,
                             fix="the file is damaged or not written by SaveNexusProcessed")
    return group[name]


def _signal_dataset(group: h5py.Group, path: Path, where: str) -> h5py.Dataset:
    """The dataset with the ``signal`` attribute, as NXData::openDoubleData finds it."""
    for name, item in group.items():
        if isinstance(item, h5py.Dataset) and "signal" in item.attrs:
            return item
    return _require(group, "values", path, where)


def _read_axis(dataset: h5py.Dataset, n_values: int, path: Path, where: str,
               vertical: bool) -> Axis:
    unit = _attribute(dataset, "units", "") or ""
    if vertical and unit == _TEXT_AXIS_UNIT:
        # LoadNexusProcessed::loadNonSpectraAxis: split at newlines, empty tokens ignored.
        text = _decode(dataset[()]) if dataset.size else ""
        labels = [_blank_to_empty(token) for token in text.split("\n") if token]
        labels = (labels + [""] * n_values)[:n_values]
        return Axis(labels=labels)
    values = np.asarray(dataset[()], dtype=float)
    if values.ndim == 2:
        # Ragged X (one row per spectrum): a Spectrum has one X for all spectra.
        if not np.all(values == values[:1]):
            raise InputFileError(path, "has a different X axis for each spectrum, but a "
                                       "Spectrum shares one X", where=f"{where}, 'axis1'",
                                 fix="in Mantid, Rebin to common bins and save again")
        values = values[0]
    caption = label = ""
    if unit == UNIT_LABEL:
        caption = _attribute(dataset, "caption", "") or ""
        label = _attribute(dataset, "label", "") or ""
    return Axis(values=values, unit=unit or UNIT_EMPTY, caption=caption, label=label)


def _read_spectrum(entry: h5py.Group, path: Path, where: str) -> Spectrum:
    group = entry["workspace"]
    signal = _signal_dataset(group, path, f"{where}, 'workspace'")
    values = np.asarray(signal[()], dtype=float)
    if values.ndim != 2:
        raise InputFileError(path, f"'{signal.name}' has {values.ndim} dimensions, not 2",
                             where=where, fix="the file is damaged; write it again")
    errors_dataset = _require(group, "errors", path, where)
    errors = np.asarray(errors_dataset[()], dtype=float)
    axis1 = _require(group, "axis1", path, where)
    axis2 = _require(group, "axis2", path, where)
    x = _read_axis(axis1, values.shape[1], path, where, vertical=False)
    vertical = _read_axis(axis2, values.shape[0], path, where, vertical=True)
    distribution = (_attribute(axis1, "distribution", "0") or "0").strip() == "1"
    try:
        return Spectrum(x=x, values=values, errors=errors, vertical=vertical,
                        distribution=distribution,
                        y_unit=_attribute(signal, "units", "") or "",
                        y_unit_label=_attribute(signal, "unit_label", "") or "",
                        title=_read_string_field(entry, "title"),
                        name=_read_string_field(entry, "workspace_name"),
                        logs=_read_logs(entry, path, where))
    except ValueError as error:
        raise InputFileError(path, f"inconsistent workspace: {error}", where=where,
                             fix="the file is damaged; write it again") from error


def _read_text_rows(dataset: h5py.Dataset) -> list[str]:
    data = np.asarray(dataset[()])
    if data.ndim == 0:
        data = data.reshape(1)
    rows = data.reshape(data.shape[0], -1) if data.ndim > 1 else data.reshape(-1, 1)
    return ["".join(_decode(cell) for cell in row) for row in rows]


def _read_logs(entry: h5py.Group, path: Path, where: str) -> dict[str, Any]:
    """PropertyNexus::loadProperty for every NXlog in ``logs`` (the goniometer is skipped)."""
    if "logs" not in entry:
        return {}
    logs: dict[str, Any] = {}
    for name, log in entry["logs"].items():
        if not isinstance(log, h5py.Group) or "value" not in log:
            continue
        if _nx_class(log) not in ("NXlog", ""):
            continue
        value = log["value"]
        has_time = "time" in log
        is_bool = "boolean" in log.attrs
        if value.dtype.kind in "SOU":
            if has_time:
                logs[name] = np.array([_blank_to_empty(row.rstrip("\0"))
                                       for row in _read_text_rows(value)], dtype=str)
            else:
                logs[name] = _blank_to_empty(_decode(value[()]))
            continue
        array = np.asarray(value[()])
        if array.ndim != 1:
            array = array.reshape(-1)
        if is_bool:
            array = array != 0
            if array.size == 1:  # our single bool, or Mantid's one-entry boolean series
                logs[name] = bool(array[0])
            else:
                logs[name] = array
        elif has_time or array.size != 1:
            logs[name] = array  # a time series, or an ArrayProperty
        elif array.dtype.kind in "iu":
            logs[name] = int(array[0])
        elif array.dtype.kind == "f":
            logs[name] = float(array[0])
        else:
            logs[name] = array
    return logs


def _read_table(entry: h5py.Group, path: Path, where: str) -> Table:
    """LoadNexusProcessed::loadTableEntry: columns column_1, column_2, ... until one is
    missing; columns without a name are skipped, as Mantid does."""
    group = entry["table_workspace"]
    columns: dict[str, Any] = {}
    units: dict[str, str] = {}
    number = 1
    while f"column_{number}" in group:
        dataset = group[f"column_{number}"]
        number += 1
        name = _attribute(dataset, "name", "") or ""
        if not name:
            continue
        unit = _attribute(dataset, "units", "") or ""
        if dataset.dtype.kind in "SOU":
            # Rows padded with blanks; Mantid trims them on the right (boost::trim_right).
            columns[name] = [row.rstrip("\0").rstrip() for row in _read_text_rows(dataset)]
        elif dataset.ndim == 1:
            data = np.asarray(dataset[()])
            columns[name] = data.astype(bool) if data.dtype == np.uint8 else data
        elif dataset.ndim == 2:
            data = np.asarray(dataset[()])
            if (_attribute(dataset, "interpret_as", "") or "") == "V3D":
                columns[name] = data
            else:
                sizes = [int(np.asarray(dataset.attrs.get(f"row_size_{i}", data.shape[1])))
                         for i in range(data.shape[0])]
                columns[name] = [data[i, :size].copy() for i, size in enumerate(sizes)]
        else:
            raise InputFileError(path, f"table column '{name}' has {dataset.ndim} dimensions",
                                 where=f"{where}, '{dataset.name}'",
                                 fix="the file is damaged; write it again")
        if unit.strip() not in _TABLE_NO_UNIT:
            units[name] = unit
    try:
        return Table(columns=columns, units=units, title=_read_string_field(entry, "title"),
                     name=_read_string_field(entry, "workspace_name"),
                     logs=_read_logs(entry, path, where))
    except ValueError as error:
        raise InputFileError(path, f"inconsistent table: {error}", where=where,
                             fix="the file is damaged; write it again") from error

