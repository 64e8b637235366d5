"""Lumen's lab: evaluation sets and training recipes that the service itself never imports."""
