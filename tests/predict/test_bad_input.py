"""Bad input to ``mdinsim predict`` is refused before any MD runs, with a message that names the
parameter or file and the fix; the command line prints it without a traceback (exit status 2)."""

from __future__ import annotations

import numpy as np
import pytest

from mantid_mdinsim.cli import main
from mantid_mdinsim.errors import InputFileError, ParameterError
from mantid_mdinsim.io.nexus import save_processed_nexus
from mantid_mdinsim.predict import DEMOS, SILICON_MODEL, SILICON_STRUCTURE, predict
from mantid_mdinsim.spectrum import Axis, Spectrum

BASE = dict(structure=str(SILICON_STRUCTURE), model=str(SILICON_MODEL), instrument="TOSCA",
            temperature_k=[100.0])


def _nothing_ran(folder):
    assert not (folder / "md").exists()


@pytest.mark.parametrize("missing, message", [
    ("structure", "parameter 'structure': a value is required (give STRUCTURE, or run a "
                  "shipped demo with --demo si-tosca)"),
    ("model", "parameter 'model': a value is required (give --model NEP.txt"),
    ("instrument", "parameter 'instrument': a value is required (give --instrument NAME"),
    ("temperature_k", "parameter 'temperature_k': a value is required (give --temperature K"),
])
def test_missing_inputs_are_named(tmp_path, missing, message):
    values = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(ParameterError) as error:
        predict(values, output_dir=str(tmp_path))
    assert str(error.value).startswith(message)
    _nothing_ran(tmp_path)


def test_unknown_demo_and_instrument(tmp_path):
    with pytest.raises(ParameterError, match="'si-foo' is not one of the allowed values.*"
                       "choose one of: " + ", ".join(DEMOS)):
        predict(demo="si-foo", output_dir=str(tmp_path))
    with pytest.raises(ParameterError) as error:
        predict(BASE, instrument="TOSKA", output_dir=str(tmp_path))
    assert "TOSKA" in str(error.value) and "TOSCA" in str(error.value)
    _nothing_ran(tmp_path)


def test_a_demo_value_can_be_overridden_and_bounds_still_hold(tmp_path):
    with pytest.raises(ParameterError, match="parameter 'time_step_fs': 50 fs is out of range"):
        predict(demo="si-tosca", time_step_fs=50.0, output_dir=str(tmp_path))
    _nothing_ran(tmp_path)


def test_missing_experiment_is_refused_before_md(tmp_path):
    with pytest.raises(InputFileError, match="nowhere.txt: file not found"):
        predict(BASE, output_dir=str(tmp_path), experiment=str(tmp_path / "nowhere.txt"))
    _nothing_ran(tmp_path)


def test_malformed_experiment_names_the_line(tmp_path):
    path = tmp_path / "measured.txt"
    path.write_text("# energy intensity\n10 1.0\n12 oops\n")
    with pytest.raises(InputFileError) as error:
        predict(BASE, output_dir=str(tmp_path / "out"), experiment=str(path))
    assert "line 3" in str(error.value)
    _nothing_ran(tmp_path / "out")


def test_experiment_against_momentum_transfer_is_refused(tmp_path):
    diffraction = Spectrum(x=Axis(values=np.linspace(1, 5, 9), unit="MomentumTransfer"),
                           values=np.ones(9), name="sq")
    path = save_processed_nexus(tmp_path / "sq.nxs", [diffraction])
    with pytest.raises(InputFileError, match="X axis is 'MomentumTransfer', not energy "
                       "transfer.*ConvertUnits"):
        predict(BASE, output_dir=str(tmp_path / "out"), experiment=str(path))


def test_comparison_range_needs_sense(tmp_path):
    with pytest.raises(ParameterError, match="comparison range 50 to 20 meV is empty"):
        predict(BASE, output_dir=str(tmp_path), experiment=str(tmp_path / "x.txt"),
                compare_energy_min_mev=50.0, compare_energy_max_mev=20.0)
    with pytest.raises(ParameterError, match="without an experiment"):
        predict(BASE, output_dir=str(tmp_path), compare_energy_min_mev=10.0)


def test_a_model_without_the_structures_species(tmp_path):
    structure = tmp_path / "nacl.xyz"
    from ase.build import bulk
    from ase.io import write

    write(structure, bulk("NaCl", "rocksalt", a=5.64))
    with pytest.raises(InputFileError, match="contains Cl, Na, which the NEP model "
                       "Si_demo_NEP4.txt does not cover"):
        predict(BASE, structure=str(structure), output_dir=str(tmp_path / "out"))


def test_command_line_prints_the_error_without_traceback(tmp_path, capsys):
    status = main(["predict", "--output-dir", str(tmp_path), "--instrument", "TOSCA",
                   "--temperature", "100"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err.startswith("mdinsim predict: error: STRUCTURE: a value is required")
    assert "Traceback" not in captured.err


def test_missing_structure_file_and_impossible_instrument_settings(tmp_path):
    with pytest.raises(InputFileError, match="nowhere.cif, parameter 'structure': file not "
                       "found"):
        predict(BASE, structure=str(tmp_path / "nowhere.cif"), output_dir=str(tmp_path))
    with pytest.raises(ParameterError, match="parameter 'incident_energy_mev': Ei = 5000 meV "
                       "is outside the range of ARCS"):
        predict(BASE, instrument="ARCS", incident_energy_mev=5000.0, output_dir=str(tmp_path))
    with pytest.raises(ParameterError, match="parameter 'incident_energy_mev': TOSCA is an "
                       "indirect-geometry instrument"):
        predict(BASE, incident_energy_mev=100.0, output_dir=str(tmp_path))
    _nothing_ran(tmp_path)
