"""Reduced experimental spectra from Mantid's NeXus files and from 2/3-column text files."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from mantid_mdinsim.errors import InputFileError
from mantid_mdinsim.io.experiment import load_experiment
from mantid_mdinsim.io.nexus import save_processed_nexus
from mantid_mdinsim.spectrum import Spectrum, Table, energy_axis


def test_mantid_indirect_resolution_file(shared_data):
    """IRIS graphite-002 resolution (Mantid): 1-D, DeltaE bin edges, values as h5py reads them."""
    path = shared_data / "mantid-nexus" / "scriptrepo_irs26173_graphite_res.nxs"
    spectrum = load_experiment(path)
    with h5py.File(path) as handle:
        group = handle["mantid_workspace_1/workspace"]
        np.testing.assert_array_equal(spectrum.values, group["values"][()])
        np.testing.assert_array_equal(spectrum.x.values, group["axis1"][()])
    assert spectrum.x.unit == "DeltaE" and spectrum.n_spectra == 1 and spectrum.is_histogram
    # A resolution function peaks at zero energy transfer.
    assert abs(spectrum.x_centres()[np.argmax(spectrum.values[0])]) < 0.01


def test_mantid_two_dimensional_file(shared_data):
    spectrum = load_experiment(shared_data / "mantid-nexus" / "mslice_MAR21335_Ei60meV.nxs")
    assert spectrum.values.shape == (285, 294) and spectrum.x.unit == "DeltaE"


def test_nexus_entry_choice_skips_tables(tmp_path):
    table = Table(columns={"a": np.arange(3.0)}, name="params")
    spectrum = Spectrum(x=energy_axis([1.0, 2.0, 3.0]), values=[4.0, 5.0, 6.0], name="data")
    path = save_processed_nexus(tmp_path / "mixed.nxs", [table, spectrum])
    assert load_experiment(path).name == "data"               # first Workspace2D entry
    assert load_experiment(path, entry="data").name == "data"
    with pytest.raises(InputFileError, match="entry 1: is a table, not a spectrum"):
        load_experiment(path, entry=1)
    only_table = save_processed_nexus(tmp_path / "table.nxs", table)
    with pytest.raises(InputFileError, match="holds no spectrum"):
        load_experiment(only_table)


def test_three_column_text(tmp_path):
    path = tmp_path / "zrh2_tosca.dat"
    path.write_text("# ZrH2, TOSCA, reduced\n# energy (meV)  S  error\n"
                    "100.0 0.5 0.05\n\n110.0  1.5  0.1\n120.0\t0.25\t0.02\n")
    spectrum = load_experiment(path)
    np.testing.assert_array_equal(spectrum.x.values, [100.0, 110.0, 120.0])
    np.testing.assert_array_equal(spectrum.values[0], [0.5, 1.5, 0.25])
    np.testing.assert_array_equal(spectrum.errors[0], [0.05, 0.1, 0.02])
    assert spectrum.x.unit == "DeltaE" and not spectrum.is_histogram
    assert spectrum.name == "zrh2_tosca" and spectrum.logs["experiment_file"] == str(path)


def test_two_column_csv_with_header_descending(tmp_path):
    path = tmp_path / "spectrum.csv"
    path.write_text("energy_mev,intensity\n30,3e-1\n20, 2.0E-1\n10,1d-1\n")
    spectrum = load_experiment(path)
    np.testing.assert_allclose(spectrum.x.values, [10.0, 20.0, 30.0])  # sorted ascending
    np.testing.assert_allclose(spectrum.values[0], [0.1, 0.2, 0.3])
    np.testing.assert_array_equal(spectrum.errors[0], 0.0)


@pytest.mark.parametrize("content, message", [
    ("1 2 0.1\n2 x 0.1\n", r"line 2: '2 x 0.1' is not 2 or 3 numbers"),
    ("# c\n1 2\n2 3 4 5\n", r"line 3: '2 3 4 5' is not 2 or 3 numbers"),
    ("1 2 0.1\n2 3\n", r"line 2: has 2 columns where the lines before have 3"),
    ("1 2 0.1\n2 3 -0.1\n", r"line 2: error -0.1 is negative"),
    ("1 2\n3 4\n2 5\n", r"line 3: energy transfer 2 meV does not follow 3 meV"),
    ("1 2\n1 3\n", r"line 2: energy transfer 1 meV does not follow 1 meV"),
    ("nan 2\n1 3\n", r"line 1: energy transfer 'nan' is not a finite number"),
    ("# only comments\n", r"holds no data"),
    ("1 2\n", r"holds fewer than 2 data lines"),
    ("1,,2\n2,3,4\n", r"line 1: '1,,2' is not 2 or 3 numbers"),
])
def test_garbage_text_names_file_and_line(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(InputFileError, match=f"bad.txt, {message}" if message.startswith("line")
                       else f"bad.txt: {message}"):
        load_experiment(path)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(InputFileError, match="nothing.dat: file not found"):
        load_experiment(tmp_path / "nothing.dat")
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x00")
    with pytest.raises(InputFileError, match="image.png: is neither a NeXus"):
        load_experiment(binary)


@pytest.mark.parametrize("header, separator", [
    ("Energy (cm-1) Intensity (a.u.)", " "), ("energy (cm^-1),S (1/meV)", ","),
    ("wavenumber intensity", " ")])
def test_a_header_in_wavenumbers_gives_meV(tmp_path, header, separator):
    """A header naming cm^-1 (as TOSCA exports) was read as meV: the energies are the
    wavenumbers times MEV_PER_INVERSE_CM (CODATA, the reference), the first unit named being
    the energy column's."""
    from mantid_mdinsim.units import MEV_PER_INVERSE_CM

    wavenumbers = np.array([100.0, 200.0, 400.0])
    path = tmp_path / "tosca.txt"
    path.write_text(header + "\n" + "".join(f"{w}{separator}{i}\n"
                                            for w, i in zip(wavenumbers, [1.0, 2.0, 3.0])))
    spectrum = load_experiment(path)
    np.testing.assert_allclose(spectrum.x.values, wavenumbers * MEV_PER_INVERSE_CM, rtol=1e-15)
    np.testing.assert_array_equal(spectrum.values[0], [1.0, 2.0, 3.0])


