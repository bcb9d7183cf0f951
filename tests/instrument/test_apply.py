"""MDApplyInstrument end to end: output layouts (Mantid SofQW for direct geometry, AbINS for
indirect), logs, the processed NeXus round trip, and every bad input with its message."""

from __future__ import annotations

import numpy as np
import pytest

from mantid_mdinsim.errors import InputFileError, ParameterError
from mantid_mdinsim.instrument import apply_instrument, load_sqw
from mantid_mdinsim.spectrum import Spectrum, energy_axis, momentum_axis

from .conftest import make_sqw


def test_direct_output_has_sofqw_layout(flat_sqw):
    result = apply_instrument(flat_sqw, {"instrument": "MARI", "incident_energy_mev": 150.0,
                                         "temperature_k": 300.0})
    spectrum = result.spectrum
    assert spectrum.x.unit == "DeltaE" and spectrum.is_histogram
    assert spectrum.vertical.unit == "MomentumTransfer"
    assert len(spectrum.vertical) == spectrum.n_spectra + 1          # BinEdgeAxis, as SofQW
    assert spectrum.distribution and spectrum.y_unit_label == "Intensity"
    assert spectrum.x.values[0] == 0.0 and spectrum.x.values[-1] == 150.0
    # Unreachable (|Q|, w) is NaN, as SofQW's NormalisedPolygon leaves unmeasured bins.
    assert np.isnan(spectrum.values).any() and np.isfinite(spectrum.values).any()
    assert result.banks == {}
    zero = apply_instrument(flat_sqw, instrument="MARI", incident_energy_mev=150.0,
                            temperature_k=300.0, mask_value="zero").spectrum
    np.testing.assert_array_equal(np.isnan(spectrum.values), zero.values == 0)
    logs = spectrum.logs
    assert logs["mdinsim_step"] == "MDApplyInstrument"
    assert logs["instrument"] == "MARI" and logs["incident_energy_mev_used"] == 150.0
    assert logs["temperature_k_used"] == 300.0 and logs["quantum_correction_applied"] == 1
    assert "PyChop_fit" in logs["resolution_model_used"]


def test_indirect_output_has_abins_layout(flat_sqw):
    result = apply_instrument(flat_sqw, instrument="tosca", temperature_k=10.0)
    spectrum = result.spectrum
    assert spectrum.n_spectra == 1 and spectrum.is_histogram and spectrum.x.unit == "DeltaE"
    assert not spectrum.distribution
    assert spectrum.y_unit == "Arbitrary Units" and spectrum.y_unit_label == "S / Arbitrary Units"
    assert list(result.banks) == ["Forward", "Backward"]
    np.testing.assert_allclose(spectrum.values[0], 0.5 * (result.banks["Forward"].values[0]
                                                          + result.banks["Backward"].values[0]))
    assert [w.name for w in result.workspaces()] == [
        "sqw_TOSCA", "sqw_TOSCA_Forward", "sqw_TOSCA_Backward", "sqw_TOSCA_resolution"]
    backward = apply_instrument(flat_sqw, instrument="TOSCA", setting="backward",
                                temperature_k=10.0)
    assert list(backward.banks) == ["Backward"]
    np.testing.assert_allclose(backward.spectrum.values, result.banks["Backward"].values)


def test_temperature_taken_from_the_input_log():
    sqw = make_sqw(np.linspace(0, 16, 33), np.linspace(0, 100, 101), temperature_k=127.0)
    result = apply_instrument(sqw, instrument="TOSCA")
    assert result.spectrum.logs["temperature_k_used"] == 127.0
    assert result.spectrum.logs["temperature_source"] == "input log temperature_k"


