"""The typed settings of a step (:class:`StepSettings`): built from the one ParameterSet."""

from __future__ import annotations

from dataclasses import FrozenInstanceError, dataclass

import pytest

from mantid_mdinsim.errors import ParameterError
from mantid_mdinsim.parameters import REQUIRED, Parameter, ParameterSet, StepSettings

TOY = ParameterSet("Toy", (
    Parameter("temperature_k", float, "temperature", unit="K", minimum=0.0, multiple=True,
              default=REQUIRED),
    Parameter("window", int, "window", default=10, minimum=2),
    Parameter("mode", str, "mode", default="fast", choices=("fast", "exact"),
              aliases=(("quick", "fast"),)),
))


@dataclass(frozen=True)
class ToySettings(StepSettings, parameters=TOY):
    temperature_k: tuple[float, ...]
    window: int
    mode: str


def test_settings_are_validated_filled_and_frozen():
    settings = ToySettings.from_values({"temperature_k": [300, 900]}, mode="quick")
    assert settings.temperature_k == (300.0, 900.0)
    assert settings.window == 10 and settings.mode == "fast"
    with pytest.raises(FrozenInstanceError):
        settings.window = 3  # type: ignore[misc]
    assert settings.as_values() == {"temperature_k": [300.0, 900.0], "window": 10,
                                    "mode": "fast"}
    assert settings.given() == {"temperature_k": [300.0, 900.0]}
    assert settings.replace(window=20).window == 20
    assert ToySettings.from_values(settings, window=4).temperature_k == (300.0, 900.0)
    assert hash(settings) == hash(ToySettings.from_values(temperature_k=[300, 900]))


def test_settings_refuse_what_the_parameters_refuse():
    with pytest.raises(ParameterError, match="window"):
        ToySettings.from_values(temperature_k=[300], window=1)
    with pytest.raises(ParameterError, match="temperature_k"):
        ToySettings.from_values()
    with pytest.raises(ParameterError, match="windw"):
        ToySettings.from_values(temperature_k=[300], windw=4)
    with pytest.raises(ParameterError, match="window"):
        ToySettings.from_values(temperature_k=[300]).replace(window=0)


def test_fields_must_match_the_parameters():
    @dataclass(frozen=True)
    class Drifted(StepSettings, parameters=TOY):
        temperature_k: tuple[float, ...]
        window: int

    with pytest.raises(TypeError, match=r"missing \['mode'\]"):
        Drifted.from_values(temperature_k=[300])
