"""The ``lumen`` command line."""
