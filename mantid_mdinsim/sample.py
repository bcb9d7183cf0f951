"""What several steps say about the sample itself: its temperature, defined once.

MD simulates at it, the instrument step's quantum correction and detailed balance need it, the
harmonic spectrum's Bose factors use it. Each step takes :data:`TEMPERATURE_K` with its own
documentation, default and, where its physics allows other values, bounds
(``dataclasses.replace``), so that name, unit, option (``--temperature``) and Mantid property
(``Temperature``) are one.
"""

from __future__ import annotations

from .parameters import Parameter

#: The sample temperature, K: above 0 (the classical MD and the quantum correction divide by
#: it), at most 1e5 K (beyond any solid or liquid).
TEMPERATURE_K = Parameter(
    "temperature_k", float, "Sample temperature", unit="K", default=None, minimum=0.0,
    exclusive_minimum=True, maximum=1.0e5, flag="--temperature", mantid_name="Temperature")