def test_transposed_and_point_data_inputs_give_the_same_result():
    q_edges, e_edges = np.linspace(0, 16, 33), np.linspace(0, 100, 101)
    sqw = make_sqw(q_edges, e_edges, lambda q, w: np.exp(-((w - 40) / 4) ** 2) * (1 + q))
    reference = apply_instrument(sqw, instrument="ARCS", incident_energy_mev=100.0,
                                 temperature_k=50.0).spectrum
    transposed = Spectrum(x=momentum_axis(q_edges), values=sqw.values.T,
                          vertical=energy_axis(e_edges))
    points = Spectrum(x=energy_axis(0.5 * (e_edges[1:] + e_edges[:-1])), values=sqw.values,
                      vertical=momentum_axis(0.5 * (q_edges[1:] + q_edges[:-1])))
    for other in (transposed, points):
        result = apply_instrument(other, instrument="ARCS", incident_energy_mev=100.0,
                                  temperature_k=50.0).spectrum
        np.testing.assert_allclose(result.values, reference.values, equal_nan=True)


def test_save_and_reload_processed_nexus(tmp_path, flat_sqw):
    from mantid_mdinsim.io.nexus import load_processed_nexus, save_processed_nexus

    save_processed_nexus(tmp_path / "sqw.nxs", flat_sqw)
    result = apply_instrument(load_sqw(tmp_path / "sqw.nxs"), instrument="Lagrange",
                              temperature_k=20.0)
    result.save(tmp_path / "out.nxs")
    loaded = load_processed_nexus(tmp_path / "out.nxs")
    assert [w.name for w in loaded] == [w.name for w in result.workspaces()]
    np.testing.assert_allclose(loaded[0].values, result.spectrum.values)
    assert loaded[0].logs["instrument_name"] == "IN1-LAGRANGE"
    assert loaded[0].y_unit_label == "S / Arbitrary Units"


# -- bad input ---------------------------------------------------------------------------------
def test_unknown_instrument_lists_the_valid_ones(flat_sqw):
    with pytest.raises(ParameterError) as error:
        apply_instrument(flat_sqw, instrument="IN5", temperature_k=10.0)
    for name in ("ARCS", "TOSCA", "MAPS", "IN1-LAGRANGE", "VISION", "PANTHER"):
        assert name in str(error.value)


@pytest.mark.parametrize("parameters,message", [
    ({"instrument": "ARCS", "incident_energy_mev": 5.0}, "outside the range of ARCS"),
    ({"instrument": "MERLIN", "incident_energy_mev": 300.0}, "within 0 to 181 meV"),
    ({"instrument": "MAPS", "chopper_frequency_hz": 425}, "choose one of: 50, 100"),
    ({"instrument": "MAPS", "setting": "Z"}, "choose one of: A, B, S"),
    ({"instrument": "MAPS", "secondary_chopper_frequency_hz": 100}, "no such chopper"),
    ({"instrument": "TOSCA", "incident_energy_mev": 100.0}, "indirect-geometry"),
    ({"instrument": "PANTHER", "incident_energy_mev": 150.0}, "within 7.5 to 130 meV"),
    ({"instrument": "ARCS", "incident_energy_mev": 100.0, "energy_max_mev": 120.0},
     "beyond the incident energy"),
    ({"instrument": "TOSCA", "energy_max_mev": 600.0}, "beyond TOSCA's energy-transfer range"),
    ({"instrument": "ARCS", "temperature_k": 0.0}, "must be > 0 and <= 100000 K"),
    ({"instrument": "ARCS", "temperature_k": -5.0}, "must be > 0 and <= 100000 K"),
    ({"instrument": "ARCS", "resolution_model": "book"}, "choose one of: PyChop_fit"),
    ({"instrument": "VISION", "resolution_model": "vision"}, "use resolution 'none'"),
])
def test_bad_settings_are_refused_with_the_fix(flat_sqw, parameters, message):
    parameters = {"temperature_k": 100.0, **parameters}
    with pytest.raises(ParameterError, match=message.replace("(", r"\(")):
        apply_instrument(flat_sqw, parameters)


def test_quantum_correction_needs_a_temperature(flat_sqw):
    with pytest.raises(ParameterError, match="temperature is needed for the quantum correction"):
        apply_instrument(flat_sqw, instrument="TOSCA")
    apply_instrument(flat_sqw, instrument="TOSCA", quantum_correction=False)   # fine without T


