"""atalaia: self-hosted real-time video analytics."""

__version__ = "0.1.0"
