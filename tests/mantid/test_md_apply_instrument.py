"""MDApplyInstrument: the dialog from the shared definitions, a run equal to the core's result
(direct and indirect geometry), and each invalid input rejected with its message."""

from __future__ import annotations

import numpy as np
import pytest
from mantid.api import AnalysisDataService, ITableWorkspace, WorkspaceGroup

from mantid_mdinsim.instrument import apply_instrument
from mantid_mdinsim.io.nexus import save_processed_nexus
from mantid_mdinsim.mantid.workspaces import spectrum_to_workspace
from mantid_mdinsim.spectrum import Spectrum, energy_axis, momentum_axis

from .conftest import assert_properties_match, load_algorithm, make_algorithm


def sqw() -> Spectrum:
    """A small S(|Q|,w): one excitation at 30 meV whose intensity grows as |Q|^2."""
    energy = np.arange(0.0, 80.0, 0.5)
    q = np.linspace(0.2, 12.0, 40)
    values = (np.exp(-0.5 * ((energy[None, :] - 30.0) / 1.5) ** 2)
              * q[:, None] ** 2 * np.exp(-0.01 * q[:, None] ** 2))
    return Spectrum(x=energy_axis(energy), values=values, vertical=momentum_axis(q),
                    distribution=True, logs={"temperature_k": 300.0}, name="sqw")


@pytest.fixture
def sqw_workspace(ads):
    ads.addOrReplace("sqw", spectrum_to_workspace(sqw()))
    return "sqw"


def test_category_summary_and_dialog_follow_the_shared_definitions():
    cls = load_algorithm("MDApplyInstrument")
    algorithm = cls()
    algorithm.initialize()
    assert algorithm.category() == "Simulation"
    assert "Abins" in algorithm.seeAlso() and "Abins2D" in algorithm.seeAlso()
    assert algorithm.summary()
    assert_properties_match(algorithm, cls.PARAMETERS)
    names = [p.name for p in algorithm.getProperties()]
    assert names[:2] == ["InputWorkspace", "InputFile"]
    assert {"OutputWorkspace", "OutputBanks", "OutputResolution", "OutputFile"} <= set(names)
    assert algorithm.getProperty("IncidentEnergy").settings is not None


def test_direct_geometry_equals_the_core_as_sofqw_layout(sqw_workspace, tmp_path):
    algorithm = make_algorithm("MDApplyInstrument", InputWorkspace=sqw_workspace,
                               Instrument="MARI", OutputWorkspace="mari",
                               OutputResolution="mari_resolution",
                               OutputFile=str(tmp_path / "mari.nxs"))
    assert algorithm.execute()
    expected = apply_instrument(sqw(), {"instrument": "MARI"})
    workspace = AnalysisDataService.retrieve("mari")
    np.testing.assert_array_equal(workspace.extractY(), expected.spectrum.values)
    np.testing.assert_array_equal(workspace.extractE(), expected.spectrum.errors)
    np.testing.assert_array_equal(workspace.readX(0), expected.spectrum.x.values)
    assert workspace.getAxis(0).getUnit().unitID() == "DeltaE"
    assert workspace.getAxis(1).getUnit().unitID() == "MomentumTransfer"
    np.testing.assert_array_equal(workspace.getAxis(1).extractValues(),
                                  expected.spectrum.vertical.values)
    assert workspace.isDistribution()
    run = workspace.getRun()
    assert run.getProperty("instrument").value == "MARI"
    assert "mdinsim_version" in run.keys()
    table = AnalysisDataService.retrieve("mari_resolution")
    assert isinstance(table, ITableWorkspace)
    assert table.rowCount() == expected.resolution.n_rows
    assert (tmp_path / "mari.nxs").is_file()


def test_indirect_geometry_gives_abins_layout_and_banks(sqw_workspace):
    algorithm = make_algorithm("MDApplyInstrument", InputWorkspace=sqw_workspace,
                               Instrument="TOSCA", OutputWorkspace="tosca",
                               OutputBanks="tosca_banks")
    assert algorithm.execute()
    expected = apply_instrument(sqw(), {"instrument": "TOSCA"})
    workspace = AnalysisDataService.retrieve("tosca")
    np.testing.assert_array_equal(workspace.extractY(), expected.spectrum.values)
    assert workspace.getNumberHistograms() == 1 and workspace.isHistogramData()
    assert workspace.getAxis(0).getUnit().unitID() == "DeltaE"
    assert workspace.YUnitLabel() == "S / Arbitrary Units"
    banks = AnalysisDataService.retrieve("tosca_banks")
    assert isinstance(banks, WorkspaceGroup)
    assert banks.getNumberOfEntries() == len(expected.banks)
    for index, bank in enumerate(expected.banks.values()):
        np.testing.assert_array_equal(banks.getItem(index).extractY(), bank.values)


