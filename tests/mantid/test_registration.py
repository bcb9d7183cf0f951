"""Registration: ``mdinsim mantid-register`` edits Mantid's user properties idempotently, Mantid's
plugin loader then finds exactly the algorithms, and ``register()`` works in a session."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mantid_mdinsim.cli import main
from mantid_mdinsim.mantid.registration import (ALGORITHM_NAMES, PLUGIN_DIRECTORIES_KEY,
                                                plugin_directory, register_plugin_directory,
                                                unregister_plugin_directory)

from .conftest import REAL_MANTID, REPOSITORY, STANDIN

KEY = PLUGIN_DIRECTORIES_KEY


def test_the_plugin_folder_holds_exactly_the_algorithm_files():
    folder = plugin_directory()
    assert sorted(p.name for p in folder.glob("*.py")) == sorted(f"{n}.py" for n in
                                                                  ALGORITHM_NAMES)
    # Mantid loads every .py file below the folder as a plugin: an __init__.py would become a
    # module named "__init__" and a broken mock function in mantid.simpleapi.
    assert not list(folder.rglob("__init__.py"))


def test_registering_creates_the_file_and_is_idempotent(tmp_path):
    properties = tmp_path / ".mantid" / "Mantid.user.properties"
    first = register_plugin_directory(properties)
    assert first.changed and first.value == str(plugin_directory())
    text = properties.read_text()
    assert text == f"{KEY} = {plugin_directory()}\n"
    second = register_plugin_directory(properties)
    assert not second.changed and properties.read_text() == text


def test_other_settings_and_folders_are_kept(tmp_path):
    properties = tmp_path / "Mantid.user.properties"
    properties.write_text("# my settings\ndefault.facility = ISIS\n"
                          f"{KEY} = /opt/my_plugins;/home/me/more\n"
                          "datasearch.directories = /data/a;\\\n  /data/b\n")
    result = register_plugin_directory(properties)
    lines = properties.read_text().splitlines()
    assert lines[0] == "# my settings" and lines[1] == "default.facility = ISIS"
    assert lines[2] == f"{KEY} = /opt/my_plugins;/home/me/more;{plugin_directory()}"
    assert lines[3:] == ["datasearch.directories = /data/a;\\", "  /data/b"]
    assert result.changed
    removed = unregister_plugin_directory(properties)
    assert removed.changed and removed.value == "/opt/my_plugins;/home/me/more"
    assert not unregister_plugin_directory(properties).changed


def test_a_continued_value_is_read_whole(tmp_path):
    properties = tmp_path / "Mantid.user.properties"
    folder = plugin_directory()
    properties.write_text(f"{KEY} = /opt/a;\\\n    {folder}\n")
    assert not register_plugin_directory(properties).changed


def test_the_command_line(tmp_path, capsys):
    properties = tmp_path / "Mantid.user.properties"
    assert main(["mantid-register", "--properties-file", str(properties)]) == 0
    assert "Added" in capsys.readouterr().out
    assert main(["mantid-register", "--properties-file", str(properties)]) == 0
    assert "Already registered" in capsys.readouterr().out
    assert main(["mantid-register", "--unregister", "--properties-file", str(properties)]) == 0
    assert "Removed" in capsys.readouterr().out
    assert KEY in properties.read_text() and str(plugin_directory()) not in properties.read_text()
    assert main(["mantid-register", "--print-directory"]) == 0
    assert capsys.readouterr().out.strip() == str(plugin_directory())


def _environment(home: Path) -> dict[str, str]:
    environment = dict(os.environ, HOME=str(home), MPLBACKEND="Agg")
    if not REAL_MANTID:
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(STANDIN), environment.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return environment


def test_after_registering_mantid_loads_the_algorithms_at_start_up(tmp_path):
    """As a user would: register with the command, then start Mantid's Python API in a new
    process; the algorithms load from the plugin folder and run through mantid.simpleapi."""
    environment = _environment(tmp_path)
    subprocess.run([sys.executable, "-m", "mantid_mdinsim", "mantid-register"],
                   env=environment, check=True, capture_output=True, cwd=tmp_path)
    assert (tmp_path / ".mantid" / "Mantid.user.properties").is_file()
    script = textwrap.dedent("""
        import numpy as np
        import mantid.simpleapi as simpleapi
        from mantid.api import AlgorithmFactory, AnalysisDataService
        from mantid_mdinsim.mantid.workspaces import spectrum_to_workspace
        from mantid_mdinsim.spectrum import Spectrum, energy_axis, momentum_axis

        for name in ("MDTrainNEP", "MDRunGPUMD", "MDComputeSqw", "MDApplyInstrument",
                     "MDPredict"):
            assert AlgorithmFactory.exists(name), name
            assert callable(getattr(simpleapi, name)), name
        assert "__init__" not in vars(simpleapi)
        energy = np.arange(0.0, 80.0, 0.5)
        q = np.linspace(0.2, 12.0, 40)
        values = np.exp(-0.5 * ((energy[None, :] - 30.0) / 1.5) ** 2) * q[:, None] ** 2
        sqw = Spectrum(x=energy_axis(energy), values=values, vertical=momentum_axis(q),
                       logs={"temperature_k": 300.0})
        AnalysisDataService.addOrReplace("sqw", spectrum_to_workspace(sqw))
        out = simpleapi.MDApplyInstrument(InputWorkspace="sqw", Instrument="TOSCA",
                                          OutputWorkspace="tosca")
        assert out.getNumberHistograms() == 1
        print("ok", out.name())
    """)
    completed = subprocess.run([sys.executable, "-c", script], env=environment,
                               capture_output=True, text=True, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.split() == ["ok", "tosca"]


def test_register_in_a_running_session():
    if REAL_MANTID:
        pytest.skip("changes the algorithm factory of the real Mantid session")
    import mantid.simpleapi as simpleapi
    from mantid.api import AlgorithmFactory

    from mantid_mdinsim.mantid import register

    assert register() == list(ALGORITHM_NAMES)
    for name in ALGORITHM_NAMES:
        assert AlgorithmFactory.exists(name)
        assert callable(getattr(simpleapi, name))


def test_the_repository_plugin_folder_is_the_installed_one():
    assert plugin_directory() == (REPOSITORY / "algorithms").resolve() or \
        plugin_directory().parent.name == "mantid_mdinsim"


def test_an_older_mantid_is_refused_with_the_version_it_needs(tmp_path, monkeypatch, capsys):
    import mantid

    from mantid_mdinsim.mantid import register
    from mantid_mdinsim.mantid.version import (MINIMUM_MANTID_VERSION, MantidVersionError,
                                               parse_version, require_mantid)

    assert parse_version("6.12.20250101.1503") == (6, 12, 20250101)
    assert parse_version("6.4.0rc1") == (6, 4, 0)
    assert require_mantid()[:2] >= MINIMUM_MANTID_VERSION  # the Mantid the tests run with
    monkeypatch.setattr(mantid, "__version__", "6.12.0")
    with pytest.raises(MantidVersionError, match=r"needs Mantid 6\.13 or newer; this Python "
                                                 r"runs Mantid 6\.12\.0"):
        register()
    properties = tmp_path / "Mantid.user.properties"
    assert main(["mantid-register", "--properties-file", str(properties)]) == 1
    assert "Not registered: mdinsim needs Mantid 6.13" in capsys.readouterr().err
    assert not properties.exists()  # nothing written for a Mantid that cannot run them


def test_loading_the_algorithms_on_an_older_mantid_says_which_mantid_is_needed(tmp_path):
    """As Workbench's plugin loader meets it: the plugin file fails to load with the message
    (Mantid logs 'Failed to load plugin ... Error: ...'), rather than half-working."""
    script = textwrap.dedent("""
        import mantid
        mantid.__version__ = "5.1.0"
        from mantid.kernel import plugins
        try:
            plugins.load_plugin(%r)
        except ImportError as error:
            print("refused:", error)
    """ % str(plugin_directory() / "MDComputeSqw.py"))
    completed = subprocess.run([sys.executable, "-c", script], env=_environment(tmp_path),
                               capture_output=True, text=True, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.startswith("refused: mdinsim needs Mantid 6.13 or newer; this "
                                       "Python runs Mantid 5.1.0")


def test_registering_from_a_python_without_mantid_says_what_workbench_needs(tmp_path):
    if REAL_MANTID:
        pytest.skip("this Python has Mantid")
    properties = tmp_path / "Mantid.user.properties"
    environment = dict(os.environ, HOME=str(tmp_path))
    environment.pop("PYTHONPATH", None)  # no stand-in: a Python without Mantid
    completed = subprocess.run([sys.executable, "-m", "mantid_mdinsim", "mantid-register",
                                "--properties-file", str(properties)], env=environment,
                               capture_output=True, text=True, cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert f"Added {plugin_directory()}" in completed.stdout
    assert "has no Mantid" in completed.stdout
    assert "python -m pip install mantid-mdinsim" in completed.stdout
