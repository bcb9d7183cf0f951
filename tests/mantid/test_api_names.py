"""Every mantid name the Mantid layer uses exists in Mantid's Python API (the record taken from
Mantid's source, tests/mantid/mantid_api_names.json), and the extractor and checker that make
and use the record work."""

from __future__ import annotations

import json
import textwrap

from . import mantid_api_names as api_names


def test_the_project_uses_only_names_of_mantids_python_api():
    record = json.loads(api_names.RECORD.read_text())
    assert record["repository"] == "mantidproject/mantid" and record["sources"]
    assert api_names.check(record) == []


def test_a_name_mantid_lacks_is_reported(tmp_path):
    record = json.loads(api_names.RECORD.read_text())
    wrong = tmp_path / "wrong.py"
    wrong.write_text(textwrap.dedent("""
        from mantid.api import WorkspaceFactory, NoSuchFactory
        workspace = WorkspaceFactory.create("Workspace2D", 1, 2, 2)
        workspace.setXUnit("DeltaE")
        workspace.getAxis(0).setUnit("DeltaE")
    """))
    assert api_names.check(record, [wrong]) == ["mantid.api.NoSuchFactory",
                                                "attribute .setXUnit"]


def test_the_extractor_reads_boost_python_exports(tmp_path):
    # A made-up export file in the forms Mantid's Exports use.
    source = textwrap.dedent('''
        #define EXPORT_THING(type, prefix) \\
          class_<Thing<type>, bases<IValidator>>(#prefix "Thing") \\
              .def("setLower", &Thing<type>::setLower);
        void export_things() {
          EXPORT_THING(double, Float);
          EXPORT_THING(int, Int);
          enum_<Mode>("Mode").value("Fast", FAST).value("Slow", SLOW);
          class_<Widget, boost::noncopyable>("Widget", no_init)
              .def("spin", &Widget::spin) // a comment with .def("ignored"
              .add_property("size", &Widget::size)
              .def("create", &create).staticmethod("create");
          scope().attr("Gadget") = scope().attr("Widget");
          WorkspacePropertyExporter<Widget>::define("WidgetProperty");
          using Exporter = WorkspacePropertyExporter<Thing>;
          auto cls = Exporter::define("ThingProperty");
          cls.def("Instance", &instance);
        }
    ''')
    header = 'struct WorkspacePropertyExporter { static void define() { ' \
             'class_<X>(name).def("isOptional", &X::isOptional); } };'
    exporter, members = api_names.extract_exporter(header)
    assert (exporter, members) == ("WorkspacePropertyExporter", {"isOptional"})
    found = api_names.extract_exports(source, {exporter: members})
    assert found == {"FloatThing": {"setLower"}, "IntThing": {"setLower"},
                     "Mode": {"Fast", "Slow"}, "Widget": {"spin", "size", "create"},
                     "Gadget": {"spin", "size", "create"}, "WidgetProperty": {"isOptional"},
                     "ThingProperty": {"isOptional", "Instance"}}
    python = "import os\nPATH_SEPARATOR = ';'\ndef load(path):\n    pass\nclass PluginLoader:\n    pass\n"
    assert api_names.extract_python(python) == {"PATH_SEPARATOR", "load", "PluginLoader"}


def test_extract_builds_the_record_layout_from_a_checkout(tmp_path):
    exports = tmp_path / api_names.EXPORT_FOLDERS["mantid.api"]
    exports.mkdir(parents=True)
    (exports / "Progress.cpp").write_text('class_<Progress, bases<ProgressBase>>("Progress");')
    aliases = tmp_path / "Framework/PythonInterface/mantid/api/_aliases.py"
    aliases.write_text("mtd = AnalysisDataService\n")
    record = api_names.extract(tmp_path, commit="abc123")
    assert record["commit"] == "abc123"
    assert record["modules"]["mantid.api"] == ["Progress", "mtd"]
    assert record["members"] == {"Progress": []}
