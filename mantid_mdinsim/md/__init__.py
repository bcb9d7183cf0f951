"""md step."""
