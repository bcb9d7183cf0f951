"""Mantid processed NeXus: Mantid's own files are read as h5py sees them and as Mantid means
them; our files round-trip and carry the structure Mantid's files carry; bad files fail clearly.

The references are the files in ../shared/data/mantid-nexus, written by Mantid 3.1 to 6.6
(SaveNexusProcessed), read independently here with plain h5py.
"""

from __future__ import annotations

import datetime
import os
import types
from pathlib import Path

import h5py
import numpy as np
import pytest

from mantid_mdinsim.errors import InputFileError
from mantid_mdinsim.io import nexus
from mantid_mdinsim.io.nexus import (list_processed_nexus_entries, load_processed_nexus,
                                     save_processed_nexus)
from mantid_mdinsim.spectrum import (UNIT_SPECTRUM_NUMBER, Axis, Spectrum, Table, energy_axis,
                                     momentum_axis, text_axis)

MANTID_FILES = {
    "mslice_MAR21335_Ei60meV.nxs": "Workspace2D",
    "scriptrepo_Rb_Q.nxs": "Workspace2D",
    "scriptrepo_crystalfield_reference.nxs": "Workspace2D",
    "scriptrepo_crystalfield_tab.nxs": "TableWorkspace",
    "scriptrepo_irs26173_graphite_res.nxs": "Workspace2D",
    "scriptrepo_irs26176_graphite002_red.nxs": "Workspace2D",
    "scriptrepo_musr_fit_checked_result.nxs": "Workspace2D",
    "shiver_ub_process_nexus.nxs": "Workspace2D",
}


def _text(value) -> str:
    value = np.asarray(value).reshape(-1)[0]
    return value.decode() if isinstance(value, bytes) else str(value)


@pytest.fixture(scope="module")
def mantid_dir(shared_data) -> Path:
    return shared_data / "mantid-nexus"


# ------------------------------------------------------------------------------------------
# Mantid's own files
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("file_name", sorted(MANTID_FILES))
def test_reads_mantid_file_as_h5py_sees_it(mantid_dir, file_name):
    path = mantid_dir / file_name
    (workspace,) = load_processed_nexus(path)
    with h5py.File(path, "r") as handle:
        entry = handle["mantid_workspace_1"]
        assert workspace.name == _text(entry["workspace_name"][()]).strip()
        if MANTID_FILES[file_name] == "TableWorkspace":
            assert isinstance(workspace, Table)
            group = entry["table_workspace"]
            for index, name in enumerate(workspace.columns, start=1):
                dataset = group[f"column_{index}"]
                assert _text(dataset.attrs["name"]) == name
                expected = [row.decode().rstrip() for row in dataset[()].reshape(-1)]
                assert workspace.columns[name] == expected
            return
        assert isinstance(workspace, Spectrum)
        group = entry["workspace"]
        np.testing.assert_array_equal(workspace.values, group["values"][()])
        np.testing.assert_array_equal(workspace.errors, group["errors"][()])
        np.testing.assert_array_equal(workspace.x.values, group["axis1"][()])
        assert workspace.x.unit == _text(group["axis1"].attrs["units"])
        assert workspace.distribution == (_text(group["axis1"].attrs["distribution"]) == "1")
        assert workspace.y_unit == _text(group["values"].attrs["units"])
        assert workspace.y_unit_label == _text(group["values"].attrs["unit_label"])
        if not workspace.vertical.is_text:
            np.testing.assert_array_equal(workspace.vertical.values, group["axis2"][()])
            assert workspace.vertical.unit == _text(group["axis2"].attrs["units"])
        # Histogram data: one more X than values per spectrum
        assert workspace.is_histogram == (group["axis1"].shape[0] == group["values"].shape[1] + 1)
        title = _text(entry["title"][()])
        assert workspace.title == ("" if title == " " else title)


