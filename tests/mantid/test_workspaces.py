"""Spectrum <-> Workspace2D and Table <-> TableWorkspace: axes, units by ID, distribution,
Y units, sample logs, groups; and the processed NeXus file of the same Spectrum gives the same
workspace (Mantid's Load of our files is not available here)."""

from __future__ import annotations

import numpy as np
import pytest
from mantid.api import AnalysisDataService, WorkspaceGroup

from mantid_mdinsim.io.nexus import load_processed_nexus, save_processed_nexus
from mantid_mdinsim.mantid.workspaces import (from_workspace, make_group, spectrum_to_workspace,
                                              table_to_workspace, workspace_to_spectrum,
                                              workspace_to_table)
from mantid_mdinsim.spectrum import (UNIT_DELTA_E, UNIT_LABEL, UNIT_MOMENTUM_TRANSFER, Axis,
                                     Spectrum, Table, energy_axis, momentum_axis, text_axis)


def sqw_spectrum(bin_edges_q: bool = False) -> Spectrum:
    energy = np.linspace(-5.0, 45.0, 26)
    q = np.linspace(0.5, 4.5, 5 if bin_edges_q else 4)
    rng = np.random.default_rng(1)
    values = rng.random((4, 26))
    return Spectrum(x=energy_axis(energy), values=values, errors=0.1 * values,
                    vertical=momentum_axis(q), distribution=True, y_unit="1/meV",
                    y_unit_label="S(Q,w)", title="S(Q,w) of Si",
                    logs={"temperature_k": 300.0, "window": 500, "weights": "neutron",
                          "per_q": True, "q_shells": np.array([0.5, 1.5, 2.5])})


@pytest.mark.parametrize("bin_edges_q", [False, True])
def test_sqw_maps_onto_a_workspace2d_with_units_by_id(bin_edges_q):
    spectrum = sqw_spectrum(bin_edges_q)
    workspace = spectrum_to_workspace(spectrum)
    assert workspace.getNumberHistograms() == 4
    assert workspace.blocksize() == 26
    assert not workspace.isHistogramData()
    np.testing.assert_array_equal(workspace.extractY(), spectrum.values)
    np.testing.assert_array_equal(workspace.extractE(), spectrum.errors)
    for index in range(4):
        np.testing.assert_array_equal(workspace.readX(index), spectrum.x.values)
    assert workspace.getAxis(0).getUnit().unitID() == "DeltaE"
    vertical = workspace.getAxis(1)
    assert vertical.isNumeric() and not vertical.isSpectra()
    assert vertical.getUnit().unitID() == "MomentumTransfer"
    np.testing.assert_array_equal(vertical.extractValues(), spectrum.vertical.values)
    assert workspace.isDistribution()
    assert workspace.YUnit() == "1/meV"
    assert workspace.YUnitLabel() == "S(Q,w)"
    assert workspace.getTitle() == "S(Q,w) of Si"
    run = workspace.getRun()
    assert run.getProperty("temperature_k").value == 300.0
    assert run.getProperty("window").value == 500
    assert run.getProperty("weights").value == "neutron"
    assert run.getProperty("per_q").value == 1
    np.testing.assert_array_equal(run.getProperty("q_shells").value, [0.5, 1.5, 2.5])


@pytest.mark.parametrize("bin_edges_q", [False, True])
def test_workspace_back_to_spectrum_is_the_same(bin_edges_q):
    spectrum = sqw_spectrum(bin_edges_q)
    back = workspace_to_spectrum(spectrum_to_workspace(spectrum))
    np.testing.assert_array_equal(back.values, spectrum.values)
    np.testing.assert_array_equal(back.errors, spectrum.errors)
    np.testing.assert_array_equal(back.x.values, spectrum.x.values)
    np.testing.assert_array_equal(back.vertical.values, spectrum.vertical.values)
    assert (back.x.unit, back.vertical.unit) == (UNIT_DELTA_E, UNIT_MOMENTUM_TRANSFER)
    assert back.distribution and back.y_unit == "1/meV" and back.y_unit_label == "S(Q,w)"
    assert back.logs["window"] == 500 and back.logs["weights"] == "neutron"


