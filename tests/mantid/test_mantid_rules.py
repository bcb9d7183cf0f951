"""Mantid's own rules for what the suite hands it, checked on the ``mantid`` the tests run with:
the stand-in must behave as these Mantid sources say (and a real Mantid does), and the layer's
boundary (``mantid_mdinsim.mantid.values``) must turn every core value into what they accept.

* PropertyWithValueFactory (Framework/PythonInterface/mantid/kernel/src/Registry/
  PropertyWithValueFactory.cpp): exact Python types; non-empty lists led by int/float/str;
* ProgressBase (Framework/Kernel/src/ProgressBase.cpp) and Progress (Framework/API/src/
  Progress.cpp): notifications every notifyStep, the interruption point in doReport;
* FileProperty (Framework/API/src/FileProperty.cpp) and FileFinder/ConfigService::getFullPath:
  relative Load names searched in the data search directories, Save names under
  defaultsave.directory;
* MultipleFileProperty (Framework/API/src/MultipleFileProperty.cpp): ',' and '+' parsing, set
  from a string only (no TypeRegistry handler for a list);
* EmptyValues.h: EMPTY_DBL is half the double maximum;
* MatrixWorkspace (Framework/API/src/MatrixWorkspace.cpp): YUnitLabel made from YUnit and the X
  unit for a distribution; Unit.symbol() a UnitLabel (kernel/src/Exports/Unit.cpp);
* Algorithm::executeInternal (Framework/API/src/Algorithm.cpp) and PythonException
  (core/src/ErrorHandling.cpp): a PyExec error is its text plus a line per traceback frame,
  raised only by a child or rethrowing algorithm; validateInputs issues naming no property warn.
"""

from __future__ import annotations

import numpy as np
import pytest
from mantid.api import (FileAction, FileProperty, MultipleFileProperty, Progress,
                        PythonAlgorithm, WorkspaceFactory)
from mantid.kernel import ConfigService

from mantid_mdinsim.mantid.values import log_property, plain

from .conftest import REAL_MANTID


def _run():
    return WorkspaceFactory.create("Workspace2D", NVectors=1, XLength=2, YLength=2).getRun()


# -- PropertyWithValueFactory -----------------------------------------------------------------

@pytest.mark.parametrize("value, error", [
    (np.float64(1.5), ValueError),          # exact type: a numpy scalar has no converter
    (np.int64(3), ValueError),
    (np.array([1.0, 2.0]), ValueError),     # not a list or tuple, and no converter
    ([], RuntimeError),                     # "sequence type of length zero"
    ([True, False], RuntimeError),          # "Unable to support extracting arrays of booleans"
    (None, ValueError),
])
def test_run_logs_refuse_what_the_factory_refuses(value, error):
    with pytest.raises(error):
        _run().addProperty("log", value, True)


@pytest.mark.parametrize("value, expected", [
    (1.5, 1.5), (3, 3), ("neutron", "neutron"), (True, True),
    ([1.0, 2.5], [1.0, 2.5]), ([1, 2], [1, 2]), (("Si", "O"), ["Si", "O"]),
])
def test_run_logs_take_python_values(value, expected):
    run = _run()
    run.addProperty("log", value, True)
    stored = run.getProperty("log").value
    assert (list(stored) if isinstance(expected, list) else stored) == expected


def test_declare_property_uses_the_same_factory():
    algorithm = PythonAlgorithm()
    with pytest.raises(ValueError):
        algorithm.declareProperty("Value", np.float64(1.0))
    with pytest.raises(RuntimeError):
        algorithm.declareProperty("Values", [])


# -- EmptyValues (Framework/Kernel/inc/MantidKernel/EmptyValues.h) ---------------------------

