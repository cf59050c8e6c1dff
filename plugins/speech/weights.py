"""The weights of the speech modes: the image model's checkpoint joined with a speech run's E_aud.

``emoportraits speak`` / ``blend`` take the image model (``--checkpoint``, e.g. the converted release)
and E_aud (``--speech-checkpoint``: a project checkpoint holding a component registered as
``emoportraits_audio_expression_encoder``, such as a ``train_speech`` run's ``model.safetensors``,
under any key). :func:`speech_weights` gives one in-memory checkpoint with E_aud under the pipelines'
key ``audio_expression`` and the overrides that give that component the trained config.
"""

from __future__ import annotations

from emoportraits_core.checkpoint import Checkpoint, read_checkpoint
from emoportraits_core.errors import CheckpointError

from ..evaluate.overrides import toml_value

__all__ = ["AUDIO_EXPRESSION", "speech_weights"]

#: the key of E_aud in the speak and blend pipelines.
AUDIO_EXPRESSION = "audio_expression"
_NAMES = ("emoportraits_audio_expression_encoder", "emoportraits_audio_expression_stream")


def speech_weights(image: str, speech: str) -> tuple[Checkpoint, list[str]]:
    """``(checkpoint, overrides)``: the image checkpoint plus E_aud of ``speech`` as
    ``audio_expression.*``, and ``--set`` overrides with E_aud's recorded config.

    Raises:
        CheckpointError: unreadable files, or no E_aud in ``speech``.
    """
    base, extra = read_checkpoint(image), read_checkpoint(speech)
    keys = [k for k, meta in extra.components.items() if meta.get("name") in _NAMES]
    if not keys:
        held = ", ".join(f"{k} ({m.get('name')})" for k, m in extra.components.items()) or "nothing"
        raise CheckpointError(
            f"{speech}: no audio expression encoder (E_aud) in this checkpoint (it holds {held}); "
            "expected a train_speech run's model.safetensors"
        )
    key = keys[0]
    tensors = dict(base.tensors)
    tensors.update(
        {
            f"{AUDIO_EXPRESSION}.{k.removeprefix(key + '.')}": v
            for k, v in extra.tensors.items()
            if k.startswith(key + ".")
        }
    )
    meta = dict(extra.components[key])
    components = {**base.components, AUDIO_EXPRESSION: {**meta, "name": _NAMES[1]}}
    overrides = [f"components.{AUDIO_EXPRESSION}.config={toml_value(dict(meta.get('config', {})))}"]
    return Checkpoint(tensors, components, dict(base.metadata)), overrides
