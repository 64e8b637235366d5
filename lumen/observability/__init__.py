"""Prometheus metrics for the service."""