def test_empty_values_are_half_the_double_maximum_and_the_int_maximum():
    """EMPTY_DBL() is numeric_limits<double>::max() / 2: a value past it is not "empty"."""
    import sys

    from mantid.kernel import FloatMandatoryValidator, Property

    assert Property.EMPTY_DBL == sys.float_info.max / 2
    assert Property.EMPTY_INT == 2**31 - 1
    assert FloatMandatoryValidator().isValid(Property.EMPTY_DBL)
    assert not FloatMandatoryValidator().isValid(sys.float_info.max)


@pytest.mark.parametrize("value", [
    np.float64(2.5), np.int64(7), np.bool_(True), np.array([1.0, 2.0]), np.array([1, 2]),
    np.array(["Si", "O"]), [np.float32(1.0), 2], [], (), [True, 1], None, 2**40,
    np.arange(6.0).reshape(2, 3), {"method": "GFN1-xTB"}, ["a", 1.0], 1 + 2j,
])
def test_the_boundary_hands_every_core_value_over_in_a_type_mantid_takes(value):
    run = _run()
    run.addProperty("log", log_property("log", value), True)
    assert run.getProperty("log").name == "log"
    stored = plain(value)
    assert type(stored) in (bool, int, float, str, list)
    if isinstance(stored, list):
        assert all(type(item) in (int, float, str) for item in stored)


def test_the_boundary_keeps_values_and_types():
    run = _run()
    for name, value in {"window": np.int64(500), "t": np.float64(300.0), "per_q": np.bool_(True),
                        "supercell": np.array([4, 4, 4]), "q": np.array([0.5, 1.5]),
                        "species": ["Si", "O"], "seed": 2**40}.items():
        run.addProperty(name, log_property(name, value), True)
    assert run.getProperty("window").value == 500
    assert run.getProperty("t").value == 300.0
    assert run.getProperty("per_q").value == 1
    assert list(run.getProperty("supercell").value) == [4, 4, 4]
    np.testing.assert_array_equal(run.getProperty("q").value, [0.5, 1.5])
    assert list(run.getProperty("species").value) == ["Si", "O"]
    assert run.getProperty("seed").value == str(2**40)  # a C++ int cannot hold it


# -- ProgressBase / Progress ------------------------------------------------------------------

def _reports(algorithm):
    return list(algorithm._progress_reports)


@pytest.mark.skipif(REAL_MANTID, reason="reads the stand-in's record of notifications")
def test_progress_notifies_every_percent_by_default_and_every_report_with_step_0():
    algorithm = PythonAlgorithm()
    progress = Progress(algorithm, 0.0, 1.0, 1000)     # notifyStep = 1000 * 1 % = 10
    progress.report(0, "a")
    progress.report(5, "b")                            # moved 5 < 10: no notification
    progress.report(10, "c")
    assert [m for _, m in _reports(algorithm)] == ["a", "c"]
    algorithm.cancel()
    progress.report(15, "d")                           # no notification: no interruption point
    with pytest.raises(KeyboardInterrupt):
        progress.report(20, "e")
    progress.setNotifyStep(0)
    with pytest.raises(KeyboardInterrupt):
        progress.report(20, "f")                       # unchanged counter, still notified


@pytest.mark.skipif(REAL_MANTID, reason="reads the stand-in's record of notifications")
def test_progress_over_a_sub_range_scales_the_notify_step():
    algorithm = PythonAlgorithm()
    progress = Progress(algorithm, 0.5, 1.0, 100)      # notifyStep = 100 * 1 % / 0.5 = 2
    progress.report(1, "a")                            # the first report always notifies
    progress.report(2, "b")                            # moved 1 < 2
    progress.report(3, "c")
    assert [m for _, m in _reports(algorithm)] == ["a", "c"]
    assert _reports(algorithm)[1][0] == pytest.approx(0.5 + 0.5 * 3 / 100)


def test_progress_refuses_an_empty_range():
    with pytest.raises(ValueError):
        Progress(PythonAlgorithm(), 0.5, 0.5, 10)


# -- FileProperty / MultipleFileProperty ------------------------------------------------------

