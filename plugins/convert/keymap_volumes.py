"""Key map of the appearance / warp / volume / rendering networks of the released checkpoint.

Official groups (keys after :mod:`.reparam`) -> components of ``pipelines/animate.toml``:

=========================== ==============================================================
official                    ours
=========================== ==============================================================
``local_encoder_nw``        ``appearance_encoder`` (stem, blocks.i, norm, to_volume)
``pose_unsqueeze_nw``       ``warp_embedder.expression_proj``
``warp_embed_head_orig_nw`` ``warp_embedder.head``
``xy_generator_nw``         ``source_warper`` (first_conv, blocks.i, projector, pre_head_norm, head)
``uv_generator_nw``         ``driver_warper`` (same layout)
``volume_source_nw``        ``source_volume`` (blocks.i)
``volume_process_nw``       ``canonical_volume`` (input_tensor, down_blocks.i, skip_blocks.i,
                            up_blocks.i, head_norm, head_conv)
``decoder_nw``              ``renderer`` (project, blocks.i, up_blocks.i, head_norm, head_conv)
=========================== ==============================================================

Res blocks map through :func:`~.keymap.resblock_rules`. The warp generators' ``identity_grid``
buffers are DERIVED (:data:`~.keymap.DERIVED`); :func:`derived_buffers` gives the values our
components compute, in the official layout, for the converter to compare.
"""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor, nn

from emoportraits_core.geometry import grid_to_volume

from .keymap import KeyRule, resblock_rules

__all__ = ["RULES", "derived_buffers"]

_WB = r"(weight|bias)"
#: Number of trunk res blocks of the released decoder (``res_decoder.1`` .. ``res_decoder.6``).
_DECODER_BLOCKS = 6
_WARPERS = (("xy", "source_warper"), ("uv", "driver_warper"))


def _appearance_rules() -> list[KeyRule]:
    p = r"local_encoder_nw\."
    return [
        KeyRule(rf"{p}from_rgb_512px\.{_WB}", r"appearance_encoder.stem.\1"),
        *resblock_rules(rf"{p}enc_(\d+)_block=\d+px", r"appearance_encoder.blocks.\1"),
        KeyRule(rf"{p}finale_layers\.0\.{_WB}", r"appearance_encoder.norm.\1"),
        KeyRule(rf"{p}finale_layers\.2\.{_WB}", r"appearance_encoder.to_volume.\1"),
    ]


def _embedder_rules() -> list[KeyRule]:
    return [
        KeyRule(r"pose_unsqueeze_nw\.weight", "warp_embedder.expression_proj.weight"),
        KeyRule(r"warp_embed_head_orig_nw\.weight", "warp_embedder.head.weight"),
    ]


def _warper_rules(official: str, ours: str) -> list[KeyRule]:
    p = rf"{official}_generator_nw\."
    return [
        KeyRule(rf"{p}first_conv\.weight", f"{ours}.first_conv.weight"),
        *resblock_rules(rf"{p}blocks_3d\.(\d+)", rf"{ours}.blocks.\1"),
        KeyRule(rf"{p}projector\.(u|v)\.(\d+)", rf"{ours}.projector.\1.\2"),
        KeyRule(rf"{p}pre_head\.0\.{_WB}", rf"{ours}.pre_head_norm.\1"),
        KeyRule(rf"{p}head\.0\.0\.{_WB}", rf"{ours}.head.\1"),
    ]


def _volume_rules() -> list[KeyRule]:
    p = r"volume_process_nw\."
    return [
        *resblock_rules(r"volume_source_nw\.net\.net\.(\d+)", r"source_volume.blocks.\1"),
        KeyRule(rf"{p}input_tensor", "canonical_volume.input_tensor"),
        *resblock_rules(rf"{p}blocks_3d_down\.(\d+)", r"canonical_volume.down_blocks.\1"),
        *resblock_rules(rf"{p}skip_blocks_3d_up\.(\d+)", r"canonical_volume.skip_blocks.\1"),
        *resblock_rules(rf"{p}blocks_3d_up\.(\d+)", r"canonical_volume.up_blocks.\1"),
        KeyRule(rf"{p}head\.0\.{_WB}", r"canonical_volume.head_norm.\1"),
        KeyRule(rf"{p}head\.2\.{_WB}", r"canonical_volume.head_conv.\1"),
    ]


def _renderer_rules() -> list[KeyRule]:
    p = r"decoder_nw\."
    trunk = [  # official res_decoder.0 is the 1x1 projection, .1-.6 the res blocks
        rule
        for i in range(_DECODER_BLOCKS)
        for rule in resblock_rules(rf"{p}res_decoder\.{i + 1}", f"renderer.blocks.{i}")
    ]
    return [
        KeyRule(rf"{p}res_decoder\.0\.weight", "renderer.project.weight"),
        *trunk,
        *resblock_rules(rf"{p}img_decoder\.dec_img_blocks\.(\d+)", r"renderer.up_blocks.\1"),
        KeyRule(rf"{p}img_decoder\.dec_img_head\.0\.{_WB}", r"renderer.head_norm.\1"),
        KeyRule(rf"{p}img_decoder\.dec_img_head\.2\.{_WB}", r"renderer.head_conv.\1"),
    ]


#: Every rule of these networks, in matching order.
RULES: list[KeyRule] = [
    *_appearance_rules(),
    *_embedder_rules(),
    *(rule for official, ours in _WARPERS for rule in _warper_rules(official, ours)),
    *_volume_rules(),
    *_renderer_rules(),
]


def derived_buffers(components: Mapping[str, nn.Module]) -> dict[str, Tensor]:
    """Official derived buffers as our components compute them, in the official layout.

    ``components``: component name -> module (at least ``source_warper`` / ``driver_warper``;
    missing ones are skipped). Returns e.g. ``{"xy_generator_nw.identity_grid": (1, 3, D, H, W)}``.
    """
    out = {}
    for official, ours in _WARPERS:
        if ours in components:
            grid = components[ours].identity_grid  # (D, H, W, 3)
            out[f"{official}_generator_nw.identity_grid"] = grid_to_volume(grid[None]).contiguous()
    return out
