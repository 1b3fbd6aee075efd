"""Repacking the YOLOv12 fork's attention (qk + v) into stock ultralytics' qkv."""

from __future__ import annotations

from pathlib import Path

import pytest

from atalaia.export.fork_attention import (
    is_fork_attention,
    qkv_row_order,
    repack_fork_attention,
    stock_attention_from_fork,
)

from .conftest import helmet_checkpoint, needs_export_extra
from .fork_reference import fork_forward


def test_qkv_rows_are_grouped_per_head() -> None:
    # concat(qk, v) rows for 2 heads of 2: q = 0..3, k = 4..7, v = 8..11.
    assert qkv_row_order(2, 2) == [0, 1, 4, 5, 8, 9, 2, 3, 6, 7, 10, 11]
    assert sorted(qkv_row_order(8, 32)) == list(range(3 * 256))


@pytest.fixture(scope="module")
def fork_model() -> object:
    needs_export_extra()
    torch = pytest.importorskip("torch")
    saved = torch.load(helmet_checkpoint(), map_location="cpu", weights_only=False)
    model = saved["ema"] if saved.get("ema") is not None else saved["model"]
    return model.float().eval()


def test_each_repacked_block_computes_what_the_fork_block_computes(fork_model: object) -> None:
    torch = pytest.importorskip("torch")
    blocks = [m for m in fork_model.modules() if is_fork_attention(m)]  # type: ignore[attr-defined]
    assert len(blocks) == 8
    generator = torch.Generator().manual_seed(12)
    for index, block in enumerate(blocks):
        stock = stock_attention_from_fork(block, f"block {index}").eval()
        assert not is_fork_attention(stock)
        assert stock.qkv.conv.out_channels == 3 * 256
        x = torch.randn(2, block.qk.conv.in_channels, 20, 24, generator=generator)
        with torch.no_grad():
            expected, got = fork_forward(torch, block)(x), stock(x)
        assert torch.allclose(got, expected, atol=1e-4, rtol=1e-4), (
            f"block {index}: max difference {(got - expected).abs().max().item()}"
        )


def test_repacking_a_model_replaces_every_fork_block(tmp_path: Path) -> None:
    needs_export_extra()
    torch = pytest.importorskip("torch")
    saved = torch.load(helmet_checkpoint(), map_location="cpu", weights_only=False)
    model = saved["model"].float().eval()
    assert repack_fork_attention(model) == 8
    assert not any(is_fork_attention(m) for m in model.modules())
    assert repack_fork_attention(model) == 0  # nothing left to do the second time
    with torch.no_grad():
        (out, _) = model(torch.zeros(1, 3, 320, 320))
    assert tuple(out.shape) == (1, 6, 2100)