@pytest.fixture
def config(tmp_path, monkeypatch):
    """Data search directory and default save directory set for one test."""
    monkeypatch.chdir(tmp_path)
    keys = ("datasearch.directories", "defaultsave.directory")
    before = {key: ConfigService.getString(key) for key in keys}
    data, save = tmp_path / "data", tmp_path / "save"
    data.mkdir()
    ConfigService.setString("datasearch.directories", str(data))
    ConfigService.setString("defaultsave.directory", str(save))
    yield data, save
    for key, value in before.items():
        ConfigService.setString(key, value)


def test_a_relative_load_name_is_found_in_the_data_search_directories(config):
    data, _ = config
    (data / "model.txt").write_text("nep4 1 Si\n")
    algorithm = PythonAlgorithm()
    algorithm.declareProperty(FileProperty("Model", "", FileAction.OptionalLoad, [".txt"]))
    algorithm.setProperty("Model", "model.txt")
    assert algorithm.getProperty("Model").value == str(data / "model.txt")
    with pytest.raises(ValueError, match="not found"):
        algorithm.setProperty("Model", "missing.txt")


def test_a_relative_save_name_goes_under_defaultsave_directory(config):
    _, save = config
    algorithm = PythonAlgorithm()
    algorithm.declareProperty(FileProperty("OutputFile", "", FileAction.OptionalSave, [".nxs"]))
    algorithm.setProperty("OutputFile", "result.nxs")
    assert algorithm.getProperty("OutputFile").value == str(save / "result.nxs")


def test_multiple_files_are_parsed_and_found(config):
    data, _ = config
    for name in ("a.xyz", "b.xyz", "c.xyz"):
        (data / name).write_text("1\n\nSi 0 0 0\n")
    algorithm = PythonAlgorithm()
    algorithm.declareProperty(MultipleFileProperty("Files", FileAction.Load, [".xyz"]))
    algorithm.setProperty("Files", "a.xyz,b.xyz+c.xyz")
    assert algorithm.getProperty("Files").value == [
        str(data / "a.xyz"), [str(data / "b.xyz"), str(data / "c.xyz")]]
    with pytest.raises(ValueError, match="empty token"):
        algorithm.setProperty("Files", "a.xyz,,b.xyz")
    # a ',' followed by a digit separates nothing: one name, not found
    (data / "2.xyz").write_text("1\n\nSi 0 0 0\n")
    with pytest.raises(ValueError, match="not found"):
        algorithm.setProperty("Files", "a.xyz,2.xyz")


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"),
                    reason="std::ifstream opens a folder on Linux")
def test_a_load_property_takes_a_folder_as_mantids_file_validator_does(tmp_path):
    """FileValidator::checkValidity (Framework/Kernel/src/FileValidator.cpp): the path must
    exist and open with std::ifstream, which a folder does on Linux: the algorithm, not the
    property, must refuse it."""
    algorithm = PythonAlgorithm()
    algorithm.declareProperty(FileProperty("File", "", FileAction.Load, [".xyz"]))
    algorithm.declareProperty(MultipleFileProperty("Files", FileAction.Load, [".xyz"]))
    algorithm.setProperty("File", str(tmp_path))
    algorithm.setProperty("Files", str(tmp_path))
    assert algorithm.getProperty("File").value == str(tmp_path)
    with pytest.raises(ValueError, match="not found"):
        algorithm.setProperty("File", str(tmp_path / "missing.xyz"))


def test_multiple_files_are_set_from_a_string_only(config):
    """setProperty with a non-str value goes through TypeRegistry (IPropertyManager.cpp), which
    has no handler for a MultipleFileProperty's vector<vector<string>> (TypeRegistry.cpp): a
    list is refused, as simpleapi's MDComputeSqw(InputTrajectories=[...]) would be."""
    data, _ = config
    (data / "a.xyz").write_text("1\n\nSi 0 0 0\n")
    algorithm = PythonAlgorithm()
    algorithm.declareProperty(MultipleFileProperty("Files", FileAction.Load, [".xyz"]))
    with pytest.raises(ValueError, match='When converting parameter "Files"'):
        algorithm.setProperty("Files", [str(data / "a.xyz")])
    algorithm.setProperty("Files", str(data / "a.xyz"))
    assert algorithm.getProperty("Files").value == [str(data / "a.xyz")]


