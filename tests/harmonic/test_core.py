"""``mdinsim harmonic`` end to end: files, layout, reuse of the force constants, bad input."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("abinslib", reason="the harmonic comparison needs the 'harmonic' extra")

from mantid_mdinsim.cli import main  # noqa: E402
from mantid_mdinsim.harmonic import harmonic_sqw, load_phonons  # noqa: E402
from mantid_mdinsim.io.nexus import load_processed_nexus  # noqa: E402


def test_phonon_file_through_tosca(shared_data, tmp_path, capsys):
    """NaH (CASTEP) -> harmonic map -> TOSCA: the map in the file is the one harmonic_sqw
    gives, in the MD S(|Q|,w) layout, and TOSCA's spectrum peaks at the H optic modes."""
    phonons = shared_data / "phonons" / "NaH.phonon"
    output = tmp_path / "nah.nxs"
    code = main(["harmonic", str(phonons), "--temperature", "10", "--max-order", "2",
                 "--energy-max", "240", "--energy-step", "0.5", "--q-max", "14",
                 "--instrument", "tosca", "--output", str(output)])
    assert code == 0, capsys.readouterr().err
    assert output.is_file() and output.with_suffix(".png").is_file()
    workspaces = {w.name: w for w in load_processed_nexus(output)}
    assert {"harmonic_total", "harmonic_H", "harmonic_Na", "harmonic_quantum_event_1",
            "harmonic_quantum_event_2", "harmonic_total_TOSCA"} <= set(workspaces)
    total = workspaces["harmonic_total"]
    assert (total.x.unit, total.vertical.unit) == ("DeltaE", "MomentumTransfer")
    direct = harmonic_sqw(load_phonons(phonons), temperature_k=10.0,
                          q_bins_inv_angstrom=total.vertical.values,
                          energy_bins_mev=total.x.values, max_order=2)
    np.testing.assert_allclose(total.values, direct.total.values, rtol=1e-12)
    assert total.logs["temperature_k"] == 10.0 and total.logs["mdinsim_step"] == "MDHarmonic"
    tosca = workspaces["harmonic_total_TOSCA"]
    assert tosca.y_unit_label == "S / Arbitrary Units" and not tosca.distribution
    # The strongest TOSCA peak is the H optic band of NaH (70-110 meV in this file).
    modes = load_phonons(phonons).frequencies.to("meV").magnitude
    peak = tosca.x_centres()[np.argmax(tosca.values[0])]
    assert modes[:, 3:].min() - 5 < peak < modes.max() + 5


def test_nep_structure_and_reuse_of_its_force_constants(si_model, tmp_path, capsys):
    """Structure + NEP -> force constants written beside the output -> given back as the
    input, the same spectrum without the NEP."""
    from ase.build import bulk

    structure = tmp_path / "si.cif"
    bulk("Si", "diamond", a=5.457).write(structure)
    common = ["--temperature", "300", "--mesh", "4", "4", "4", "--cross-section", "total",
              "--q-max", "6", "--energy-step", "0.5", "--no-plot"]
    first = tmp_path / "si.nxs"
    assert main(["harmonic", str(structure), "--model", str(si_model), "--supercell", "4",
                 "--relax", "none", *common, "--output", str(first)]) == 0
    saved = tmp_path / "si_phonopy.yaml"
    assert saved.is_file()
    second = tmp_path / "again.nxs"
    assert main(["harmonic", str(saved), *common, "--output", str(second)]) == 0, \
        capsys.readouterr().err
    first_total, second_total = (load_processed_nexus(path, entry="harmonic_total")[0]
                                 for path in (first, second))
    np.testing.assert_allclose(second_total.values, first_total.values, rtol=1e-8,
                               atol=1e-12 * first_total.values.max())
    assert "NEP" in first_total.logs["harmonic_phonon_source"]


def test_bad_inputs_are_reported_with_the_fix(shared_data, si_model, tmp_path, capsys):
    from ase.build import bulk

    structure = tmp_path / "si.cif"
    bulk("Si", "diamond", a=5.457).write(structure)
    assert main(["harmonic", str(structure), "--output", str(tmp_path / "x.nxs")]) == 2
    assert "--model: a NEP model is needed to compute the phonons of si.cif" \
        in capsys.readouterr().err

    carbon = tmp_path / "diamond.cif"
    bulk("C", "diamond", a=3.567).write(carbon)
    assert main(["harmonic", str(carbon), "--model", str(si_model),
                 "--output", str(tmp_path / "x.nxs")]) == 2
    assert "diamond.cif: contains C, which the NEP model" in capsys.readouterr().err

    phonons = shared_data / "phonons" / "NaH.phonon"
    assert main(["harmonic", str(phonons), "--mesh", "4", "4", "4",
                 "--output", str(tmp_path / "x.nxs")]) == 2
    assert "holds modes at fixed q-points; a mesh cannot be chosen" in capsys.readouterr().err

    assert main(["harmonic", str(phonons), "--method", "abins", "--max-order", "3",
                 "--output", str(tmp_path / "x.nxs")]) == 2
    assert "method 'abins' computes orders 1 and 2 only" in capsys.readouterr().err
    assert not (tmp_path / "x.nxs").exists()
