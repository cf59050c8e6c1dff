"""The mouth PCA (``emoportraits_plugins.speech``): the mouth measures, the fit's criterion on latents
with a known mouth direction, the file (round trip, errors), project/reconstruct, and the loss
``mouth_pca`` (conformance with a random basis and with a fitted file, values, build errors)."""

from __future__ import annotations

import warnings

import pytest
import torch
from conftest import plugin_registry
from safetensors.torch import save_file

from emoportraits_conformance import conformance_tests
from emoportraits_conformance.contracts import checks_for
from emoportraits_conformance.contracts._base import NotApplicable
from emoportraits_core import ConfigError, InputError, Registry
from emoportraits_plugins import ops, speech
from emoportraits_plugins.speech import MouthPCA, fit_mouth_pca, mouth_measures


@pytest.fixture(scope="module")
def speech_registry() -> Registry:
    return plugin_registry(ops, speech)  # the speech plugin registers ops of the project's kind op


@pytest.fixture(autouse=True)
def _quiet_random_basis():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*no PCA file configured.*")
        yield


def _face(opening: float, width: float) -> torch.Tensor:
    """68 landmarks (x, y, z) with eye corners 36/45 at distance 0.8 and the given mouth."""
    lm = torch.zeros(68, 3)
    lm[36, :2], lm[45, :2] = torch.tensor([-0.4, -0.2]), torch.tensor([0.4, -0.2])
    lm[62, :2], lm[66, :2] = torch.tensor([0.0, 0.4]), torch.tensor([0.0, 0.4 + opening])
    lm[48, :2], lm[54, :2] = torch.tensor([-width / 2, 0.45]), torch.tensor([width / 2, 0.45])
    return lm


def _synthetic(n: int = 200, dim: int = 12, seed: int = 0):
    """Latents whose largest variance is NOT the mouth: a loud nuisance axis, then an opening axis and a
    width axis (orthonormal, random directions), plus small noise."""
    gen = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=gen, dtype=torch.float64))
    nuisance, open_axis, width_axis = q[:, 0], q[:, 1], q[:, 2]
    opening = torch.rand(n, generator=gen, dtype=torch.float64) * 0.3
    width = 0.6 + torch.rand(n, generator=gen, dtype=torch.float64) * 0.2
    loud = torch.randn(n, generator=gen, dtype=torch.float64) * 5.0
    latents = (
        loud[:, None] * nuisance
        + (opening - opening.mean())[:, None] * 10 * open_axis
        - (width - width.mean())[:, None] * 10 * width_axis
        + 0.01 * torch.randn(n, dim, generator=gen, dtype=torch.float64)
        + 3.0
    )
    landmarks = torch.stack([_face(float(o), float(w)) for o, w in zip(opening, width)])
    return latents.float(), landmarks, open_axis.float(), width_axis.float()


def test_mouth_measures_are_normalised_by_the_eyes():
    lm = _face(0.2, 0.6)
    torch.testing.assert_close(mouth_measures(lm), torch.tensor([0.25, 0.75]))
    torch.testing.assert_close(mouth_measures(lm * 3), torch.tensor([0.25, 0.75]))  # scale-free
    assert mouth_measures(torch.stack([lm, lm])[None]).shape == (1, 2, 2)


def test_the_fit_picks_the_mouth_axes_not_the_loudest():
    latents, landmarks, open_axis, width_axis = _synthetic()
    pca = fit_mouth_pca(latents, mouth_measures(landmarks), components=4)
    assert pca.dim == 12 and pca.num_components == 4 and len(pca.scores) == 12  # min(N - 1, D)
    assert int(pca.order[0]) != 0  # the first principal component is the nuisance
    best_two = {int(i) for i in pca.order[:2]}
    assert best_two == {1, 2} and float(pca.scores[0]) < 0.2
    assert float(pca.scores[pca.order[0]]) > 0.99 and float(pca.scores[pca.order[1]]) > 0.99
    # the axes are the generating directions, oriented to + opening / + width
    axes = {int(pca.correlations[i].abs().argmax()): pca.components[k] for k, i in enumerate(pca.order[:2])}
    assert float(axes[0] @ open_axis) > 0.99
    assert float(axes[1] @ -width_axis) > 0.99
    torch.testing.assert_close(pca.components @ pca.components.T, torch.eye(4), atol=1e-5, rtol=0)
    assert (pca.explained_variance[:-1] >= pca.explained_variance[1:]).all()
    torch.testing.assert_close(pca.mean, latents.mean(0), atol=1e-5, rtol=0)


def test_the_fit_is_deterministic_and_sign_stable():
    latents, landmarks, *_ = _synthetic(seed=1)
    a = fit_mouth_pca(latents, mouth_measures(landmarks), components=3)
    b = fit_mouth_pca(-latents, mouth_measures(landmarks), components=3)  # every SVD sign flipped
    assert torch.equal(a.order, b.order)
    torch.testing.assert_close(a.project(latents), b.project(-latents), atol=1e-4, rtol=0)  # same orientation
    assert (a.correlations[a.order].abs().max(1).values > 0).all()
    assert (a.correlations.gather(1, a.correlations.abs().argmax(1, keepdim=True)) >= 0).all()


def test_too_few_frames_or_too_many_components():
    latents, landmarks, *_ = _synthetic(n=8)
    with pytest.raises(InputError, match=r"8 frame\(s\) with landmarks; need at least 9 for 8 components"):
        fit_mouth_pca(latents, mouth_measures(landmarks), components=8)
    with pytest.raises(InputError, match="--components 13 exceeds the expression latent's size 12"):
        fit_mouth_pca(latents, mouth_measures(landmarks), components=13)
    pca = fit_mouth_pca(latents, mouth_measures(landmarks), components=7)  # N - 1 = 7 axes with variance
    assert len(pca.scores) == 7