def test_mantid_direct_geometry_file_meaning(mantid_dir):
    """MARI reduced to S(phi, E): DeltaE bin edges, counts per meV, run logs of every kind."""
    (spectrum,) = load_processed_nexus(mantid_dir / "mslice_MAR21335_Ei60meV.nxs")
    assert spectrum.x.unit == "DeltaE" and spectrum.x.title == "Energy transfer (meV)"
    assert spectrum.is_histogram and spectrum.values.shape == (285, 294)
    assert spectrum.vertical.unit == UNIT_SPECTRUM_NUMBER
    assert spectrum.distribution
    assert (spectrum.y_unit, spectrum.y_unit_label) == ("Counts", "Counts per meV")
    assert spectrum.title.startswith("Al pellets T=5K, Ei=60")
    logs = spectrum.logs
    assert logs["Ei"] == pytest.approx(59.37064727)               # single float64
    assert logs["nspectra"] == 922 and isinstance(logs["nspectra"], int)  # single int32
    assert logs["run_number"] == "21335"                             # string
    assert logs["deltaE-mode"] == "Direct"
    np.testing.assert_array_equal(logs["running"], [True, False, True, False])  # bool series
    assert logs["period 1"] is True                                  # one-entry bool series
    assert list(logs["status"]) == ["\tSETUP", "\tRUNNING", "\tSETUP", "\tRUNNING"]
    assert logs["t_sample"].shape == (1264,)                        # numeric time series
    assert "goniometer" not in logs


def test_mantid_label_unit_and_text_axis(mantid_dir):
    (spectrum,) = load_processed_nexus(mantid_dir / "scriptrepo_crystalfield_reference.nxs")
    assert spectrum.x.unit == "Label"
    assert (spectrum.x.caption, spectrum.x.label) == ("Magnetic Field", "T")
    assert spectrum.x.title == "Magnetic Field (T)"
    assert spectrum.vertical.is_text and spectrum.vertical.labels == ["Simulation"]
    assert spectrum.y_unit_label == "Integral Polarisation"
    (musr,) = load_processed_nexus(mantid_dir / "scriptrepo_musr_fit_checked_result.nxs")
    assert (musr.x.caption, musr.x.label, musr.distribution) == ("Field", "G", False)


def test_mantid_momentum_and_indirect_files(mantid_dir):
    (rb,) = load_processed_nexus(mantid_dir / "scriptrepo_Rb_Q.nxs")
    assert rb.x.unit == "MomentumTransfer" and not rb.is_histogram and rb.n_spectra == 1
    assert rb.logs["input_type"] == "Q" and rb.logs["run_title"] == ""  # " " means empty
    (iris,) = load_processed_nexus(mantid_dir / "scriptrepo_irs26176_graphite002_red.nxs")
    assert iris.x.unit == "DeltaE" and iris.values.shape == (10, 1905) and iris.is_histogram
    assert iris.title == "H20 in cyl can  280K"
    assert iris.logs["run_start"] == "2003-09-10T17:04:31"


def test_mantid_table_file(mantid_dir):
    (table,) = load_processed_nexus(mantid_dir / "scriptrepo_crystalfield_tab.nxs")
    assert list(table.columns) == ["Code", "Value"] and table.n_rows == 30
    assert table.columns["Code"][:3] == ["spins", "measure", "lf"]
    assert table.columns["Value"][0] == "Mu,147Sm,fSm"
    assert table.units == {}                     # Mantid writes "N/A": no unit
    assert (table.title, table.name) == ("crystalfield_tab", "CrystalFieldLC")
    entries = list_processed_nexus_entries(mantid_dir / "scriptrepo_crystalfield_tab.nxs")
    assert entries == [{"entry": "mantid_workspace_1", "name": "CrystalFieldLC",
                        "title": "crystalfield_tab", "kind": "TableWorkspace"}]


# ------------------------------------------------------------------------------------------
# Round trips
# ------------------------------------------------------------------------------------------
def _all_logs() -> dict:
    return {
        "text": "H2O at 300 K", "empty": "", "integer": 7, "big_integer": 2**40,
        "number": 0.125, "flag": True, "off": False,
        "series": np.array([1.0, 2.5, -3.0]), "int_series": np.array([1, 2], dtype=np.int32),
        "long_series": np.array([2**40, 1]), "bool_series": np.array([True, False, True]),
        "text_series": np.array(["a", "bcd", ""]), "one_value_series": np.array([4.0]),
    }


