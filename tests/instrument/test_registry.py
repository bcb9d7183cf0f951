"""The instrument parameter files: coverage of resins' instruments and the paper's four,
sources, plausible geometry, and `mdinsim instruments` / `mdinsim instrument` on the CLI."""

from __future__ import annotations

import math

import numpy as np
import pytest
from resins import Instrument as ResinsInstrument

from mantid_mdinsim.cli import main
from mantid_mdinsim.instrument import (DirectGeometryInstrument, describe_instrument,
                                       get_instrument, list_instruments)


def test_every_resins_instrument_and_the_papers_four_are_covered():
    linked = {instrument.resins_link.instrument for instrument in list_instruments()}
    # TFXA is resins' alias for an old TOSCA version; IDEAL is not an instrument.
    wanted = set(ResinsInstrument.available_instruments()) - {"IDEAL", "TFXA"}
    assert wanted <= linked
    for name in ("ARCS", "TOSCA", "MAPS", "Lagrange", "IN1-LAGRANGE", "in1"):
        assert get_instrument(name).name in {"ARCS", "TOSCA", "MAPS", "IN1-LAGRANGE"}


@pytest.mark.parametrize("instrument", list_instruments(), ids=lambda i: i.name)
def test_parameter_files_are_cited_and_plausible(instrument):
    assert instrument.sources and all(len(source) > 10 for source in instrument.sources)
    if isinstance(instrument, DirectGeometryInstrument):
        for low, high in instrument.detector_angle_ranges_deg:
            assert 0 < low < high < 180
        run = instrument.configure()
        low, high = instrument.incident_energy_limits_mev(run.setting)
        assert low <= run.incident_energy_mev <= high
    else:
        for bank in instrument.banks.values():
            assert 0 < bank.two_theta_deg < 180 and 2.0 < bank.final_energy_mev < 6.0
    info = describe_instrument(instrument)
    # resins builds the resolution at the defaults; VISION's is this project's own model.
    assert (info["resolution_at_defaults"].startswith("resins")
            or info["resolution_at_defaults"].startswith("mdinsim model"))


def test_instruments_command_lists_every_instrument_with_ranges(capsys):
    assert main(["instruments"]) == 0
    text = capsys.readouterr().out
    for instrument in list_instruments():
        assert instrument.name in text
    assert "Ei 20 to 1500 meV" in text                  # ARCS, from resins
    assert main(["instruments", "merlin"]) == 0
    text = capsys.readouterr().out
    assert "chopper package G: Ei 0 to 181 meV" in text
    assert "chopper package S: Ei 7 to 2000" in text
    assert main(["instruments", "nonsense"]) == 2
    assert "choose one of: ARCS" in capsys.readouterr().err


def test_instrument_command_writes_nexus_and_png(tmp_path, capsys):
    from mantid_mdinsim.io.nexus import load_processed_nexus, save_processed_nexus

    from .conftest import make_sqw

    sqw = make_sqw(np.linspace(0, 16, 33), np.linspace(0, 200, 201),
                   lambda q, w: np.exp(-((w - 80) / 3) ** 2) + 0 * q)
    save_processed_nexus(tmp_path / "sqw.nxs", sqw)
    output = tmp_path / "tosca.nxs"
    assert main(["instrument", str(tmp_path / "sqw.nxs"), "--instrument", "tosca",
                 "--temperature", "10", "--output", str(output)]) == 0
    assert output.is_file() and output.with_suffix(".png").stat().st_size > 1000
    loaded = load_processed_nexus(output)
    assert loaded[0].name == "sqw_TOSCA" and loaded[0].logs["temperature_k_used"] == 10.0
    assert main(["instrument", str(tmp_path / "sqw.nxs"), "--instrument", "MAPS", "--ei", "100",
                 "--energy-max", "150", "--temperature", "10", "--output",
                 str(tmp_path / "maps.nxs")]) == 2
    assert "beyond the incident energy" in capsys.readouterr().err
    assert not (tmp_path / "maps.nxs").exists()
    assert math.isfinite(loaded[0].values[0].sum())
