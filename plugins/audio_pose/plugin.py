"""The audio -> head-pose plugin's hooks, so that it can be its own ``emoportraits`` entry point
(like :mod:`emoportraits_plugins.motion.plugin`): the kind ``sequence``, the generator, the two critics
(and their training nodes), the GAN's losses and its dataset."""

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
    (and their training nodes ``local_temporal_critic_gp``, ``global_content_critic_gp``), the losses
    ``wgan_gp_critic``, ``wgan_generator``, ``pose_rotation_l1``, ``pose_translation_l1``,
    ``pose_smoothness`` and the dataset ``pose_clips``."""
    from . import register

    register(registry)
