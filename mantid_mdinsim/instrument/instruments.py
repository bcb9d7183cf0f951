"""Instruments as data: one small class per geometry, filled from ``instrument_params/*.yaml``.

* :class:`DirectGeometryInstrument`: fixed incident energy Ei (chosen per run), detectors over
  ranges of scattering angle 2theta; the accessible (|Q|, w) region is a band below Ei.
* :class:`IndirectGeometryInstrument`: fixed final energy per analyser bank, each bank at one
  2theta measuring along a |Q|(w) line; the instrument's spectrum combines the banks.

Resolution and the allowed settings (Ei range, chopper packages, chopper frequencies) come from
resins, linked through :class:`ResinsLink`, so those numbers live in one place. Each instrument
turns user parameters into a validated :class:`RunSettings` (:meth:`Instrument.configure`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from ..errors import ParameterError
from . import kinematics
from .analyser_resolution import AnalyserResolutionData, analyser_resolution
from .resolution import ResolutionModel, resins_instrument, resins_resolution

#: Parameters that name chopper frequencies (mdinsim name -> what the YAML maps to resins).
FREQUENCY_PARAMETERS = ("chopper_frequency_hz", "secondary_chopper_frequency_hz")

#: resins' PyChop fits sample 40 energy transfers in [0, Ei) without the end point: beyond the
#: last sample (39/40 Ei) the polynomial is extrapolated, so widths are taken no further.
_PYCHOP_FIT_FRACTION = 39.0 / 40.0


def _allowed_values_text(restriction: Any) -> str:
    if isinstance(restriction, list) and len(restriction) == 3:
        return ", ".join(str(v) for v in range(*restriction))
    if isinstance(restriction, list) and len(restriction) == 2:
        return f"{restriction[0]:g} to {restriction[1]:g}"
    return ", ".join(str(v) for v in sorted(restriction))


def _within(value: float, restriction: Any) -> bool:
    """resins' rule (model_base._validate_settings): [lo, hi], range(start, stop, step) or set."""
    if isinstance(restriction, list) and len(restriction) == 2:
        return restriction[0] <= value <= restriction[1]
    if isinstance(restriction, list) and len(restriction) == 3:
        return value in range(*restriction)
    return value in restriction


@dataclass(frozen=True)
class ResinsLink:
    """Which resins instrument, version and model give this instrument's resolution.

    ``setting_configuration`` names the resins configuration that mdinsim's ``setting`` chooses
    (``chopper_package``); ``frequencies`` maps mdinsim's frequency parameters to resins settings
    (``chopper_frequency_hz: chopper_frequency``).
    """

    instrument: str
    version: str
    model: str
    setting_configuration: str | None = None
    frequencies: Mapping[str, str] = field(default_factory=dict)

    def resins(self):
        return resins_instrument(self.instrument, self.version)

    def models(self) -> list[str]:
        return list(self.resins().available_models)

    def options(self, model: str | None = None) -> list[str]:
        if not self.setting_configuration:
            return []
        return self.resins().possible_options_for_model_and_configuration(
            model or self.model, self.setting_configuration)

    def default_option(self, model: str | None = None) -> str | None:
        if not self.setting_configuration:
            return None
        return self.resins().default_option_for_configuration(model or self.model,
                                                              self.setting_configuration)

    def model_data(self, model: str | None, option: str | None):
        """resins' ModelData (defaults, restrictions) for the model and chosen option."""
        kwargs = {self.setting_configuration: option} if self.setting_configuration else {}
        return self.resins().get_model_data(model or self.model, **kwargs)


@dataclass(frozen=True)
class Bank:
    """An analyser bank of an indirect-geometry instrument."""

    name: str
    two_theta_deg: float
    final_energy_mev: float
    weight: float = 1.0

    def q_line(self, energy_transfer_mev: np.ndarray) -> np.ndarray:
        """|Q|(w) (1/Angstrom) along which this bank measures."""
        return kinematics.indirect_q_line(energy_transfer_mev, self.final_energy_mev,
                                          self.two_theta_deg)


