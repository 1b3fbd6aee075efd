"""Configuration: one typed tree (pydantic), loaded from YAML with `ATALAIA_*` overrides."""

from atalaia.config.app import (
    AtalaiaConfig,
    DatabaseConfig,
    LoggingConfig,
    ServerConfig,
    SupervisorConfig,
)
from atalaia.config.cameras import CameraConfig, SourceConfig, ZoneConfig
from atalaia.config.errors import ConfigError, ConfigProblem
from atalaia.config.loader import load_config, masked_dump, render_yaml

__all__ = [
    "AtalaiaConfig",
    "CameraConfig",
    "ConfigError",
    "ConfigProblem",
    "DatabaseConfig",
    "LoggingConfig",
    "ServerConfig",
    "SourceConfig",
    "SupervisorConfig",
    "ZoneConfig",
    "load_config",
    "masked_dump",
    "render_yaml",
]
