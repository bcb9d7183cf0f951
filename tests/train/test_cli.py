"""``mdinsim train``: options from the parameter definitions, a run, errors without traceback,
and the same model from the CLI and from the API with the same seed (neppo is deterministic)."""

import numpy as np
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

from mantid_mdinsim.cli import build_parser, main
from mantid_mdinsim.train import train_nep

from .conftest import TINY_MODEL, si_structures


def test_help_lists_the_parameters_with_units(capsys):
    parser = build_parser(only="train")
    help_text = parser._subparsers._group_actions[0].choices["train"].format_help()
    for option in ("--output-dir", "--radial-cutoff", "--ensemble-size", "--backend",
                   "--uncertainty-threshold", "--reference-calculator", "--fine-tune-model"):
        assert option in help_text
    assert "Unit: Angstrom" in help_text and "Unit: meV/Angstrom" in help_text


def test_bad_input_is_one_message_and_status_2(tmp_path, capsys):
    structures = si_structures(3)
    structures[1].calc = SinglePointCalculator(structures[1], energy=-40.0)
    write(tmp_path / "train.xyz", structures)
    status = main(["train", str(tmp_path / "train.xyz"), "--output-dir", str(tmp_path / "o"),
                   "--backend", "neppo"])
    error = capsys.readouterr().err
    assert status == 2
    assert "mdinsim train: error:" in error and "frame 1: no reference forces" in error
    assert "Traceback" not in error


def test_cli_run_and_api_run_give_the_same_model(tmp_path, capsys):
    write(tmp_path / "train.xyz", si_structures(6, seed=2))
    options = dict(backend="neppo", generations=30, batch_size=3, output_interval=10, seed=9,
                   **TINY_MODEL)
    flags = {"radial_cutoff_angstrom": "--radial-cutoff",
             "angular_cutoff_angstrom": "--angular-cutoff"}
    arguments = ["train", str(tmp_path / "train.xyz"), "--output-dir", str(tmp_path / "cli")]
    for name, value in options.items():
        arguments += [flags.get(name, "--" + name.replace("_", "-")), str(value)]
    assert main(arguments) == 0
    printed = capsys.readouterr().out
    assert "force_rmse (meV/A)" in printed and "backend: neppo" in printed
    result = train_nep(dict(training_set=[str(tmp_path / "train.xyz")],
                            output_directory=str(tmp_path / "api"), **options))
    assert result.model_path.read_bytes() == (tmp_path / "cli" / "nep.txt").read_bytes()
    assert np.isfinite(result.metric("full", "train", "force_rmse_mev_per_angstrom"))
