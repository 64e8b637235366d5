"""Task kinds (the Python hooks) and the declared tasks (the YAML files beside them)."""