def _assert_logs_equal(actual: dict, expected: dict) -> None:
    assert set(actual) == set(expected)
    for name, value in expected.items():
        if isinstance(value, np.ndarray):
            assert isinstance(actual[name], np.ndarray), name
            np.testing.assert_array_equal(actual[name], value)
            assert actual[name].dtype.kind == value.dtype.kind, name
        else:
            assert actual[name] == value and type(actual[name]) is type(value), name


def _spectra() -> list[Spectrum]:
    rng = np.random.default_rng(3)
    sqw = Spectrum(x=energy_axis(np.linspace(-2.0, 40.0, 43)),            # bin edges
                   values=rng.random((5, 42)), errors=rng.random((5, 42)) * 0.1,
                   vertical=momentum_axis(np.linspace(0.5, 4.5, 5)),        # points
                   y_unit="", y_unit_label="S(Q,w) (1/meV)", title="S(|Q|,w) of water",
                   name="water_sqw", logs=_all_logs())
    edges_q = Spectrum(x=energy_axis(np.linspace(0.0, 10.0, 11)),           # points
                       values=rng.random((3, 11)),
                       vertical=momentum_axis([0.0, 1.0, 2.0, 3.0]),        # bin edges
                       distribution=False, name="q_edges")
    labelled = Spectrum(x=Axis(values=np.arange(4.0), unit="Label", caption="Field",
                               label="G"),
                        values=rng.random((2, 4)), vertical=text_axis(["total", ""]),
                        name="labelled", title="")
    one = Spectrum(x=energy_axis(np.linspace(1.0, 5.0, 5)), values=rng.random(5), name="one")
    return [sqw, edges_q, labelled, one]


def _assert_spectra_equal(actual: Spectrum, expected: Spectrum) -> None:
    np.testing.assert_array_equal(actual.values, expected.values)
    np.testing.assert_array_equal(actual.errors, expected.errors)
    np.testing.assert_array_equal(actual.x.values, expected.x.values)
    for field in ("unit", "caption", "label"):
        assert getattr(actual.x, field) == getattr(expected.x, field)
        assert getattr(actual.vertical, field) == getattr(expected.vertical, field)
    if expected.vertical.is_text:
        assert actual.vertical.labels == expected.vertical.labels
    else:
        np.testing.assert_array_equal(actual.vertical.values, expected.vertical.values)
    for field in ("distribution", "y_unit", "y_unit_label", "title", "name"):
        assert getattr(actual, field) == getattr(expected, field), field
    _assert_logs_equal(actual.logs, expected.logs)


def _table() -> Table:
    return Table(columns={"element": ["H", "O", "Zr"],
                          "b_coh_fm": np.array([-3.739, 5.803, 7.16]),
                          "count": np.array([2, 1, 3], dtype=np.int32),
                          "big": np.array([2**40, 0, -1]),
                          "heavy": np.array([False, False, True]),
                          "widths": [np.array([1.0, 2.0]), np.array([]), np.array([3.0])]},
                 units={"b_coh_fm": "fm"}, title="scattering lengths", name="lengths",
                 logs={"source": "Sears 1992"})


def test_round_trip_is_exact(tmp_path):
    spectra, table = _spectra(), _table()
    path = save_processed_nexus(tmp_path / "out.nxs", [*spectra, table])
    loaded = load_processed_nexus(path)
    assert len(loaded) == len(spectra) + 1
    for actual, expected in zip(loaded, spectra):
        _assert_spectra_equal(actual, expected)
    assert isinstance(loaded[-1], Table)
    assert list(loaded[-1].columns) == list(table.columns)
    for name, column in table.columns.items():
        if name == "widths":
            for got, want in zip(loaded[-1].columns[name], column):
                np.testing.assert_array_equal(got, want)
        else:
            np.testing.assert_array_equal(loaded[-1].columns[name], column)
            assert np.asarray(loaded[-1].columns[name]).dtype.kind == \
                np.asarray(column).dtype.kind
    assert loaded[-1].units == table.units
    assert (loaded[-1].title, loaded[-1].name, loaded[-1].logs) == \
        (table.title, table.name, table.logs)
    # Entry selection: by number, entry name, workspace name
    (second,) = load_processed_nexus(path, entry=2)
    _assert_spectra_equal(second, spectra[1])
    assert load_processed_nexus(path, entry="mantid_workspace_3")[0].name == "labelled"
    assert load_processed_nexus(path, entry="lengths")[0].title == "scattering lengths"
    assert [e["kind"] for e in list_processed_nexus_entries(path)] == \
        ["Workspace2D"] * 4 + ["TableWorkspace"]


