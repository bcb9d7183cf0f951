"""Bad inputs are refused where they enter, with the file, the field and the fix."""

from __future__ import annotations

import pytest

from mantid_mdinsim.errors import ExternalProgramError, InputFileError
from mantid_mdinsim.md import run_md
from mantid_mdinsim.md.frequencies import estimate_max_frequency_mev
from mantid_mdinsim.atomistic.inputs import load_structure, read_model_info


def run(tmp_path, structure, model, **changes):
    arguments = dict(structure=str(structure), model=str(model), output_dir=str(tmp_path / "o"),
                     temperature_k=[300.0], production_time_ps=0.02, dump_interval_fs=5.0,
                     equilibration="none", max_frequency_mev=70.0, backend="cpu")
    arguments.update(changes)
    return run_md(**arguments)


def test_a_missing_model_is_named_with_the_fix(tmp_path, si_structure):
    with pytest.raises(InputFileError) as error:
        run(tmp_path, si_structure, tmp_path / "absent_nep.txt")
    assert "absent_nep.txt: the NEP model file does not exist" in str(error.value)
    assert "--model" in str(error.value)
    assert not (tmp_path / "o").exists()  # nothing is started


def test_a_file_that_is_not_a_nep_model(tmp_path, si_structure):
    bogus = tmp_path / "nep.txt"
    bogus.write_text("this is not a model\n")
    with pytest.raises(InputFileError, match="nep.txt, line 1: is not a NEP model file"):
        run(tmp_path, si_structure, bogus)


def test_species_absent_from_the_model(tmp_path, si_structure, shared_data):
    water = shared_data / "nep" / "nep_water.txt"
    with pytest.raises(InputFileError) as error:
        run(tmp_path, si_structure, water)
    message = str(error.value)
    assert "si.xyz" in message and "contains Si" in message
    assert "nep_water.txt does not cover (it has O, H)" in message


def test_a_nep3_model_is_refused_by_the_cpu_backend(tmp_path, shared_data):
    from ase.build import bulk
    from ase.io import write

    diamond = tmp_path / "c.xyz"
    write(diamond, bulk("C", "diamond", a=3.57, cubic=True), format="extxyz")
    nep3 = shared_data / "nep" / "ch_ensemble" / "nep_full.txt"
    assert read_model_info(nep3).version == 3
    with pytest.raises(InputFileError, match="NEP3 model.*--backend gpumd"):
        run(tmp_path, diamond, nep3)


def test_unreadable_and_cell_less_structures(tmp_path, si_model):
    with pytest.raises(InputFileError, match="the structure file does not exist"):
        load_structure(tmp_path / "missing.cif")
    garbage = tmp_path / "broken.cif"
    garbage.write_text("data_x\n_cell_length_a oops\n")
    with pytest.raises(InputFileError, match="broken.cif: cannot be read as a structure"):
        load_structure(garbage)
    molecule = tmp_path / "molecule.xyz"
    molecule.write_text("2\n\nSi 0 0 0\nSi 0 0 2.3\n")
    with pytest.raises(InputFileError, match="has no three-dimensional cell"):
        run(tmp_path, molecule, si_model)


def test_a_named_gpumd_that_does_not_exist(tmp_path, si_structure, si_model):
    with pytest.raises(ExternalProgramError, match="does not exist or is not executable"):
        run(tmp_path, si_structure, si_model, backend="gpumd",
            gpumd_executable=str(tmp_path / "no-gpumd"))


def test_estimated_fastest_vibration_of_silicon(si_structure, si_model):
    # Si's highest phonon, the zone-centre optical mode: 15.5 THz = 64 meV measured
    # (Kulda et al., PRB 50, 13347 (1994)); a good Si model lies within 10 percent.
    estimate = estimate_max_frequency_mev(load_structure(si_structure), str(si_model))
    assert estimate == pytest.approx(64.0, rel=0.1)


