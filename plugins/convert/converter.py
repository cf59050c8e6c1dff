"""``emoportraits convert``: the released checkpoint -> one strict safetensors checkpoint.

Steps: read both released files safely (:mod:`.official`); fold spectral norm and weight
standardisation (:mod:`.reparam`); map every key through the explicit key map (:mod:`.keymap`,
tables in ``keymap_*.py``); check the result against the release-configured components, key by
key and shape by shape; write ``<component>.<param>`` tensors plus the component configs
(:mod:`emoportraits_core.checkpoint`), atomically.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import attrs
import torch
from torch import Tensor

from emoportraits_core.checkpoint import save_checkpoint
from emoportraits_core.config import config_to_dict
from emoportraits_core.errors import CheckpointError
from emoportraits_core.registry import Registry

from .keymap import KeyRule, apply_rules, is_ignored
from .official import read_state_dict
from .release import RELEASE_COMPONENTS
from .reparam import resolve_reparametrizations

__all__ = ["ConversionReport", "all_rules", "convert", "expected_state"]


@attrs.frozen
class ConversionReport:
    """What a conversion did."""

    output: Path
    num_tensors: int
    num_values: int
    ignored: list[str]
    derived: list[str]


def all_rules() -> list[KeyRule]:
    """Every key rule of every released network."""
    from .keymap_encoders import RULES as ENCODER_RULES
    from .keymap_volumes import RULES as VOLUME_RULES

    return [*ENCODER_RULES, *VOLUME_RULES]


def release_components(registry: Registry) -> dict[str, dict]:
    """``{component: {"kind", "name", "config"}}`` with the resolved release configs."""
    out = {}
    for comp, (kind, name, values) in RELEASE_COMPONENTS.items():
        config = registry.make_config(kind, name, values)
        out[comp] = {"kind": kind, "name": name, "config": config_to_dict(config)}
    return out


def expected_state(registry: Registry) -> dict[str, torch.Size]:
    """``{component.param: shape}`` of the release-configured components (built on the meta device)."""
    shapes: dict[str, torch.Size] = {}
    with torch.device("meta"):
        for comp, (kind, name, values) in RELEASE_COMPONENTS.items():
            module = registry.create(kind, name, **values)
            shapes.update({f"{comp}.{k}": v.shape for k, v in module.state_dict().items()})
    return shapes


def _check_against(
    mapped: dict[str, Tensor],
    unmatched: list[tuple[str, Tensor]],
    expected: dict[str, torch.Size],
    where: str,
) -> None:
    problems = []
    for key, value in unmatched:
        problems.append(f"unexpected key '{key}' (shape {tuple(value.shape)}), not in the released layout")
    missing = [k for k in expected if k not in mapped]
    problems += [f"missing key for '{k}' (expected shape {tuple(expected[k])})" for k in missing[:3]]
    if len(missing) > 3:
        problems.append(f"and {len(missing) - 3} more missing")
    for key, value in mapped.items():
        if key not in expected:
            problems.append(f"key '{key}' is not a parameter of the release components")
        elif tuple(value.shape) != tuple(expected[key]):
            problems.append(f"key '{key}' has shape {tuple(value.shape)}, expected {tuple(expected[key])}")
    if problems:
        raise CheckpointError(
            f"{where}: "
            + "; ".join(problems[:4])
            + (f"; ... ({len(problems)} problems)" if len(problems) > 4 else "")
        )


def convert(
    released: str | os.PathLike[str],
    head_pose: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    registry: Registry,
    log: Callable[[str], None] = lambda _msg: None,
) -> ConversionReport:
    """Convert the released model file and the head-pose regressor file into ``output``.

    Raises:
        CheckpointError: unreadable file, or a missing, unexpected or wrongly shaped key (named,
            with the shape seen and the shape expected). Nothing is written then.
    """
    released, head_pose = Path(released), Path(head_pose)
    log(f"reading {released}")
    main = read_state_dict(released, what="the released EMOPortraits model file (e.g. 328_model.pth)")
    log(f"reading {head_pose}")
    hpr = read_state_dict(head_pose, what="the head-pose regressor file (head_pose_regressor.pth)")
    ignored = [k for k in main if is_ignored(k)]
    main = resolve_reparametrizations(
        {k: v for k, v in main.items() if k not in ignored}, where=str(released)
    )
    rules = all_rules()
    main_map = apply_rules(main, rules, source="main", where=str(released))
    hpr_map = apply_rules(hpr, rules, source="head_pose", where=str(head_pose))
    expected = expected_state(registry)
    main_expected = {k: v for k, v in expected.items() if not k.startswith("motion_encoder.head_pose.")}
    hpr_expected = {k: v for k, v in expected.items() if k.startswith("motion_encoder.head_pose.")}
    _check_against(main_map.tensors, [(k, main[k]) for k in main_map.unmatched], main_expected, str(released))
    _check_against(hpr_map.tensors, [(k, hpr[k]) for k in hpr_map.unmatched], hpr_expected, str(head_pose))
    tensors = {
        k: (v if not v.is_floating_point() else v.float())
        for k, v in {**main_map.tensors, **hpr_map.tensors}.items()
    }
    log(f"writing {output} ({len(tensors)} tensors)")
    save_checkpoint(
        output,
        tensors,
        release_components(registry),
        {"converted_from": f"{released.name} + {head_pose.name}", "ignored_keys": ",".join(ignored)},
    )
    return ConversionReport(
        Path(output),
        len(tensors),
        sum(t.numel() for t in tensors.values()),
        ignored,
        sorted(main_map.derived),
    )