# ------------------------------------------------------------------------------------------
# Structure compared with Mantid's files
# ------------------------------------------------------------------------------------------
def _string_padding(obj) -> int:
    return obj.id.get_type().get_strpad()


def _dataset_signature(dataset: h5py.Dataset) -> tuple:
    """Name-independent structure: dtype kind, rank, and for strings the NeXus padding."""
    kind = dataset.dtype.kind
    size = dataset.dtype.itemsize if kind in "iuf" else None
    return kind, size, dataset.ndim, _string_padding(dataset) if kind == "S" else None


def _attribute_signature(obj) -> dict:
    result = {}
    for name in obj.attrs:
        attribute = h5py.h5a.open(obj.id, name.encode())
        kind = obj.attrs[name].dtype.kind if hasattr(obj.attrs[name], "dtype") else "S"
        scalar = attribute.get_space().get_simple_extent_type() == h5py.h5s.SCALAR
        result[name] = (kind, scalar)
    return result


def _compare_group(ours: h5py.Group, theirs: h5py.Group, skip: set[str] = frozenset()) -> None:
    assert _attribute_signature(ours) == _attribute_signature(theirs), ours.name
    names = set(theirs) - set(skip)
    assert names <= set(ours), f"{ours.name} lacks {names - set(ours)}"
    for name in names:
        if isinstance(theirs[name], h5py.Group):
            _compare_group(ours[name], theirs[name])
        else:
            assert _dataset_signature(ours[name]) == _dataset_signature(theirs[name]), \
                f"{ours.name}/{name}"
            assert _attribute_signature(ours[name]) == _attribute_signature(theirs[name]), \
                f"{ours.name}/{name}"


@pytest.fixture(scope="module")
def our_file(tmp_path_factory) -> Path:
    rng = np.random.default_rng(5)
    histogram = Spectrum(x=energy_axis(np.linspace(-1.0, 1.0, 201)), values=rng.random((1, 200)),
                         title="resolution", name="resolution",
                         logs={"run_number": "26173", "nspectra": 114, "Ei": 59.37,
                               "running": True, "t_sample": np.array([5.0, 5.1]),
                               "status": np.array(["\tSETUP", "\tRUNNING"])})
    labelled = Spectrum(x=Axis(values=np.arange(61.0), unit="Label", caption="Magnetic Field",
                               label="T"),
                        values=rng.random((1, 61)), vertical=text_axis(["Simulation"]),
                        name="crystalfield_simulation")
    table = Table(columns={"Code": ["spins", "measure"], "Value": ["Mu,147Sm,fSm", "integral"]},
                  title="crystalfield_tab", name="CrystalFieldLC")
    return save_processed_nexus(tmp_path_factory.mktemp("ours") / "ours.nxs",
                                [histogram, labelled, table])