def test_the_title_is_mantids_run_title_log_and_not_read_back_as_a_log():
    """MatrixWorkspace::setTitle keeps the title as the "run_title" sample log, which getTitle
    reads (Framework/API/src/MatrixWorkspace.cpp)."""
    spectrum = sqw_spectrum()
    workspace = spectrum_to_workspace(spectrum)
    assert workspace.getRun().getProperty("run_title").value == "S(Q,w) of Si"
    back = workspace_to_spectrum(workspace)
    assert back.title == "S(Q,w) of Si"
    assert set(back.logs) == set(spectrum.logs)          # the title is not a log here
    # A "run_title" among a Spectrum's logs (a workspace's, read by other means) does not
    # replace its title.
    spectrum.logs["run_title"] = "an older title"
    assert spectrum_to_workspace(spectrum).getTitle() == "S(Q,w) of Si"


@pytest.mark.parametrize("distribution", [True, False])
def test_a_spectrum_without_a_y_label_gets_none_back(distribution):
    """Without a set label Mantid makes one from YUnit (" per meV" for a distribution); the
    Spectrum read back has no label of its own, however often it goes round."""
    spectrum = sqw_spectrum()
    spectrum.y_unit_label, spectrum.distribution = "", distribution
    workspace = spectrum_to_workspace(spectrum)
    assert workspace.YUnitLabel() == ("1/meV per meV" if distribution else "1/meV")
    again = workspace_to_spectrum(spectrum_to_workspace(workspace_to_spectrum(workspace)))
    assert again.y_unit_label == "" and again.y_unit == "1/meV"
    assert again.distribution == distribution


def test_histogram_x_text_axis_and_label_unit():
    edges = np.linspace(0.0, 10.0, 11)
    spectrum = Spectrum(x=Axis(values=edges, unit=UNIT_LABEL, caption="Time lag", label="ps"),
                        values=np.arange(30.0).reshape(3, 10),
                        vertical=text_axis(["Si-Si", "Si-O", "O-O"]), distribution=False,
                        y_unit="Counts")
    workspace = spectrum_to_workspace(spectrum)
    assert workspace.isHistogramData() and not workspace.isDistribution()
    unit = workspace.getAxis(0).getUnit()
    assert unit.unitID() == "Label" and unit.caption() == "Time lag" and str(unit.symbol()) == "ps"
    assert workspace.getAxis(1).isText()
    assert [workspace.getAxis(1).label(i) for i in range(3)] == ["Si-Si", "Si-O", "O-O"]
    back = workspace_to_spectrum(workspace)
    assert back.vertical.labels == ["Si-Si", "Si-O", "O-O"]
    assert back.x.caption == "Time lag" and back.x.label == "ps"
    assert back.is_histogram


def test_default_vertical_axis_stays_mantids_spectrum_axis():
    spectrum = Spectrum(x=energy_axis(np.linspace(0, 10, 5)), values=np.ones((2, 5)))
    workspace = spectrum_to_workspace(spectrum)
    assert workspace.getAxis(1).isSpectra()
    assert workspace_to_spectrum(workspace).vertical.unit == "spectraNumber"


def test_an_unknown_unit_id_is_refused_by_mantids_unit_factory():
    spectrum = Spectrum(x=Axis(values=np.arange(3.0), unit="DeltaEE"), values=np.ones(3))
    with pytest.raises(RuntimeError):
        spectrum_to_workspace(spectrum)


def test_ragged_x_is_refused_with_a_fix():
    workspace = spectrum_to_workspace(
        Spectrum(x=energy_axis(np.arange(4.0)), values=np.ones((2, 4))))
    workspace.setX(1, np.arange(4.0) + 0.5)
    with pytest.raises(ValueError, match="Rebin"):
        workspace_to_spectrum(workspace)


