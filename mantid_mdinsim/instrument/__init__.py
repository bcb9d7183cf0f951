"""instrument step."""