def test_file_round_trip_project_and_reconstruct(tmp_path):
    latents, landmarks, *_ = _synthetic()
    pca = fit_mouth_pca(latents, mouth_measures(landmarks), components=4, metadata={"preset": "test"})
    path = tmp_path / "pca.safetensors"
    pca.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["pca.safetensors"]  # no temporary left
    loaded = MouthPCA.load(path)
    for name in ("mean", "components", "order", "scores", "explained_variance", "correlations"):
        assert torch.equal(getattr(loaded, name), getattr(pca, name)), name
    assert loaded.metadata["preset"] == "test" and loaded.metadata["frames"] == "200"
    assert "corr(pc score, opening)" in loaded.metadata["criterion"]
    z = latents[:5].reshape(5, 1, 12)
    coords = loaded.project(z)
    assert coords.shape == (5, 1, 4) and loaded.project(z, 2).shape == (5, 1, 2)
    torch.testing.assert_close(loaded.project(loaded.reconstruct(coords)), coords, atol=1e-4, rtol=0)
    torch.testing.assert_close(loaded.project(z.double()), coords.double(), atol=1e-4, rtol=0)


def test_file_errors_are_one_line(tmp_path):
    latents, landmarks, *_ = _synthetic()
    pca = fit_mouth_pca(latents, mouth_measures(landmarks), components=4)
    path = tmp_path / "pca.safetensors"
    pca.save(path)
    loaded = MouthPCA.load(path)
    with pytest.raises(
        InputError, match=r"pca.safetensors: fit on 12-d expression latents, got latents of size 16"
    ):
        loaded.project(torch.randn(3, 16))
    with pytest.raises(InputError, match="asked for 5 mouth components, the file has 4"):
        loaded.project(torch.randn(3, 12), 5)
    with pytest.raises(InputError, match="no such mouth PCA file"):
        MouthPCA.load(tmp_path / "missing.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(InputError, match="not a readable safetensors file"):
        MouthPCA.load(tmp_path / "junk.safetensors")
    save_file(
        {"mean": torch.zeros(3)}, str(tmp_path / "other.safetensors"), metadata={"format": "emoportraits/1"}
    )
    with pytest.raises(InputError, match=r"format 'emoportraits/1', not 'emoportraits\.mouth_pca'"):
        MouthPCA.load(tmp_path / "other.safetensors")
    meta = {"format": "emoportraits.mouth_pca", "format_version": "1"}
    save_file({"mean": torch.zeros(3)}, str(tmp_path / "partial.safetensors"), metadata=meta)
    with pytest.raises(InputError, match="missing tensor"):
        MouthPCA.load(tmp_path / "partial.safetensors")


# -- the loss ---------------------------------------------------------------------------------------

test_loss_conformance_random_basis = conformance_tests(
    "loss", "mouth_pca", registry="speech_registry", preset="tiny"
)


@pytest.fixture(scope="module")
def pca_file(tmp_path_factory):
    latents, landmarks, *_ = _synthetic(dim=16)
    path = tmp_path_factory.mktemp("pca") / "mouth_pca.safetensors"
    fit_mouth_pca(latents, mouth_measures(landmarks), components=8).save(path)
    return path


def test_loss_conformance_with_a_fitted_file(speech_registry, pca_file):
    ran = 0
    for check in checks_for("loss"):
        try:
            check.run(
                lambda: speech_registry.create("loss", "mouth_pca", preset="tiny", pca=str(pca_file), n=4)
            )
            ran += 1
        except NotApplicable:
            pass
    assert ran >= 10


def test_loss_is_l1_on_the_first_n_mouth_coordinates(speech_registry, pca_file):
    loss = speech_registry.create("loss", "mouth_pca", pca=str(pca_file), n=3, dim=16)
    pca = MouthPCA.load(pca_file)
    pred, target = torch.randn(2, 5, 16), torch.randn(2, 5, 16)  # a latent sequence (B, T, D)
    expected = (pca.project(pred, 3) - pca.project(target, 3)).abs().mean()
    torch.testing.assert_close(loss(pred=pred, target=target), expected, atol=1e-5, rtol=1e-5)
    # a change orthogonal to the mouth axes costs nothing
    outside = torch.randn(16)
    outside = outside - pca.basis(3).T @ (pca.basis(3) @ outside)
    assert float(loss(pred=target + outside, target=target)) < 1e-5


def test_loss_build_errors(speech_registry, tmp_path, pca_file):
    with pytest.raises(ConfigError, match=r"loss mouth_pca: .*missing.safetensors: no such mouth PCA file"):
        speech_registry.create("loss", "mouth_pca", pca=str(tmp_path / "missing.safetensors"))
    with pytest.raises(
        ConfigError, match="fit on 16-d expression latents, got the loss mouth_pca's dim of size 128"
    ):
        speech_registry.create("loss", "mouth_pca", pca=str(pca_file))  # release dim, tiny file
    with pytest.raises(ConfigError, match="asked for 9 mouth components, the file has 8"):
        speech_registry.create("loss", "mouth_pca", preset="tiny", pca=str(pca_file), n=9)
    loss = speech_registry.create("loss", "mouth_pca", preset="tiny", pca=str(pca_file))
    with pytest.raises(InputError, match=r"pred and target must be \(B, \.\.\., 16\)"):
        loss(pred=torch.randn(2, 16), target=torch.randn(2, 12))