def test_a_file_input_gives_the_same_result(ads, tmp_path):
    path = save_processed_nexus(tmp_path / "sqw.nxs", sqw())
    algorithm = make_algorithm("MDApplyInstrument", InputFile=str(path), Instrument="TOSCA",
                               OutputWorkspace="from_file")
    assert algorithm.execute()
    expected = apply_instrument(sqw(), {"instrument": "TOSCA"})
    np.testing.assert_allclose(ads.retrieve("from_file").extractY(), expected.spectrum.values)


@pytest.mark.parametrize("properties, name, message", [
    ({}, "InputWorkspace", "give either an input workspace or an input file holding "
                           "S(|Q|,w), not neither"),
    ({"Instrument": "MARI", "IncidentEnergy": 1.0e6}, "IncidentEnergy", "Ei = 1e+06 meV is "
                                                                         "outside the range"),
    ({"Instrument": "TOSCA", "IncidentEnergy": 50.0}, "IncidentEnergy",
     "TOSCA is an indirect-geometry"),
    ({"Instrument": "MARI", "Setting": "Z"}, "Setting", "'Z' is not a setting of MARI"),
    # Refused by the definition (when(..., refuse=...)), as on the command line.
    ({"Resolution": "none", "ResolutionModel": "PyChop_fit"}, "ResolutionModel",
     "PyChop_fit is given, but --resolution none applies no resolution (leave "
     "--resolution-model out, or give --resolution instrument)"),
])
def test_invalid_combinations_are_reported_by_validate_inputs(ads, properties, name, message):
    properties = {"OutputWorkspace": "out", "Instrument": "MARI", **properties}
    algorithm = make_algorithm("MDApplyInstrument", **properties)
    issues = algorithm.validateInputs()
    assert message in issues[name]


def test_a_workspace_with_the_wrong_axes_is_rejected(ads):
    wrong = Spectrum(x=energy_axis(np.arange(10.0)), values=np.ones((3, 10)))
    ads.addOrReplace("wrong", spectrum_to_workspace(wrong))
    algorithm = make_algorithm("MDApplyInstrument", InputWorkspace="wrong", Instrument="MARI",
                               OutputWorkspace="out")
    with pytest.raises(RuntimeError, match="InputWorkspace: .*not energy transfer and |Q|"):
        algorithm.execute()
    assert not ads.doesExist("out")


@pytest.mark.parametrize("name, value, message", [
    ("Instrument", "MARRI", 'The value "MARRI" is not in the list of allowed values'),
    ("IncidentEnergy", -5.0, "Selected value -5 is <= the lower bound (0)"),
    ("Temperature", 0.0, "Selected value 0 is <= the lower bound (0)"),
    ("DebyeWaller", "sometimes", 'The value "sometimes" is not in the list of allowed values'),
    ("InputWorkspace", "no_such_workspace", 'Workspace "no_such_workspace" was not found'),
])
def test_bad_single_values_are_refused_when_set(ads, name, value, message):
    algorithm = make_algorithm("MDApplyInstrument")
    with pytest.raises(ValueError) as error:
        algorithm.setProperty(name, value)
    assert message in str(error.value)


@pytest.mark.parametrize("approximation", ["incoherent", "full"])
def test_the_scattering_approximation_stays_in_the_logs(ads, approximation):
    """What the input S holds (MDComputeSqw's Approximation) is kept, unprefixed, on the
    instrument spectrum, so that a comparison with a harmonic (incoherent) spectrum can refuse
    a full one."""
    ads.addOrReplace("sqw_approx", spectrum_to_workspace(
        sqw().copy(logs={"temperature_k": 300.0, "scattering_approximation": approximation})))
    assert make_algorithm("MDApplyInstrument", InputWorkspace="sqw_approx", Instrument="MARI",
                          OutputWorkspace="mari_approx").execute()
    run = AnalysisDataService.retrieve("mari_approx").getRun()
    assert run.getProperty("scattering_approximation").value == approximation
