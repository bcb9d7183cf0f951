"""Instrument parameter files (one YAML file per instrument), installed inside the package."""
