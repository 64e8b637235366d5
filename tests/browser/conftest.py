"""The browser suite: its marker (``browser``) is declared in pyproject.toml."""
