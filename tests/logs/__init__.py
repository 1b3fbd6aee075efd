"""Tests of the logging pipeline (atalaia.logs)."""