@dataclass(frozen=True)
class IndirectSetting:
    """A named choice of an indirect instrument: which banks, resins options, Ei range (meV)."""

    name: str
    banks: tuple[str, ...]
    resins_options: Mapping[str, str] = field(default_factory=dict)
    incident_energy_range_mev: tuple[float, float] | None = None


@dataclass(frozen=True)
class RunSettings:
    """An instrument configured for one run, validated.

    Attributes
    ----------
    setting
        Chopper package, bank selection or monochromator (or None).
    incident_energy_mev
        Ei (direct geometry), else None.
    chopper_frequencies_hz
        mdinsim frequency parameter -> Hz, as used.
    banks
        Analyser banks combined (indirect geometry).
    energy_range_mev
        Energy transfers the instrument measures: (-inf, Ei) for direct geometry, the setting's
        range for indirect geometry.
    resins_options, resins_settings
        What is passed to resins (configurations; e_init and frequencies).
    """

    instrument: "Instrument"
    setting: str | None
    incident_energy_mev: float | None
    chopper_frequencies_hz: Mapping[str, int]
    banks: tuple[Bank, ...]
    energy_range_mev: tuple[float, float]
    resins_options: Mapping[str, str]
    resins_settings: Mapping[str, Any]

    def log_entries(self) -> dict[str, Any]:
        """What the run used, as sample logs."""
        logs: dict[str, Any] = {
            "instrument_name": self.instrument.name,
            "instrument_geometry": self.instrument.geometry,
            "instrument_setting_used": self.setting or "",
        }
        if self.incident_energy_mev is not None:
            logs["incident_energy_mev_used"] = float(self.incident_energy_mev)
        for name, value in self.chopper_frequencies_hz.items():
            logs[f"{name}_used"] = int(value)
        if self.banks:
            logs["bank_names"] = " ".join(bank.name.replace(" ", "_") for bank in self.banks)
            logs["bank_two_theta_deg"] = np.array([b.two_theta_deg for b in self.banks])
            logs["bank_final_energy_mev"] = np.array([b.final_energy_mev for b in self.banks])
            logs["bank_weight"] = np.array([b.weight for b in self.banks])
        if isinstance(self.instrument, DirectGeometryInstrument):
            logs["detector_two_theta_ranges_deg"] = np.array(
                self.instrument.detector_angle_ranges_deg, dtype=float).ravel()
        return logs


@dataclass(frozen=True)
class Instrument:
    """Common part of both geometries: identity, sources, resins link."""

    name: str
    geometry: str
    description: str
    facility: str
    resins_link: ResinsLink
    sources: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    known_problems: tuple[str, ...] = ()
    source_file: str = ""
    #: This project's own resolution models (name -> data), beside resins' (VISION's).
    own_resolution_models: Mapping[str, AnalyserResolutionData] = field(default_factory=dict)
    #: Model used when none is asked for: one of the own models or the resins link's.
    default_model: str | None = None

    @property
    def default_resolution_model(self) -> str:
        return self.default_model or self.resins_link.model

    def resolution_models(self) -> list[str]:
        """Names accepted as resolution_model: this project's own, then resins'."""
        return list(self.own_resolution_models) + self.resins_link.models()

    def settings(self) -> list[str]:
        raise NotImplementedError

    def default_setting(self) -> str | None:
        raise NotImplementedError

    def configure(self, *, setting: str | None = None, incident_energy_mev: float | None = None,
                  chopper_frequency_hz: int | None = None,
                  secondary_chopper_frequency_hz: int | None = None,
                  resolution_model: str | None = None) -> RunSettings:
        """The validated configuration of one run (the instrument's defaults where None);
        ParameterError names the setting that does not fit this instrument."""
        raise NotImplementedError

    def resolution_energy_range_mev(self, run: RunSettings) -> tuple[float, float]:
        raise NotImplementedError

    def resolution(self, run: RunSettings, model: str | None = None) -> ResolutionModel:
        """The resolution model for this configuration (ParameterError if unusable)."""
        model = model or self.default_resolution_model
        if model in self.own_resolution_models:
            final_energies = [bank.final_energy_mev for bank in run.banks]
            if not final_energies:
                raise ParameterError("resolution_model", f"'{model}' is an analyser model; "
                                     f"{self.name} has no analyser banks")
            return analyser_resolution(model, self.own_resolution_models[model],
                                       float(np.mean(final_energies)),
                                       self.resolution_energy_range_mev(run))
        return resins_resolution(self.resins_link.instrument, self.resins_link.version,
                                 model, dict(run.resins_options),
                                 dict(run.resins_settings),
                                 self.resolution_energy_range_mev(run))

    def _check_setting(self, setting: str | None) -> str | None:
        choices = self.settings()
        if setting is None:
            return self.default_setting()
        if not choices:
            raise ParameterError("setting", f"{self.name} has no settings to choose",
                                 "leave --setting out")
        lowered = {choice.lower(): choice for choice in choices}
        if setting.lower() not in lowered:
            raise ParameterError("setting", f"'{setting}' is not a setting of {self.name}",
                                 "choose one of: " + ", ".join(choices))
        return lowered[setting.lower()]

    def _check_resolution_model(self, model: str | None) -> str:
        model = model or self.default_resolution_model
        if model in self.own_resolution_models:
            return model
        available = self.resolution_models()
        if model not in self.resins_link.resins().all_available_models:
            raise ParameterError("resolution_model", f"'{model}' is not a resins model of "
                                 f"{self.name}", "choose one of: " + ", ".join(available))
        return model


