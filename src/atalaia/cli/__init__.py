"""The `atalaia` command line."""