def test_structure_matches_mantid_workspace_groups(our_file, mantid_dir):
    with h5py.File(our_file) as ours, \
            h5py.File(mantid_dir / "scriptrepo_irs26173_graphite_res.nxs") as histo, \
            h5py.File(mantid_dir / "scriptrepo_crystalfield_reference.nxs") as text, \
            h5py.File(mantid_dir / "shiver_ub_process_nexus.nxs") as recent:
        assert set(ours.attrs) == set(histo.attrs)  # NeXus_version, file_name, file_time, HDF5
        first, theirs = ours["mantid_workspace_1"], histo["mantid_workspace_1"]
        _compare_group(first["workspace"], theirs["workspace"])
        assert first["workspace/values"].chunks == (1, 200)
        assert first["workspace/values"].compression == theirs["workspace/values"].compression
        _compare_group(ours["mantid_workspace_2/workspace"], text["mantid_workspace_1/workspace"])
        assert ours["mantid_workspace_2/workspace/axis2"][()][0] == b"Simulation\n"
        # header fields: same sizes as Mantid's (null counted in), same URL/Version attributes
        for field in ("definition", "definition_local", "title", "workspace_name"):
            assert _dataset_signature(first[field]) == _dataset_signature(theirs[field])
            assert _attribute_signature(first[field]) == _attribute_signature(theirs[field])
        assert first["definition"].dtype == theirs["definition"].dtype == np.dtype("S27")
        # "resolution" in both: 10 characters + the null Mantid counts in
        assert first["workspace_name"].dtype == theirs["workspace_name"].dtype == np.dtype("S11")
        # sample: the 2023 file's layout (without its oriented lattice)
        _compare_group(first["sample"], recent["mantid_workspace_1/sample"],
                       skip={"oriented_lattice"})
        _compare_group(first["instrument"], recent["mantid_workspace_1/instrument"])
        _compare_group(first["process/MantidEnvironment"],
                       recent["mantid_workspace_1/process/MantidEnvironment"])


def test_structure_matches_mantid_logs_and_tables(our_file, mantid_dir):
    with h5py.File(our_file) as ours, \
            h5py.File(mantid_dir / "mslice_MAR21335_Ei60meV.nxs") as mari, \
            h5py.File(mantid_dir / "scriptrepo_crystalfield_tab.nxs") as tab:
        our_logs = ours["mantid_workspace_1/logs"]
        mantid_logs = mari["mantid_workspace_1/logs"]
        assert _attribute_signature(our_logs) == _attribute_signature(mantid_logs)
        for name in ("run_number", "nspectra", "Ei", "running", "t_sample", "status",
                     "goniometer"):
            _compare_group(our_logs[name], mantid_logs[name])
        # text series rows are (n, 1) strings sized for the longest value plus its null
        assert our_logs["status/value"].shape == (2, 1)
        assert our_logs["status/value"].dtype == mantid_logs["status/value"].dtype == \
            np.dtype("S9")
        _compare_group(ours["mantid_workspace_3/table_workspace"],
                       tab["mantid_workspace_1/table_workspace"])
        assert ours["mantid_workspace_3/table_workspace/column_2"][0, 0] == b"Mu,147Sm,fSm"
        assert ours["mantid_workspace_3/table_workspace/column_2"][1, 0] == b"integral    "


def _objects(handle: h5py.File) -> dict[str, h5py.HLObject]:
    found = {"/": handle}
    handle.visititems(lambda name, obj: found.setdefault(name, obj))
    return found


def _type_signature(type_id) -> tuple:
    """Everything of an HDF5 datatype a reader sees: class, size, and a string's padding
    and character set."""
    if isinstance(type_id, h5py.h5t.TypeStringID):
        return ("string", type_id.get_size(), type_id.get_strpad(), type_id.get_cset())
    return (type_id.get_class(), type_id.get_size(), type_id.dtype.str)


def _full_signature(obj) -> tuple:
    """An object as a reader sees it: attributes (type, shape, value), and for a dataset its
    type, shape, layout, filters and stored values."""
    attributes = []
    for name in sorted(obj.attrs):
        attribute = h5py.h5a.open(obj.id, name.encode())
        attributes.append((name, _type_signature(attribute.get_type()),
                           attribute.get_space().get_simple_extent_type(),
                           np.asarray(obj.attrs[name]).tobytes()))
    if isinstance(obj, h5py.Group):
        return ("group", tuple(attributes), tuple(sorted(obj)))
    return ("dataset", tuple(attributes), _type_signature(obj.id.get_type()), obj.shape,
            obj.chunks, obj.compression, obj.compression_opts, obj[()].tobytes())