@dataclass(frozen=True)
class DirectGeometryInstrument(Instrument):
    """Direct geometry: Ei fixed per run, detectors over 2theta ranges (degrees)."""

    detector_angle_ranges_deg: tuple[tuple[float, float], ...] = ()
    default_incident_energy_mev: float = math.nan
    incident_energy_range_mev: tuple[float, float] | None = None

    def settings(self) -> list[str]:
        return self.resins_link.options()

    def default_setting(self) -> str | None:
        return self.resins_link.default_option()

    def incident_energy_limits_mev(self, setting: str | None,
                                   model: str | None = None) -> tuple[float, float]:
        """Allowed Ei (meV) for a chopper package: resins' restriction, within this file's."""
        low, high = 0.0, math.inf
        restriction = self.resins_link.model_data(model, setting).restrictions.get("e_init")
        if restriction is not None:
            low, high = float(restriction[0]), float(restriction[1])
        if self.incident_energy_range_mev is not None:
            low = max(low, self.incident_energy_range_mev[0])
            high = min(high, self.incident_energy_range_mev[1])
        return low, high

    def frequency_choices(self, setting: str | None,
                          model: str | None = None) -> dict[str, tuple[Any, Any]]:
        """mdinsim frequency parameter -> (resins restriction, resins default)."""
        data = self.resins_link.model_data(model, setting)
        return {name: (data.restrictions.get(resins_name), data.defaults.get(resins_name))
                for name, resins_name in self.resins_link.frequencies.items()}

    def configure(self, *, setting: str | None = None, incident_energy_mev: float | None = None,
                  chopper_frequency_hz: int | None = None,
                  secondary_chopper_frequency_hz: int | None = None,
                  resolution_model: str | None = None) -> RunSettings:
        model = self._check_resolution_model(resolution_model)
        setting = self._check_setting(setting)
        setting_text = f" with chopper package '{setting}'" if setting else ""

        ei = incident_energy_mev
        if ei is None:
            ei = self.default_incident_energy_mev
        low, high = self.incident_energy_limits_mev(setting, model)
        if not low <= ei <= high:
            raise ParameterError("incident_energy_mev", f"Ei = {ei:g} meV is outside the range "
                                 f"of {self.name}{setting_text}",
                                 f"give --ei within {low:g} to {high:g} meV, resins' range "
                                 "for this chopper package")

        frequencies: dict[str, int] = {}
        resins_settings: dict[str, Any] = {"e_init": float(ei)}
        choices = self.frequency_choices(setting, model)
        given = dict(zip(FREQUENCY_PARAMETERS, (chopper_frequency_hz,
                                                secondary_chopper_frequency_hz)))
        for name, value in given.items():
            if name not in choices:
                if value is not None:
                    raise ParameterError(name, f"{self.name} has no such chopper to set",
                                         f"leave --{name.replace('_hz', '').replace('_', '-')} "
                                         "out")
                continue
            restriction, default = choices[name]
            if value is None:
                value = default
            if restriction is not None and not _within(value, restriction):
                raise ParameterError(name, f"{value} Hz is not allowed for {self.name}"
                                     f"{setting_text} ({self.resins_link.frequencies[name]})",
                                     "choose one of: " + _allowed_values_text(restriction))
            frequencies[name] = int(value)
            resins_settings[self.resins_link.frequencies[name]] = int(value)

        options = ({self.resins_link.setting_configuration: setting}
                   if self.resins_link.setting_configuration else {})
        return RunSettings(self, setting, float(ei), frequencies, (), (-math.inf, float(ei)),
                           options, resins_settings)

    def resolution_energy_range_mev(self, run: RunSettings) -> tuple[float, float]:
        # Widths on the energy-gain side are taken equal to the elastic width: resins' fits
        # start at w = 0 and extrapolating a quartic below it is not trustworthy.
        return 0.0, _PYCHOP_FIT_FRACTION * run.incident_energy_mev

    def accessible_mask(self, q_edges_inv_angstrom: np.ndarray, energy_edges_mev: np.ndarray,
                        incident_energy_mev: float) -> np.ndarray:
        """(n_q, n_energy) True where a detector measures the bin (see kinematics)."""
        return kinematics.direct_accessible_mask(q_edges_inv_angstrom, energy_edges_mev,
                                                 incident_energy_mev,
                                                 self.detector_angle_ranges_deg)


