"""Helpers every part shares: time formats, safe text, the domain's errors."""