def test_table_round_trip_keeps_types_units_and_logs():
    table = Table(columns={"time_ps": np.array([0.0, 0.1, 0.2]),
                           "step": np.array([0, 100, 200]),
                           "ensemble": ["npt", "npt", "nve"]},
                  units={"time_ps": "ps"}, title="thermo",
                  logs={"mdinsim_version": "0.1.0", "temperature_k": np.array([300.0])})
    workspace = table_to_workspace(table)
    assert workspace.getColumnNames() == ["time_ps", "step", "ensemble"]
    assert workspace.rowCount() == 3
    assert workspace.column("step") == [0, 100, 200]
    assert workspace.row(2) == {"time_ps": 0.2, "step": 200, "ensemble": "nve"}
    back = workspace_to_table(workspace)
    np.testing.assert_array_equal(back.columns["time_ps"], table.columns["time_ps"])
    assert back.columns["ensemble"] == ["npt", "npt", "nve"]
    assert back.units == {"time_ps": "ps"} and back.title == "thermo"
    assert back.logs["mdinsim_version"] == "0.1.0"


def test_groups_name_members_after_the_output(ads):
    items = [sqw_spectrum(), Table(columns={"a": np.arange(2.0)}, name="table")]
    items[0].name = "total"
    group = make_group(items, "sqw")
    assert isinstance(group, WorkspaceGroup) and group.getNumberOfEntries() == 2
    ads.addOrReplace("sqw", group)
    assert sorted(ads.getObjectNames()) == ["sqw", "sqw_table", "sqw_total"]
    back = from_workspace(AnalysisDataService.retrieve("sqw"))
    assert isinstance(back[0], Spectrum) and isinstance(back[1], Table)


def test_a_processed_nexus_file_gives_the_same_workspace(tmp_path):
    """Our processed NeXus files are what Mantid's Load reads; Load is not available here, so
    check that the workspace built from the file read back equals the one built directly."""
    spectrum = sqw_spectrum()
    path = save_processed_nexus(tmp_path / "sqw.nxs", spectrum)
    [loaded] = load_processed_nexus(path)
    direct, from_file = spectrum_to_workspace(spectrum), spectrum_to_workspace(loaded)
    np.testing.assert_array_equal(from_file.extractY(), direct.extractY())
    np.testing.assert_array_equal(from_file.extractE(), direct.extractE())
    np.testing.assert_array_equal(from_file.extractX(), direct.extractX())
    np.testing.assert_array_equal(from_file.getAxis(1).extractValues(),
                                  direct.getAxis(1).extractValues())
    for axis in (0, 1):
        assert from_file.getAxis(axis).getUnit().unitID() == \
            direct.getAxis(axis).getUnit().unitID()
    assert from_file.isDistribution() == direct.isDistribution()
    assert from_file.YUnit() == direct.YUnit()
    for name in ("temperature_k", "window", "weights"):
        assert from_file.getRun().getProperty(name).value == \
            direct.getRun().getProperty(name).value


@pytest.mark.parametrize("name, x_unit, vertical", [
    ("mslice_MAR21335_Ei60meV.nxs", "DeltaE", "spectra"),
    ("scriptrepo_irs26176_graphite002_red.nxs", "DeltaE", "spectra"),
    ("scriptrepo_crystalfield_reference.nxs", "Label", "text"),
])
def test_reduced_data_saved_by_mantid_becomes_a_workspace_again(shared_data, name, x_unit,
                                                                 vertical):
    """Experimental data saved by Mantid (SaveNexusProcessed), read without Mantid, gives a
    workspace with Mantid's axes and units, to sit beside the simulated spectra."""
    [spectrum] = [w for w in load_processed_nexus(shared_data / "mantid-nexus" / name)
                  if isinstance(w, Spectrum)]
    workspace = spectrum_to_workspace(spectrum)
    assert workspace.getAxis(0).getUnit().unitID() == x_unit
    axis = workspace.getAxis(1)
    assert axis.isSpectra() if vertical == "spectra" else axis.isText()
    np.testing.assert_array_equal(workspace.extractY(), spectrum.values)
    back = workspace_to_spectrum(workspace)
    np.testing.assert_array_equal(back.x.values, spectrum.x.values)
