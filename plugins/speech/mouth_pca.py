"""The mouth PCA: principal axes of the expression latent that move with the mouth (L_PCA's basis).

The speech losses compare latents on "the first n principal components related to mouth movement"
(supplementary section 2.3, n = 8). Which PCA and how its components are chosen is not published
(TRAINING_FACTS section 6); :mod:`.fit_mouth_pca` fits one (``emoportraits fit-mouth-pca``) and states
its criterion; this module holds the result and its file.

File (safetensors, written atomically; P = principal components kept by the fit, K = saved ones)::

    mean                (D,)    f32    the latents' mean
    components          (K, D)  f32    unit axes, best mouth score first (orthonormal rows)
    order               (K,)    i64    index of each saved axis among the P (variance order)
    scores              (P,)    f32    mouth score of every principal component, variance order
    explained_variance  (P,)    f32    variance of the latents along each, variance order
    correlations        (P, 2)  f32    corr(pc score, mouth opening), corr(pc score, mouth width)

Metadata: ``format`` = ``emoportraits.mouth_pca``, ``format_version``, ``criterion``, ``measures``,
``preset``, ``frames``, ``latent_dim``, ``components``, ``weights``, ``data`` (JSON list).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import attrs
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import Tensor

from emoportraits_core.errors import InputError
from emoportraits_core.io.atomic import atomic_output

__all__ = ["FORMAT", "FORMAT_VERSION", "MouthPCA"]

FORMAT = "emoportraits.mouth_pca"
FORMAT_VERSION = 1
_TENSORS = ("mean", "components", "order", "scores", "explained_variance", "correlations")
_EXPECTED = "expected a file written by `emoportraits fit-mouth-pca`"


@attrs.frozen(eq=False)
class MouthPCA:
    """A fitted mouth PCA (fields: the module's file table); ``metadata`` string entries; ``source``:
    the file it was read from (for messages), or ``""``."""

    mean: Tensor
    components: Tensor
    order: Tensor
    scores: Tensor
    explained_variance: Tensor
    correlations: Tensor
    metadata: Mapping[str, str] = attrs.field(factory=dict)
    source: str = ""

    def __attrs_post_init__(self) -> None:
        d, k, p = self.mean.shape[-1], self.components.shape[0], self.scores.shape[0]
        expected = {
            "mean": (d,),
            "components": (k, d),
            "order": (k,),
            "scores": (p,),
            "explained_variance": (p,),
            "correlations": (p, 2),
        }
        for name, shape in expected.items():
            got = tuple(getattr(self, name).shape)
            if got != shape:
                raise InputError(
                    f"{self._where}: '{name}' has shape {got}, expected {shape} (D={d}, K={k}, P={p})"
                )

    @property
    def _where(self) -> str:
        return self.source or "mouth PCA"

    @property
    def dim(self) -> int:
        """D, the size of the latents it was fit on."""
        return int(self.mean.shape[0])

    @property
    def num_components(self) -> int:
        """K, the saved mouth components."""
        return int(self.components.shape[0])

    def basis(self, n: int | None = None) -> Tensor:
        """The first ``n`` (default all K) mouth axes ``(n, D)``; InputError if ``n > K``."""
        n = self.num_components if n is None else n
        if not 1 <= n <= self.num_components:
            raise InputError(
                f"{self._where}: asked for {n} mouth components, the file has {self.num_components}"
            )
        return self.components[:n]

    def check_dim(self, dim: int, what: str = "latents") -> None:
        """InputError unless ``dim`` is D (e.g. a 16-d tiny latent against a 128-d release PCA)."""
        if dim != self.dim:
            raise InputError(
                f"{self._where}: fit on {self.dim}-d expression latents, got {what} of size {dim} "
                "(fit the PCA with the motion encoder of the same model)"
            )

    def project(self, z: Tensor, n: int | None = None) -> Tensor:
        """``z (..., D)`` -> coordinates ``(..., n)`` on the first ``n`` (default K) mouth axes:
        ``(z - mean) @ basis.T``, in ``z``'s dtype and device."""
        self.check_dim(z.shape[-1])
        basis = self.basis(n).to(z)
        return (z - self.mean.to(z)) @ basis.T

    def reconstruct(self, coords: Tensor) -> Tensor:
        """Coordinates ``(..., n)`` on the first ``n <= K`` mouth axes -> latents ``(..., D)``:
        ``mean + coords @ basis`` (the latent's part in the mouth subspace; ``project`` inverts it)."""
        basis = self.basis(coords.shape[-1]).to(coords)
        return self.mean.to(coords) + coords @ basis

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the file (atomically: it appears whole or not at all)."""
        tensors = {name: getattr(self, name).detach().cpu().contiguous() for name in _TENSORS}
        meta = {**{k: str(v) for k, v in self.metadata.items()}, "format": FORMAT}
        meta["format_version"] = str(FORMAT_VERSION)
        with atomic_output(path) as tmp:
            save_file(tensors, str(tmp), metadata=meta)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> MouthPCA:
        """Read a file of :meth:`save`.

        Raises:
            InputError: no such file, not safetensors, another format, a newer version, missing or
                inconsistent tensors.
        """
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: no such mouth PCA file; {_EXPECTED}")
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = dict(f.metadata() or {})
                keys = set(f.keys())
                tensors = {k: f.get_tensor(k) for k in _TENSORS if k in keys}
        except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
            raise InputError(f"{path}: not a readable safetensors file ({exc}); {_EXPECTED}") from None
        if meta.get("format") != FORMAT:
            raise InputError(f"{path}: format {meta.get('format')!r}, not '{FORMAT}'; {_EXPECTED}")
        version = meta.get("format_version", "")
        if not version.isdigit() or int(version) > FORMAT_VERSION:
            raise InputError(
                f"{path}: mouth PCA format version {version!r}, newer than this emoportraits reads "
                f"({FORMAT_VERSION}); upgrade emoportraits"
            )
        missing = [k for k in _TENSORS if k not in tensors]
        if missing:
            raise InputError(f"{path}: missing tensor(s) {', '.join(missing)}; {_EXPECTED}")
        return cls(**{k: tensors[k] for k in _TENSORS}, metadata=meta, source=str(path))
