"""The instrument registry: ``instrument_params/*.yaml`` -> instrument objects, found by name.

One YAML file per instrument (see ``instrument_params/README.md``). Files are read once and
checked here, so a malformed file fails with its name and field. Lookup ignores case and
accepts aliases (``Lagrange`` for ``IN1-LAGRANGE``).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from ..errors import InputFileError, ParameterError
from ..parameters import canonical_spelling
from .analyser_resolution import AnalyserResolutionData
from .instruments import (Bank, DirectGeometryInstrument, IndirectGeometryInstrument,
                          IndirectSetting, Instrument, ResinsLink)


def parameter_directory() -> Path:
    """The folder holding the instrument YAML files (installed as a package)."""
    return Path(str(resources.files("mantid_mdinsim.instrument_params")))


def _require(data: dict, key: str, path: Path, where: str = "") -> Any:
    if key not in data:
        raise InputFileError(path, f"field '{key}' is missing", where=where or None,
                             fix="see instrument_params/README.md for the fields")
    return data[key]


def _pair(value: Any, path: Path, where: str) -> tuple[float, float]:
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        raise InputFileError(path, f"{value!r} is not a (min, max) pair of numbers",
                             where=where) from None
    if not low < high:
        raise InputFileError(path, f"{value!r}: min must be below max", where=where)
    return low, high


def _own_resolution_models(data: dict, path: Path
                           ) -> tuple[dict[str, AnalyserResolutionData], str | None]:
    """The file's ``mdinsim_resolution`` section: {models: {name: fields}, default: name}."""
    section = data.get("mdinsim_resolution")
    if not section:
        return {}, None
    models = {}
    for name, fields in (section.get("models") or {}).items():
        try:
            models[str(name)] = AnalyserResolutionData.from_mapping(fields)
        except KeyError as error:
            raise InputFileError(path, f"field {error} is missing",
                                 where=f"mdinsim_resolution.models.{name}",
                                 fix="see mantid_mdinsim/instrument/analyser_resolution.py "
                                     "for the fields") from None
        except (TypeError, ValueError) as error:
            raise InputFileError(path, f"a field is not a number ({error})",
                                 where=f"mdinsim_resolution.models.{name}") from None
    default = section.get("default")
    if default is not None and default not in models:
        raise InputFileError(path, f"default '{default}' is not one of the models",
                             where="mdinsim_resolution.default",
                             fix="name a model listed under mdinsim_resolution.models")
    return models, default


def load_instrument(path: str | Path) -> Instrument:
    """Read one instrument YAML file."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise InputFileError(path, f"not readable as YAML ({error})") from None
    if not isinstance(data, dict):
        raise InputFileError(path, "expected a mapping of fields")
    resins_data = _require(data, "resins", path)
    link = ResinsLink(instrument=str(_require(resins_data, "instrument", path, "resins")),
                      version=str(_require(resins_data, "version", path, "resins")),
                      model=str(_require(resins_data, "model", path, "resins")),
                      setting_configuration=resins_data.get("setting_configuration"),
                      frequencies=dict(resins_data.get("frequencies") or {}))
    common = dict(name=str(_require(data, "name", path)),
                  geometry=str(_require(data, "geometry", path)),
                  description=str(data.get("description", "")),
                  facility=str(data.get("facility", "")), resins_link=link,
                  sources=tuple(str(s) for s in _require(data, "sources", path)),
                  aliases=tuple(str(a) for a in data.get("aliases") or ()),
                  known_problems=tuple(str(p) for p in data.get("known_problems") or ()),
                  source_file=str(path))
    own_models, default_model = _own_resolution_models(data, path)
    common.update(own_resolution_models=own_models, default_model=default_model)
    if not common["sources"]:
        raise InputFileError(path, "no sources are cited", where="sources",
                             fix="cite where every number comes from")

    if common["geometry"] == "direct":
        ranges = tuple(_pair(r, path, f"detector_angle_ranges_deg[{i}]")
                       for i, r in enumerate(_require(data, "detector_angle_ranges_deg", path)))
        energy = _require(data, "incident_energy_mev", path)
        default_ei = float(_require(energy, "default", path, "incident_energy_mev"))
        ei_range = (_pair(energy["range"], path, "incident_energy_mev.range")
                    if "range" in energy else None)
        return DirectGeometryInstrument(**common, detector_angle_ranges_deg=ranges,
                                        default_incident_energy_mev=default_ei,
                                        incident_energy_range_mev=ei_range)

    if common["geometry"] == "indirect":
        banks = {}
        for name, bank in _require(data, "banks", path).items():
            where = f"banks.{name}"
            banks[str(name)] = Bank(
                name=str(name),
                two_theta_deg=float(_require(bank, "two_theta_deg", path, where)),
                final_energy_mev=float(_require(bank, "final_energy_mev", path, where)),
                weight=float(bank.get("weight", 1.0)))
        settings = {}
        for name, setting in (data.get("settings") or {}).items():
            where = f"settings.{name}"
            bank_names = tuple(str(b) for b in setting.get("banks") or ())
            unknown = [b for b in bank_names if b not in banks]
            if unknown:
                raise InputFileError(path, f"unknown bank(s) {unknown}", where=where,
                                     fix="use names listed under 'banks'")
            ei_range = (_pair(setting["incident_energy_range_mev"], path,
                              f"{where}.incident_energy_range_mev")
                        if "incident_energy_range_mev" in setting else None)
            settings[str(name)] = IndirectSetting(str(name), bank_names,
                                                  dict(setting.get("resins_options") or {}),
                                                  ei_range)
        default_setting = data.get("default_setting")
        if default_setting is not None and default_setting not in settings:
            raise InputFileError(path, f"default '{default_setting}' is not a setting",
                                 where="default_setting")
        energy_range = (_pair(data["energy_transfer_range_mev"], path,
                              "energy_transfer_range_mev")
                        if "energy_transfer_range_mev" in data else None)
        return IndirectGeometryInstrument(**common, banks=banks, settings_table=settings,
                                          default_setting_name=default_setting,
                                          energy_transfer_range_mev=energy_range)

    raise InputFileError(path, f"geometry '{common['geometry']}' is not known",
                         where="geometry", fix="use 'direct' or 'indirect'")


@lru_cache(maxsize=1)
def _instruments() -> dict[str, Instrument]:
    instruments = {}
    for path in sorted(parameter_directory().glob("*.yaml")):
        instrument = load_instrument(path)
        if instrument.name in instruments:
            raise InputFileError(path, f"instrument '{instrument.name}' is defined twice",
                                 where="name")
        instruments[instrument.name] = instrument
    return instruments


def instrument_names() -> list[str]:
    """Names of all instruments with a parameter file, alphabetically."""
    return sorted(_instruments())


def list_instruments() -> list[Instrument]:
    """All instruments, alphabetically by name."""
    return [_instruments()[name] for name in instrument_names()]


def instrument_aliases() -> tuple[tuple[str, str], ...]:
    """``(alias, instrument name)`` pairs of every instrument (``Parameter.aliases``)."""
    return tuple((alias, instrument.name) for instrument in list_instruments()
                 for alias in instrument.aliases)


def canonical_name(name: str) -> str | None:
    """The registered name for ``name`` (any case, or an alias), or None; the rule of the
    ``instrument`` parameter's choices (:func:`~mantid_mdinsim.parameters.canonical_spelling`)."""
    return canonical_spelling(str(name).strip(), instrument_names(), instrument_aliases(),
                              ignore_case=True)


