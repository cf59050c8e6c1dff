"""PSNR, SSIM, L1 (whole and masked) on hand-made images with known values; the report's table."""

from __future__ import annotations

import math

import pytest
import torch

from emoportraits_plugins.evaluate import metrics as M
from emoportraits_plugins.evaluate.report import better, format_table


def _const(value: float, size: int = 16) -> torch.Tensor:
    return torch.full((1, 3, size, size), value, dtype=torch.float64)


def test_identical_images():
    x = torch.rand(2, 3, 24, 24, generator=torch.Generator().manual_seed(0))
    assert torch.equal(M.ssim(x, x), torch.ones(2, dtype=torch.float64))
    assert torch.isinf(M.psnr(x, x)).all() and torch.equal(
        M.psnr(x, x, max_db=100.0), torch.full((2,), 100.0, dtype=torch.float64)
    )
    assert torch.equal(M.l1(x, x), torch.zeros(2, dtype=torch.float64))


def test_constant_images_have_closed_forms():
    a, b = 0.25, 0.75
    x, y = _const(a), _const(b)
    assert M.l1(x, y).item() == pytest.approx(0.5)
    assert M.psnr(x, y).item() == pytest.approx(10 * math.log10(1 / 0.25))  # 6.0206 dB
    expected = (2 * a * b + M.SSIM_C1) / (a * a + b * b + M.SSIM_C1)  # no variance: luminance only
    assert M.ssim(x, y).item() == pytest.approx(expected, rel=1e-12)


def test_psnr_of_a_known_mse():
    x = _const(0.5)
    y = x.clone()
    y[..., ::2, :] += 0.1  # half the pixels off by 0.1: MSE 0.005
    assert M.psnr(x, y).item() == pytest.approx(10 * math.log10(1 / 0.005))


def _ssim_reference(x: torch.Tensor, y: torch.Tensor) -> float:
    """SSIM by its definition, one window at a time (float64), for a (C, H, W) pair."""
    g1 = M.gaussian_window()
    w = torch.outer(g1, g1)
    k = M.SSIM_WINDOW
    vals = []
    for c in range(x.shape[0]):
        for i in range(x.shape[1] - k + 1):
            for j in range(x.shape[2] - k + 1):
                px, py = x[c, i : i + k, j : j + k], y[c, i : i + k, j : j + k]
                mx, my = (w * px).sum(), (w * py).sum()
                vx, vy = (w * (px - mx) ** 2).sum(), (w * (py - my) ** 2).sum()
                cxy = (w * (px - mx) * (py - my)).sum()
                vals.append(
                    ((2 * mx * my + M.SSIM_C1) * (2 * cxy + M.SSIM_C2))
                    / ((mx**2 + my**2 + M.SSIM_C1) * (vx + vy + M.SSIM_C2))
                )
    return float(torch.stack(vals).mean())


def test_ssim_matches_the_definition_window_by_window():
    gen = torch.Generator().manual_seed(1)
    x = torch.rand(3, 14, 15, generator=gen, dtype=torch.float64)
    y = (x + 0.2 * torch.randn(3, 14, 15, generator=gen, dtype=torch.float64)).clamp(0, 1)
    assert M.ssim(x[None], y[None]).item() == pytest.approx(_ssim_reference(x, y), rel=1e-10)
    assert M.ssim(x[None], y[None]).item() == pytest.approx(M.ssim(y[None], x[None]).item(), rel=1e-12)


def test_masks_weight_pixels():
    x, y = _const(0.5), _const(0.5)
    y[..., :, 8:] = 1.0  # the right half differs by 0.5
    left = torch.zeros(1, 1, 16, 16, dtype=torch.float64)
    left[..., :, :8] = 1.0
    assert M.l1(x, y, left).item() == 0.0 and math.isinf(M.psnr(x, y, left).item())
    assert M.l1(x, y, 1 - left).item() == pytest.approx(0.5)
    soft = torch.full((1, 1, 16, 16), 0.25, dtype=torch.float64)
    soft[..., :, 8:] = 0.75  # differing half weighted 3:1 -> mean |d| = 0.5 * 0.75
    assert M.l1(x, y, soft).item() == pytest.approx(0.375)
    assert M.psnr(x, y, soft).item() == pytest.approx(10 * math.log10(1 / (0.25 * 0.75)))
    big = _const(0.5, 32)
    assert M.ssim(big, big, torch.rand(1, 1, 32, 32)).item() == pytest.approx(1.0)


def test_shape_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"at least 11 x 11, got \(8, 8\)"):
        M.ssim(_const(0.1, 8), _const(0.1, 8))
    with pytest.raises(ValueError, match="one shape"):
        M.l1(_const(0.1, 8), _const(0.1, 9))
    with pytest.raises(ValueError, match="mask"):
        M.psnr(_const(0.1), _const(0.1), torch.ones(1, 3, 16, 16))


def test_table_says_which_is_better():
    result = {
        "pairs": 2,
        "metrics": {
            "psnr_mask": {"model": 20.0, "baseline": 17.0, "higher_is_better": True, "pairs": 2},
            "akd": {"model": 5.0, "baseline": 4.0, "higher_is_better": False, "pairs": 1},
            "csim": {"model": None, "baseline": None, "higher_is_better": True, "pairs": 0},
        },
        "counts": {"output_no_face": 1},
        "notes": ["CSIM skipped: dlib is not installed"],
    }
    assert [better(r) for r in result["metrics"].values()] == ["model", "baseline", "-"]
    table = format_table(result, header="head")
    lines = table.splitlines()
    assert lines[0] == "head" and lines[1].split() == ["metric", "model", "copy-source", "better"]
    assert lines[2].split()[:4] == ["psnr_mask", "20.00", "17.00", "model"]
    assert "no face on 1 of 2 outputs" in table and "note: CSIM skipped" in table
