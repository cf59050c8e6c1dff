"""The audio -> head-pose plugin's hooks, so that it can be its own ``emoportraits`` entry point
(like :mod:`emoportraits_plugins.motion.plugin`): the kind ``sequence``, the generator, the two critics
and the GAN's losses."""

from __future__ import annotations

from emoportraits_core import Registry, hookimpl


@hookimpl
def emoportraits_register_kinds(registry: Registry) -> None:
    """Adds the kind ``sequence`` (networks over per-frame sequences)."""
    from . import register_kinds

    register_kinds(registry)


@hookimpl
def emoportraits_register(registry: Registry) -> None:
    """Registers ``sequence/audio_pose_generator``, ``local_temporal_critic``, ``global_content_critic``
    and the losses ``wgan_gp_critic``, ``wgan_generator``, ``pose_rotation_l1``, ``pose_translation_l1``,
    ``pose_smoothness``."""
    from . import register

    register(registry)