def get_instrument(name: str) -> Instrument:
    """The instrument called ``name`` (case-insensitive; aliases accepted).

    Raises ParameterError listing the valid names when there is none.
    """
    found = canonical_name(name)
    if found is None:
        raise ParameterError("instrument", f"'{name}' is not a known instrument",
                             "choose one of: " + ", ".join(instrument_names()))
    return _instruments()[found]


def describe_instrument(instrument: Instrument) -> dict[str, Any]:
    """Settings, valid ranges and geometry of one instrument, for ``mdinsim instruments``.

    Ranges come from resins for each chopper package, so this is what the run will accept. The
    resolution model is built once at the defaults to report whether resins can evaluate it.
    """
    info: dict[str, Any] = {
        "name": instrument.name, "geometry": instrument.geometry,
        "facility": instrument.facility, "description": instrument.description,
        "aliases": list(instrument.aliases), "settings": instrument.settings(),
        "default_setting": instrument.default_setting(),
        "resolution_models": instrument.resolution_models(),
        "default_resolution_model": instrument.default_resolution_model,
        "sources": list(instrument.sources), "known_problems": list(instrument.known_problems),
        "parameter_file": Path(instrument.source_file).name,
    }
    if isinstance(instrument, DirectGeometryInstrument):
        info["detector_two_theta_ranges_deg"] = [list(r) for r in
                                                 instrument.detector_angle_ranges_deg]
        info["default_incident_energy_mev"] = instrument.default_incident_energy_mev
        per_setting = {}
        for setting in instrument.settings() or [None]:
            low, high = instrument.incident_energy_limits_mev(setting)
            entry: dict[str, Any] = {"incident_energy_range_mev": [low, high]}
            for name, (restriction, default) in instrument.frequency_choices(setting).items():
                entry[name] = {"allowed": _describe_restriction(restriction),
                               "default": default}
            per_setting[setting or ""] = entry
        info["per_setting"] = per_setting
    else:
        assert isinstance(instrument, IndirectGeometryInstrument)
        info["banks"] = {name: {"two_theta_deg": bank.two_theta_deg,
                                "final_energy_mev": bank.final_energy_mev,
                                "weight": bank.weight}
                         for name, bank in instrument.banks.items()}
        per_setting = {}
        for name, setting in instrument.settings_table.items():
            run = instrument.configure(setting=name)
            per_setting[name] = {"banks": [bank.name for bank in run.banks],
                                 "energy_transfer_range_mev": list(run.energy_range_mev)}
        info["per_setting"] = per_setting
        if not per_setting and instrument.energy_transfer_range_mev is not None:
            info["energy_transfer_range_mev"] = list(instrument.energy_transfer_range_mev)
    try:
        model = instrument.resolution(instrument.configure())
        info["resolution_at_defaults"] = model.description
    except ParameterError as error:
        info["resolution_at_defaults"] = f"not available: {error.problem}"
    return info


def _describe_restriction(restriction: Any) -> Any:
    if restriction is None:
        return None
    if isinstance(restriction, list) and len(restriction) == 3:
        return list(range(*restriction))
    if isinstance(restriction, list):
        return [float(v) for v in restriction]
    return sorted(restriction)


__all__ = ["canonical_name", "describe_instrument", "get_instrument", "instrument_names",
           "list_instruments", "load_instrument", "parameter_directory"]

