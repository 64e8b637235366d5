"""Lumen's lab: training and evaluation code that the shipped service does not import."""