def test_repeated_groups_are_copies_equal_to_groups_written_anew(tmp_path, monkeypatch):
    """Groups that several entries hold alike (sample, instrument, process, equal logs) are
    written once and copied (H5Ocopy): the file reads exactly as one whose every group was
    written anew, and every object is its own (one link each, no shared addresses: Mantid's
    NexusDescriptorLazy keys objects by unique ID)."""
    fixed = datetime.datetime(2026, 12, 3, 8, 30, 15, 123456, tzinfo=datetime.timezone.utc)

    class _Clock(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return fixed

    monkeypatch.setattr(nexus, "datetime",
                        types.SimpleNamespace(datetime=_Clock, timezone=datetime.timezone))
    logs = _all_logs()
    changed = [dict(logs, integer=7.0), dict(logs, integer=True), {**logs, "extra": "x"},
               {name: logs[name] for name in reversed(logs)}, dict(logs, number=-0.0),
               dict(logs, series=logs["series"].astype(np.float32)),
               dict(logs, text_series=np.array(["a", "bcd", "e"]))]
    spectra = _spectra()
    items = [spectra[0], spectra[0].copy(name="same_logs"), spectra[1].copy(logs=logs)]
    items += [spectra[0].copy(name=f"changed_{k}", logs=value)
              for k, value in enumerate(changed)]
    items += [spectra[2].copy(logs=logs), spectra[3],
              Table(columns={"n": np.arange(3)}, name="table", logs=logs), _table()]
    copied = save_processed_nexus(tmp_path / "copied.nxs", items)
    monkeypatch.setattr(nexus._RepeatedGroups, "write",
                        lambda self, entry, name, key, write: write(entry))
    anew = save_processed_nexus(tmp_path / "anew.nxs", items)
    with h5py.File(copied) as ours, h5py.File(anew) as reference:
        objects, expected = _objects(ours), _objects(reference)
        assert sorted(objects) == sorted(expected)
        for name, obj in objects.items():
            if name != "/":   # the root's attributes name the file
                assert _full_signature(obj) == _full_signature(expected[name]), name
        infos = [h5py.h5o.get_info(obj.id) for obj in objects.values()]
        assert all(info.rc == 1 for info in infos)
        assert len({info.addr for info in infos}) == len(infos)
        # the keys tell 7, 7.0 and True apart, and names in another order
        for k, value in enumerate(changed):
            entry = ours[f"mantid_workspace_{4 + k}/logs"]
            assert list(entry) == sorted(["goniometer", *value])
        assert ours["mantid_workspace_4/logs/integer/value"].dtype == np.float64
        assert "boolean" in ours["mantid_workspace_5/logs/integer"].attrs
    for got, want in zip(load_processed_nexus(copied), items):
        if isinstance(want, Spectrum):
            _assert_spectra_equal(got, want)
        else:
            assert got.logs.keys() == want.logs.keys()


# ------------------------------------------------------------------------------------------
# Bad input
# ------------------------------------------------------------------------------------------
def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="absent.nxs: file not found"):
        load_processed_nexus(tmp_path / "absent.nxs")


def test_not_a_nexus_file(tmp_path):
    path = tmp_path / "spectrum.nxs"
    path.write_text("# energy intensity\n1 2\n")
    with pytest.raises(InputFileError, match="spectrum.nxs: is not a NeXus \\(HDF5\\) file"):
        load_processed_nexus(path)


def test_truncated_and_corrupted_files(tmp_path):
    rng = np.random.default_rng(0)
    spectrum = Spectrum(x=energy_axis(np.linspace(0, 10, 101)), values=rng.random((50, 100)))
    data = save_processed_nexus(tmp_path / "good.nxs", spectrum).read_bytes()
    truncated = tmp_path / "truncated.nxs"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFileError, match="truncated.nxs: is damaged or truncated"):
        load_processed_nexus(truncated)
    with h5py.File(tmp_path / "good.nxs") as handle:
        offset = handle["mantid_workspace_1/workspace/values"].id.get_chunk_info(10).byte_offset
    corrupted = bytearray(data)
    corrupted[offset:offset + 4000] = rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    (tmp_path / "corrupted.nxs").write_bytes(bytes(corrupted))
    with pytest.raises(InputFileError, match="entry 'mantid_workspace_1': is damaged"):
        load_processed_nexus(tmp_path / "corrupted.nxs")


