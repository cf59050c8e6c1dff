"""The component set of the released model, as named in ``pipelines/animate.toml``.

Component name -> (kind, registry name, config values). The converter writes these configs into
the checkpoint it makes; a test checks that the shipped animate pipeline uses the same ones.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RELEASE_COMPONENTS"]

RELEASE_COMPONENTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "appearance_encoder": ("encoder", "emoportraits_appearance_encoder", {}),
    "identity_encoder": ("encoder", "emoportraits_identity_encoder", {}),
    "motion_encoder": ("encoder", "emoportraits_motion_encoder", {}),
    "warp_embedder": ("embedder", "emoportraits_warp_embedder", {}),
    "source_warper": ("warper", "emoportraits_warp_generator", {"direction": "to_canonical"}),
    "source_volume": ("volume", "emoportraits_volume_resblocks", {}),
    "canonical_volume": ("volume", "emoportraits_g3d", {}),
    "driver_warper": ("warper", "emoportraits_warp_generator", {"direction": "from_canonical"}),
    "renderer": ("renderer", "emoportraits_renderer", {}),
}
