"""q-point selection: commensurability, spherical sampling, zone paths and zones, files."""

import numpy as np
import pytest
from ase.build import bulk

from mantid_mdinsim.errors import InputFileError, ParameterError
from mantid_mdinsim.sqw.qpoints import (average_structure, commensurate_indices, file_qpoints,
                                        find_primitive_cell, path_qpoints, reciprocal_cell,
                                        spherical_qpoints)

A_SI = 5.431


@pytest.fixture(scope="module")
def silicon():
    primitive = bulk("Si", "diamond", a=A_SI)
    conventional = bulk("Si", "diamond", a=A_SI, cubic=True).repeat(4)   # 512 atoms
    return primitive, conventional


def assert_on_lattice(q_points, cell):
    reduced = q_points.cartesian @ np.asarray(cell).T / (2 * np.pi)
    np.testing.assert_allclose(reduced, q_points.indices, atol=1e-9)


def test_spherical_sampling_is_commensurate_bounded_and_near_the_target(silicon):
    cell = silicon[1].cell.array
    q = spherical_qpoints(cell, 6.0, 300, seed=7)
    assert_on_lattice(q, cell)
    assert q.norms.max() <= 6.0 + 1e-12 and q.norms.min() > 0   # q = 0 is left out
    assert 200 < len(q) < 400
    # pruned evenly in |q|: the outer half of the |q| range holds about half the points
    assert 0.35 < np.mean(q.norms > 3.0) < 0.7
    again = spherical_qpoints(cell, 6.0, 300, seed=7)
    np.testing.assert_array_equal(q.indices, again.indices)


def test_unpruned_sphere_is_dynasors_full_set(silicon):
    import logging

    from dynasor.qpoints import get_spherical_qpoints

    logging.getLogger("dynasor").setLevel(logging.WARNING)
    cell = silicon[0].repeat((5, 4, 3)).cell.array            # a non-orthogonal supercell
    reference = get_spherical_qpoints(cell, 4.0, q_min=1e-9)
    q = spherical_qpoints(cell, 4.0, 10 ** 9)
    assert {tuple(row) for row in q.indices} == {
        tuple(row) for row in commensurate_indices(reference, cell, "q")}


def test_silicon_path_has_the_special_points_in_the_first_zone(silicon):
    primitive, conventional = silicon
    q = path_qpoints(conventional.cell.array, "G-X-K-L", primitive.cell.array)
    assert_on_lattice(q, conventional.cell.array)
    labels = q.columns["label"]
    assert [label for label in labels if label] == ["G", "X", "K", "L"]
    x_point = q.cartesian[labels.index("X")]
    assert np.linalg.norm(x_point) == pytest.approx(2 * np.pi / A_SI)           # |X| = 2 pi / a
    l_point = q.cartesian[labels.index("L")]
    assert np.linalg.norm(l_point) == pytest.approx(np.sqrt(3) * np.pi / A_SI)  # |L|
    k_point = q.cartesian[labels.index("K")]
    assert np.linalg.norm(k_point) == pytest.approx(1.5 * np.sqrt(2) * np.pi / A_SI)
    # G-X has 2 points strictly inside for 4 conventional cells: q = (2 pi / a)(0, 1/4, 0)...
    between = labels.index("X") - labels.index("G") - 1
    assert between == 3
    distance = q.columns["path_distance"]
    assert np.all(np.diff(distance) > 0)


