"""sqw step."""
