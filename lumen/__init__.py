"""Lumen: a self-hostable medical assistant whose answers are grounded in cited sources."""

__version__ = "0.1.0"