# -- ITableWorkspace (api/src/Exports/ITableWorkspace.cpp, DataObjects TableWorkspace.cpp) ---

def test_table_cells_are_extracted_as_their_columns_cpp_type():
    table = WorkspaceFactory.createTable("TableWorkspace")
    assert table.addColumn("int", "step") and table.addColumn("double", "t")
    assert table.addColumn("float", "single") and table.addColumn("str", "phase")
    assert not table.addColumn("no-such-type", "x")       # logged and refused, no exception
    assert not table.addColumn("double", "t")             # a name in use
    table.addRow([np.int64(3), np.float64(0.1), 0.1, "nve"])  # numpy integers fit int
    assert table.row(0)["step"] == 3 and type(table.row(0)["step"]) is int
    assert table.row(0)["t"] == 0.1
    single = table.row(0)["single"]                      # a C++ float: single precision
    assert single == float(np.float32(0.1)) and single != 0.1
    with pytest.raises(TypeError):
        table.addRow([2.5, 0.0, 0.0, "nve"])              # a float is no int
    with pytest.raises(TypeError):
        table.addRow([1, 0.0, 0.0, 7])                    # an int is no str
    with pytest.raises(ValueError):
        table.row(5)


def test_the_boundary_gives_each_table_column_a_type_mantid_has():
    from mantid_mdinsim.mantid.values import table_cell, table_column_type

    columns = {"step": np.array([0, 100]), "big": np.array([0, 2**40]),
               "t": np.array([0.0, 0.5]), "ok": np.array([True, False]),
               "phase": ["npt", "nve"]}
    table = WorkspaceFactory.createTable("TableWorkspace")
    kinds = [table_column_type(values) for values in columns.values()]
    assert kinds == ["int", "long64", "double", "bool", "str"]
    for kind, name in zip(kinds, columns):
        assert table.addColumn(kind, name)
    for row in range(2):
        table.addRow([table_cell(kind, values[row])
                      for kind, values in zip(kinds, columns.values())])
    assert table.column("big") == [0, 2**40] and table.column("ok") == [True, False]


# -- MatrixWorkspace::YUnitLabel (Framework/API/src/MatrixWorkspace.cpp), Unit::label ---------

def test_y_unit_label_is_made_from_the_y_unit_and_the_x_unit_for_a_distribution():
    workspace = WorkspaceFactory.create("Workspace2D", NVectors=1, XLength=3, YLength=3)
    workspace.getAxis(0).setUnit("DeltaE")
    symbol = workspace.getAxis(0).getUnit().symbol()
    assert not isinstance(symbol, str) and str(symbol) == symbol.ascii() == "meV"
    workspace.setYUnit("Counts")
    assert workspace.YUnitLabel() == "Counts"
    assert workspace.YUnitLabel(False, True) == "Counts per meV"   # plotted as a distribution
    workspace.setDistribution(True)
    assert workspace.YUnitLabel() == "Counts per meV"
    workspace.setYUnitLabel("S(Q,w)")                               # a set label is kept
    assert workspace.YUnitLabel() == "S(Q,w)"
    workspace.setDistribution(False)
    assert workspace.YUnitLabel(False, True) == "S(Q,w) per meV"


# -- Algorithm::executeInternal, PythonException -----------------------------------------------

