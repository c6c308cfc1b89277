"""Typed stack configuration: one strict pydantic model per ``servestack:*`` section."""

from .base import ConfigError, ConfigProblem
from .stack import StackConfig, load_stack_config, parse_stack_config

__all__ = ["ConfigError", "ConfigProblem", "StackConfig", "load_stack_config", "parse_stack_config"]
