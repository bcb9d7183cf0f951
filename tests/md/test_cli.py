"""``mdinsim md``: options from the shared definitions, files written, errors as messages."""

from __future__ import annotations

import json

from mantid_mdinsim.cli import main


def test_md_command_runs_and_reports(tmp_path, si_structure, si_model, capsys):
    output = tmp_path / "runs"
    status = main(["md", str(si_structure), "--model", str(si_model), "--temperature", "300",
                   "--equilibration", "nvt", "--equilibration-time-ps", "0.05",
                   "--production-time-ps", "0.05", "--dump-interval-fs", "5",
                   "--max-frequency-mev", "65", "--backend", "cpu", "--processes", "1",
                   "--output-dir", str(output)])
    captured = capsys.readouterr()
    assert status == 0
    assert "T_300K/run_000: U = " in captured.out and "10 frames" in captured.out
    assert "mdinsim md:" in captured.err              # progress lines (not a terminal)
    summary = json.loads((output / "T_300K" / "run_000" / "summary.json").read_text())
    assert summary["mean_squared_displacement_angstrom2"] > 0
    assert summary["logs"]["temperature_k"] == [300.0]


def test_md_command_errors_are_one_line_messages(tmp_path, si_structure, capsys):
    status = main(["md", str(si_structure), "--model", str(tmp_path / "nep.txt"),
                   "--temperature", "300", "--output-dir", str(tmp_path / "o")])
    captured = capsys.readouterr()
    assert status == 2
    assert "mdinsim md: error:" in captured.err and "the NEP model file does not exist" in \
        captured.err
    assert "Traceback" not in captured.err


def test_md_help_lists_units(capsys):
    try:
        main(["md", "--help"])
    except SystemExit as exit_:
        assert exit_.code == 0
    text = capsys.readouterr().out
    for fragment in ("--temperature K", "Unit: fs", "Unit: GPa", "--dump-interval-fs",
                     "--number-of-beads", "Default: npt"):
        assert fragment in text