def test_missing_entry_names_what_exists(tmp_path):
    path = save_processed_nexus(tmp_path / "two.nxs",
                                [_spectra()[3], _spectra()[1]])
    with pytest.raises(InputFileError, match="has no entry 5.*mantid_workspace_1 \\('one'\\), "
                                             "mantid_workspace_2 \\('q_edges'\\)"):
        load_processed_nexus(path, entry=5)
    with pytest.raises(InputFileError, match="has no entry 'nothing'"):
        load_processed_nexus(path, entry="nothing")


def test_unsupported_workspace_types(tmp_path):
    events = tmp_path / "events.nxs"
    with h5py.File(events, "w") as handle:
        entry = handle.create_group("mantid_workspace_1")
        entry.create_group("event_workspace").create_dataset("indices", data=[0, 3])
    with pytest.raises(InputFileError, match="entry 'mantid_workspace_1': holds an "
                                             "EventWorkspace.*Workspace2D.*TableWorkspace"):
        load_processed_nexus(events)
    md = tmp_path / "md.nxs"
    with h5py.File(md, "w") as handle:
        handle.create_group("MDHistoWorkspace")
    with pytest.raises(InputFileError, match="MD workspace \\(MDHistoWorkspace"):
        load_processed_nexus(md)
    other = tmp_path / "raw.nxs"
    with h5py.File(other, "w") as handle:
        handle.create_group("raw_data_1")
    with pytest.raises(InputFileError, match="not a Mantid processed NeXus file.*raw_data_1"):
        load_processed_nexus(other)


def test_failed_write_leaves_no_file(tmp_path, monkeypatch):
    target = tmp_path / "out.nxs"
    bad = _spectra()[3].copy(logs={"nested": {"a": 1}})
    with pytest.raises(ValueError, match="log 'nested' is a dict"):
        save_processed_nexus(target, bad)
    assert list(tmp_path.iterdir()) == []

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(nexus, "_write_process", fail)
    with pytest.raises(OSError, match="disk full"):
        save_processed_nexus(target, _spectra()[3])
    assert list(tmp_path.iterdir()) == []
    # An existing file survives a failed rewrite untouched.
    monkeypatch.undo()
    save_processed_nexus(target, _spectra()[3])
    before = target.read_bytes()
    monkeypatch.setattr(nexus, "_write_process", fail)
    with pytest.raises(OSError):
        save_processed_nexus(target, _spectra()[1])
    assert target.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["out.nxs"]


def test_values_chunks_are_hdf5s_own_deflate(tmp_path):
    """The chunks compressed in threads (_DeflatedRows) are byte for byte those HDF5's
    deflate filter writes for Mantid's layout (one spectrum per chunk, deflate level 6):
    smooth rows that shrink, random ones that grow, NaN and a single column."""
    rng = np.random.default_rng(3)
    energy = np.linspace(-5.0, 5.0, 201)
    smooth = np.exp(-energy[None, :] ** 2 / np.linspace(0.5, 3.0, 300)[:, None])  # threads
    smooth[3, 100] = np.nan
    cases = [smooth, rng.random((7, 201)), rng.random((5, 1))]
    for number, values in enumerate(cases):
        n_x = values.shape[1]
        spectrum = Spectrum(x=energy_axis(np.linspace(0.0, 1.0, n_x + 1)), values=values,
                            errors=np.sqrt(np.abs(values)))
        path = save_processed_nexus(tmp_path / f"ours{number}.nxs", spectrum)
        with h5py.File(path) as ours, h5py.File(tmp_path / f"h5py{number}.nxs", "w") as theirs:
            for name in ("values", "errors"):
                dataset = ours[f"mantid_workspace_1/workspace/{name}"]
                data = values if name == "values" else np.sqrt(np.abs(values))
                reference = theirs.create_dataset(name, data=data, chunks=(1, n_x),
                                                  compression="gzip", compression_opts=6)
                assert dataset.chunks == (1, n_x) and dataset.compression == "gzip"
                assert dataset.compression_opts == 6
                np.testing.assert_array_equal(dataset[()], data)
                for row in range(values.shape[0]):
                    assert dataset.id.read_direct_chunk((row, 0)) == \
                        reference.id.read_direct_chunk((row, 0))