def test_a_cif_with_full_occupancies_gives_the_same_atoms_as_one_without(tmp_path):
    """The occupancy check lets an ordered CIF through: occupancies of 1 (and 0.9999, as
    refinements write them) give exactly the atoms of the same CIF without the column (the
    reference), the 8 atoms of diamond silicon."""
    import numpy as np

    head = ("data_Si\n_cell_length_a 5.43\n_cell_length_b 5.43\n_cell_length_c 5.43\n"
            "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\n"
            "_symmetry_space_group_name_H-M 'F d -3 m'\n_symmetry_Int_Tables_number 227\n"
            "loop_\n_atom_site_label\n_atom_site_type_symbol\n_atom_site_fract_x\n"
            "_atom_site_fract_y\n_atom_site_fract_z\n")
    plain = tmp_path / "plain.cif"
    plain.write_text(head + "Si1 Si 0 0 0\n")
    reference = load_structure(plain)
    for occupancy in ("1.0", "0.9999"):
        ordered = tmp_path / f"ordered_{occupancy}.cif"
        ordered.write_text(head + f"_atom_site_occupancy\nSi1 Si 0 0 0 {occupancy}\n")
        atoms = load_structure(ordered)
        assert len(atoms) == len(reference) == 8
        np.testing.assert_array_equal(atoms.get_positions(), reference.get_positions())
        assert atoms.get_chemical_symbols() == reference.get_chemical_symbols()


def test_poscar_variants_read_as_the_plain_poscar(tmp_path):
    """The counts check lets the usual POSCAR variants through: selective dynamics, Cartesian
    coordinates, a negative scale (the cell volume) and a CONTCAR's velocity block after a
    blank line all give the atoms of the plain Direct POSCAR (the reference)."""
    import numpy as np

    fractional = ["0 0 0", "0.5 0.5 0", "0.5 0 0.5", "0 0.5 0.5", "0.25 0.25 0.25",
                  "0.75 0.75 0.25", "0.75 0.25 0.75", "0.25 0.75 0.75"]
    cell = "5.43 0 0\n0 5.43 0\n0 0 5.43\n"
    variants = {
        "plain": "Si8\n1.0\n" + cell + "Si\n8\nDirect\n" + "\n".join(fractional) + "\n",
        "selective": "Si8\n1.0\n" + cell + "Si\n8\nSelective dynamics\nDirect\n"
                     + "\n".join(f + " T T F" for f in fractional) + "\n",
        "cartesian": "Si8\n1.0\n" + cell + "Si\n8\nCartesian\n" + "\n".join(
            " ".join(str(5.43 * float(x)) for x in f.split()) for f in fractional) + "\n",
        "volume": f"Si8\n{-5.43 ** 3}\n" + cell + "Si\n8\nDirect\n" + "\n".join(fractional)
                  + "\n",
        "contcar": "Si8\n1.0\n" + cell + "Si\n8\nDirect\n" + "\n".join(fractional)
                   + "\n\n" + "0 0 0\n" * 8,
    }
    atoms = {}
    for name, text in variants.items():
        path = tmp_path / f"{name}.poscar"
        path.write_text(text)
        atoms[name] = load_structure(path)
    for name, read in atoms.items():
        assert len(read) == 8, name
        np.testing.assert_allclose(read.get_positions(), atoms["plain"].get_positions(),
                                   atol=1e-9, err_msg=name)


def test_trajectories_that_cannot_fit_on_the_disk_are_refused_before_any_md(
        tmp_path, si_structure, si_model, monkeypatch):
    """The least the trajectories need (runs x frames x atoms x 12 bytes: 2 runs x 5 frames x
    8 atoms = 960 bytes, the reference) against the disk's free space: refused at 959 bytes
    free, before the output folder is made; let through at 960."""
    import mantid_mdinsim.md.core as md_core
    from mantid_mdinsim.errors import OutputWriteError

    settings = dict(production_time_ps=0.05, dump_interval_fs=10.0, number_of_runs=2,
                    equilibration="none", max_frequency_mev=70.0)
    monkeypatch.setattr(md_core, "free_bytes", lambda path: 959)
    with pytest.raises(OutputWriteError, match=r"the trajectories need at least 960 B \(2 "
                       r"run\(s\) x 5 frames x 8 atoms\) but the disk has 959 B free"):
        run(tmp_path, si_structure, si_model, **settings)
    assert not (tmp_path / "o").exists()
    monkeypatch.setattr(md_core, "free_bytes", lambda path: 960)
    run(tmp_path, si_structure, si_model, **settings)