def test_harmonic_input_refuses_a_second_quantum_correction():
    # The harmonic step writes quantum S with a temperature_k log; without this check the
    # instrument step would read that log and apply eq. 6 on top of the Bose factors.
    sqw = make_sqw(np.linspace(0, 16, 33), np.linspace(0, 100, 101), temperature_k=20.0,
                   mdinsim_step="MDHarmonic")
    with pytest.raises(ParameterError, match="quantum correction of eq. 6 would apply them "
                       "twice.*--no-quantum-correction"):
        apply_instrument(sqw, instrument="TOSCA")
    with pytest.raises(ParameterError, match="its own Debye-Waller factor"):
        apply_instrument(sqw, instrument="TOSCA", quantum_correction=False,
                         debye_waller="apply", mean_squared_displacement_angstrom2=0.01)
    result = apply_instrument(sqw, instrument="TOSCA", quantum_correction=False)
    assert result.spectrum.logs["quantum_correction_applied"] == 0


@pytest.mark.parametrize("instrument, settings", [("TOSCA", {}),
                                                  ("ARCS", {"incident_energy_mev": 100.0})])
def test_empty_q_shells_carry_no_information(instrument, settings):
    """Whole NaN |Q| rows (shells of mdinsim sqw's average with no q-point near them) and a shell
    at |Q| = 0 are accepted: the result equals that of the same S without those rows."""
    q_points = np.arange(0.0, 16.01, 0.25)
    energy_edges = np.linspace(0, 100, 201)
    w = 0.5 * (energy_edges[1:] + energy_edges[:-1])
    values = np.exp(-(w[None, :] - 20.0 - q_points[:, None]) ** 2 / 8.0) * (1 + q_points[:, None])
    empty = np.zeros(len(q_points), bool)
    empty[[3, 4, 17, 40]] = True
    with_gaps = values.copy()
    with_gaps[empty] = np.nan
    full = Spectrum(x=energy_axis(energy_edges), values=with_gaps,
                    vertical=momentum_axis(q_points), name="sqw")
    kept = Spectrum(x=energy_axis(energy_edges), values=values[~empty],
                    vertical=momentum_axis(q_points[~empty]), name="sqw")
    common = dict(instrument=instrument, quantum_correction=False, **settings)
    result, reference = apply_instrument(full, **common), apply_instrument(kept, **common)
    np.testing.assert_array_equal(result.spectrum.values, reference.spectrum.values)
    assert result.spectrum.logs["input_empty_q_shells_left_out"] == 4


def test_bad_input_spectra_are_named():
    q_edges, e_edges = np.linspace(0, 10, 11), np.linspace(0, 50, 51)
    sqw = make_sqw(q_edges, e_edges)
    sqw.values[3, 7] = np.nan
    with pytest.raises(InputFileError, match=r"not finite \(first at \|Q\| = 3.5"):
        apply_instrument(sqw, instrument="TOSCA", quantum_correction=False)
    uneven = make_sqw(q_edges, np.concatenate((np.linspace(0, 20, 21), np.linspace(22, 80, 30))))
    with pytest.raises(InputFileError, match="not equally spaced"):
        apply_instrument(uneven, instrument="TOSCA", quantum_correction=False)
    no_q = Spectrum(x=energy_axis(e_edges), values=np.ones((3, 50)))
    with pytest.raises(InputFileError, match="not energy transfer and |Q|"):
        apply_instrument(no_q, instrument="TOSCA", quantum_correction=False)


def test_mantid_file_without_q_axis_is_refused(shared_data):
    """A real Mantid file (MARI data per detector, spectrum-number axis) is not S(|Q|,w)."""
    path = shared_data / "mantid-nexus" / "mslice_MAR21335_Ei60meV.nxs"
    with pytest.raises(InputFileError) as error:
        apply_instrument(load_sqw(path), instrument="MARI", incident_energy_mev=60.0,
                         temperature_k=5.0)
    assert "spectraNumber" in str(error.value) and "SofQW" in str(error.value)