@dataclass(frozen=True)
class IndirectGeometryInstrument(Instrument):
    """Indirect geometry: analyser banks at fixed 2theta and final energy."""

    banks: Mapping[str, Bank] = field(default_factory=dict)
    settings_table: Mapping[str, IndirectSetting] = field(default_factory=dict)
    default_setting_name: str | None = None
    energy_transfer_range_mev: tuple[float, float] | None = None

    def settings(self) -> list[str]:
        return list(self.settings_table)

    def default_setting(self) -> str | None:
        return self.default_setting_name

    def configure(self, *, setting: str | None = None, incident_energy_mev: float | None = None,
                  chopper_frequency_hz: int | None = None,
                  secondary_chopper_frequency_hz: int | None = None,
                  resolution_model: str | None = None) -> RunSettings:
        self._check_resolution_model(resolution_model)
        if incident_energy_mev is not None:
            raise ParameterError("incident_energy_mev", f"{self.name} is an indirect-geometry "
                                 "instrument (fixed final energy); an incident energy does not "
                                 "apply", "leave --ei out")
        for name, value in zip(FREQUENCY_PARAMETERS, (chopper_frequency_hz,
                                                      secondary_chopper_frequency_hz)):
            if value is not None:
                raise ParameterError(name, f"{self.name} has no chopper frequency to set",
                                     "leave the chopper frequencies out")
        setting_name = self._check_setting(setting)
        setting = self.settings_table[setting_name] if setting_name else None
        bank_names = setting.banks if setting and setting.banks else tuple(self.banks)
        banks = tuple(self.banks[name] for name in bank_names)
        if setting is not None and setting.incident_energy_range_mev is not None:
            final = min(bank.final_energy_mev for bank in banks)
            low_ei, high_ei = setting.incident_energy_range_mev
            energy_range = (max(low_ei - final, 0.0), high_ei - final)
        elif self.energy_transfer_range_mev is not None:
            energy_range = tuple(float(v) for v in self.energy_transfer_range_mev)
        else:
            energy_range = (0.0, math.inf)
        options = dict(setting.resins_options) if setting is not None else {}
        return RunSettings(self, setting_name, None, {}, banks, energy_range, options, {})

    def resolution_energy_range_mev(self, run: RunSettings) -> tuple[float, float]:
        return run.energy_range_mev