def test_zones_stay_below_the_limit_and_are_reproducible(silicon):
    primitive, conventional = silicon
    cell = conventional.cell.array
    q = path_qpoints(cell, "G-X-K-L", primitive.cell.array, zones=12, q_max_inv_angstrom=8.0,
                     seed=3)
    assert_on_lattice(q, cell)
    n_path = q.notes["q_path_points"]
    assert len(q) == 12 * n_path and q.notes["zones_used"] == 12
    assert q.norms.max() <= 8.0 + 1e-9
    zone_vectors = q.cartesian[::n_path] - q.cartesian[0]
    assert np.allclose(zone_vectors[0], 0)                                  # the first zone
    # each zone shift is a reciprocal lattice vector of the primitive cell
    hkl = zone_vectors @ primitive.cell.array.T / (2 * np.pi)
    np.testing.assert_allclose(hkl, np.rint(hkl), atol=1e-9)
    assert len({tuple(v) for v in np.rint(hkl).astype(int)}) == 12
    again = path_qpoints(cell, "G-X-K-L", primitive.cell.array, zones=12, q_max_inv_angstrom=8.0,
                         seed=3)
    np.testing.assert_array_equal(q.indices, again.indices)
    other = path_qpoints(cell, "G-X-K-L", primitive.cell.array, zones=12, q_max_inv_angstrom=8.0,
                         seed=4)
    assert not np.array_equal(q.indices, other.indices)


def test_primitive_cell_is_found_from_a_thermal_snapshot(silicon):
    primitive, conventional = silicon
    rng = np.random.default_rng(0)
    cell_matrix = conventional.cell.array
    # 20 snapshots with 0.1 Angstrom thermal noise (beyond spglib's reach one by one), some
    # atoms wrapped across the boundary
    frames = [(conventional.positions + rng.normal(0, 0.1, (len(conventional), 3)))
              for _ in range(20)]
    frames = [frame @ np.linalg.inv(cell_matrix) % 1.0 @ cell_matrix for frame in frames]
    mean = average_structure(frames, cell_matrix)
    cell, _ = find_primitive_cell(cell_matrix, mean, conventional.get_chemical_symbols())
    assert abs(np.linalg.det(cell)) == pytest.approx(primitive.get_volume(), rel=1e-6)
    q = path_qpoints(conventional.cell.array, "GXKL", cell)
    reference = path_qpoints(conventional.cell.array, "GXKL", primitive.cell.array)
    np.testing.assert_allclose(np.sort(q.norms), np.sort(reference.norms), atol=1e-9)


def test_q_file_reads_three_columns_and_snaps_to_the_lattice(tmp_path, silicon):
    cell = silicon[1].cell.array
    b = reciprocal_cell(cell)
    wanted = np.array([[1, 0, 0], [2, -1, 3], [0, 0, 5]]) @ b
    path = tmp_path / "q.txt"
    lines = ["# qx qy qz (1/Angstrom)", ", ".join(f"{v:.9f}" for v in wanted[0]),
             " ".join(f"{v:.9f}" for v in wanted[1]) + "  # comment", "",
             " ".join(f"{v:.9f}" for v in wanted[2])]
    path.write_text("\n".join(lines) + "\n")
    q = file_qpoints(path, cell)
    np.testing.assert_array_equal(q.indices, [[1, 0, 0], [2, -1, 3], [0, 0, 5]])
    np.testing.assert_allclose(q.cartesian, wanted, atol=1e-8)


def test_non_commensurate_q_points_name_the_point_and_the_fix(tmp_path, silicon):
    cell = silicon[1].cell.array
    path = tmp_path / "q.txt"
    path.write_text("0.3 0 0\n")
    with pytest.raises(InputFileError) as error:
        file_qpoints(path, cell)
    message = str(error.value)
    assert str(path) in message and "line 1" in message and "q-point 0" in message
    assert "not commensurate" in message and "nearest commensurate q-point" in message
    with pytest.raises(ParameterError, match="q-point 1 .* not commensurate"):
        commensurate_indices(np.array([[0.0, 0, 0], [0.1, 0.2, 0.3]]), cell, "q_points")


def test_bad_paths_and_limits_are_parameter_errors(silicon):
    primitive, conventional = silicon
    cell = conventional.cell.array
    with pytest.raises(ParameterError, match="unknown: Q"):
        path_qpoints(cell, "G-Q-L", primitive.cell.array)
    with pytest.raises(ParameterError, match="--q-max"):
        path_qpoints(cell, "G-X", primitive.cell.array, zones=3)
    with pytest.raises(ParameterError, match="integer repetition"):
        path_qpoints(cell, "G-X", primitive.cell.array * 1.3)
    with pytest.raises(ParameterError, match="raise --q-max"):
        spherical_qpoints(cell, 0.01, 10)
