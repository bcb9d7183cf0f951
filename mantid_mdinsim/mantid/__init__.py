"""mantid step."""