class _Failing(PythonAlgorithm):
    def PyInit(self):  # noqa: N802
        self.declareProperty("Value", 1.0)

    def validateInputs(self):  # noqa: N802
        return {"NoSuchProperty": "ignored"} if self.getProperty("Value").value > 0 else \
            {"NoSuchProperty": "listed too", "Value": "must be positive"}

    def PyExec(self):  # noqa: N802
        self._fail()

    def _fail(self):
        raise ValueError("a problem")


def test_a_pyexec_error_carries_its_traceback_lines_and_is_raised_only_if_asked():
    algorithm = _Failing()
    algorithm.initialize()
    assert algorithm.execute() is False            # top level, no rethrow: logged only
    algorithm.setRethrows(True)
    with pytest.raises(RuntimeError) as info:
        algorithm.execute()
    lines = str(info.value).splitlines()
    assert lines[0] == "a problem"
    assert lines[1].startswith("  at line ") and lines[2].startswith("  caused by line ")
    assert len(lines) == 3 and __file__ in lines[1] and __file__ in lines[2]


def test_validate_inputs_issues_that_name_no_property_only_warn():
    algorithm = _Failing()
    algorithm.initialize()
    algorithm.setRethrows(True)
    with pytest.raises(RuntimeError, match="a problem"):   # the issue warned, PyExec ran
        algorithm.execute()
    algorithm.setProperty("Value", -1.0)
    with pytest.raises(RuntimeError) as info:
        algorithm.execute()
    assert str(info.value) == ("Some invalid Properties found: \n NoSuchProperty: listed too"
                               "\n Value: must be positive")


# -- WorkspaceProperty::store (Framework/API/inc/MantidAPI/WorkspaceProperty.tcc) -------------

class _Output(PythonAlgorithm):
    def PyInit(self):  # noqa: N802
        from mantid.api import MatrixWorkspaceProperty
        from mantid.kernel import Direction

        self.declareProperty(MatrixWorkspaceProperty("OutputWorkspace", "", Direction.Output))
        self.declareProperty("Set", True)

    def PyExec(self):  # noqa: N802
        if self.getProperty("Set").value:
            self.setProperty("OutputWorkspace", WorkspaceFactory.create(
                "Workspace2D", NVectors=1, XLength=1, YLength=1))


def test_a_stored_output_is_in_the_ads_not_in_its_property(ads):
    algorithm = _Output()
    algorithm.initialize()
    algorithm.setRethrows(True)
    algorithm.setProperty("OutputWorkspace", "out")
    assert algorithm.execute()
    assert ads.doesExist("out") and algorithm.getProperty("OutputWorkspace").value is None
    child = _Output()
    child.initialize()
    child.setChild(True)
    child.setProperty("OutputWorkspace", "child_out")
    assert child.execute()
    assert child.getProperty("OutputWorkspace").value is not None
    assert not ads.doesExist("child_out")
    algorithm.setProperty("Set", False)                   # a mandatory output left unset
    with pytest.raises(RuntimeError, match="doesn't point to a workspace"):
        algorithm.execute()


# -- AnalysisDataService (Framework/API/src/AnalysisDataService.cpp, Kernel DataService.h) ----

def test_the_ads_refuses_empty_names_and_groups_named_as_a_member(ads):
    from mantid.api import WorkspaceGroup

    workspace = WorkspaceFactory.create("Workspace2D", NVectors=1, XLength=1, YLength=1)
    with pytest.raises(RuntimeError, match="empty name"):
        ads.addOrReplace("", workspace)
    ads.addOrReplace("member", workspace)
    group = WorkspaceGroup()
    group.addWorkspace(workspace)
    with pytest.raises(ValueError, match="name matches its members"):
        ads.addOrReplace("member", group)
    other = WorkspaceFactory.create("Workspace2D", NVectors=1, XLength=1, YLength=1)
    unnamed = WorkspaceGroup()
    unnamed.addWorkspace(other)
    ads.addOrReplace("grouped", unnamed)                  # an unnamed member: <group>_<i>
    assert ads.doesExist("grouped_1") and other.name() == "grouped_1"
