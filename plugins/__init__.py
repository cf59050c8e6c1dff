"""emoportraits_plugins: the EMOPortraits implementation, registered through the ``emoportraits``
entry point exactly like a third-party plugin (see :mod:`emoportraits_plugins.registration`)."""

from .registration import emoportraits_add_commands, emoportraits_register, emoportraits_register_kinds

__all__ = ["emoportraits_add_commands", "emoportraits_register", "emoportraits_register_kinds"]