@pytest.mark.parametrize("header, unit", [("frequency (THz) S", "THz"), ("E [eV], I", "eV")])
def test_a_header_in_another_energy_unit_is_refused(tmp_path, header, unit):
    path = tmp_path / "other.txt"
    path.write_text(header + "\n1 2\n2 3\n")
    with pytest.raises(InputFileError, match=f"other.txt, line 1: the energy column is in {unit}"):
        load_experiment(path)


def test_byte_order_mark_latin1_comment_and_utf16(tmp_path):
    """Excel's UTF-8 byte-order mark had made line 1 'not 2 or 3 numbers'; a Latin-1 comment
    made the file 'neither NeXus nor text': both read as the plain file (the reference);
    UTF-16 is named with its conversion."""
    plain = tmp_path / "plain.txt"
    plain.write_text("1 2\n2 3\n")
    marked = tmp_path / "marked.txt"
    marked.write_bytes(b"\xef\xbb\xbf1 2\n2 3\n")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("# \xe9nergie en meV\n1 2\n2 3\n".encode("latin-1"))
    reference = load_experiment(plain)
    for path in (marked, latin):
        spectrum = load_experiment(path)
        np.testing.assert_array_equal(spectrum.x.values, reference.x.values)
        np.testing.assert_array_equal(spectrum.values, reference.values)
    wide = tmp_path / "wide.txt"
    wide.write_text("1 2\n2 3\n", encoding="utf-16")
    with pytest.raises(InputFileError, match="wide.txt: is UTF-16 text .*iconv -f UTF-16"):
        load_experiment(wide)


@pytest.mark.parametrize("x, histogram, message", [
    ([0.0, 1.0, np.nan, 3.0, 4.0], False, r"X point 2 is not a finite number \(nan\)"),
    ([0.0, 1.0, 3.0, 2.0, 4.0], False, r"X point 3 \(2\) does not follow X point 2 \(3\)"),
    ([0.0, 1.0, 1.0, 2.0, 4.0], False, r"X point 2 \(1\) does not follow X point 1 \(1\)"),
    ([0.0, 1.0, 3.0, 2.0, 4.0, 5.0], True, r"X bin edge 3 \(2\) does not follow X bin edge 2"),
])
def test_nexus_x_that_is_not_finite_and_increasing_is_refused(tmp_path, x, histogram, message):
    """The text files' rule on energies holds for NeXus X too: NaN, repeated and unordered X
    had been compared (an unordered histogram made a negative bin width)."""
    from mantid_mdinsim.spectrum import Axis

    spectrum = Spectrum(x=Axis(values=np.array(x), unit="DeltaE"), values=np.ones(5),
                        distribution=not histogram)
    path = save_processed_nexus(tmp_path / "measured.nxs", [spectrum])
    with pytest.raises(InputFileError, match=f"measured.nxs, entry .*, X axis: {message}"):
        load_experiment(path)
