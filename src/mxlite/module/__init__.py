"""Modules (``mx.mod``): train, score and predict a Symbol with MXNet 1.9.1's Module API."""

from .base_module import BaseModule
from .module import Module

__all__ = ["BaseModule", "Module"]
