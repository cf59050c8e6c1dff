"""emoportraits core: types, component kinds, registry, geometry, pipeline engine, I/O and CLI.

The core is minimal and never imports a plugin; components arrive through the ``emoportraits``
entry-point group (see :mod:`emoportraits_core.hookspecs`).
"""

from importlib.metadata import PackageNotFoundError, version

from .component import Component
from .errors import CheckpointError, ConfigError, EmoportraitsError, InputError, PipelineError, RegistryError
from .hookspecs import hookimpl
from .plugin_manager import build_registry, get_registry, make_plugin_manager
from .ports import PortSpec
from .registry import ComponentEntry, Registry
from .types import Appearance, Frames, Motion

try:
    __version__ = version("emoportraits")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "Appearance",
    "CheckpointError",
    "Component",
    "ComponentEntry",
    "ConfigError",
    "EmoportraitsError",
    "Frames",
    "InputError",
    "Motion",
    "PipelineError",
    "PortSpec",
    "Registry",
    "RegistryError",
    "__version__",
    "build_registry",
    "get_registry",
    "hookimpl",
    "make_plugin_manager",
]
