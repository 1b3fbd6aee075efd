"""YOLOv12 checkpoints trained with the paper authors' fork, made loadable by stock ultralytics.

The fork's area attention (`AAttn`) stores two 1x1 convolutions, `qk` (2C channels: all query
heads, then all key heads) and `v` (C channels), and a 5x5 depthwise position encoder on v.
Stock ultralytics names the same module `AAttn` but expects one `qkv` convolution whose 3C
channels are grouped per head (head 0's query, key and value, then head 1's, ...) and a 7x7
position encoder. Pickled fork modules therefore unpickle as stock `AAttn` objects carrying
`qk`/`v`, and fail at their first forward pass (`'AAttn' object has no attribute 'qkv'`).

The two compute the same function once the weights are rearranged:

- `qkv` rows = for each head h: q rows [h*d, (h+1)*d) of `qk`, k rows [C + h*d, C + (h+1)*d) of
  `qk`, v rows [h*d, (h+1)*d) of `v` (d the head size). Batch-norm statistics and affine
  parameters are per output channel, so they move with their rows.
- the 5x5 kernel zero-padded to 7x7 (with padding 3 instead of 2) gives the same output.

Everything else (scaling, softmax, areas, the residual `proj(x + pe(v))`) is the same in both.
Each repacked module is a fresh stock `AAttn` loaded with `strict=True`, so any shape the rules
above do not produce is an error, never a silently wrong model. torch is imported lazily: this
module is only used by `atalaia models export`.
"""

from __future__ import annotations

import importlib
from typing import Any

from atalaia.export.errors import ExportError

_BN_VECTORS = ("bn.weight", "bn.bias", "bn.running_mean", "bn.running_var")


def is_fork_attention(module: Any) -> bool:
    """Whether `module` is an area-attention block with the fork's separate qk and v."""
    return (
        type(module).__name__ == "AAttn"
        and hasattr(module, "qk")
        and hasattr(module, "v")
        and not hasattr(module, "qkv")
    )


def repack_fork_attention(model: Any) -> int:
    """Replace every fork attention block inside `model` (a torch module) by an equivalent
    stock one; return how many were replaced."""
    targets = [
        (name, module) for name, module in model.named_modules() if is_fork_attention(module)
    ]
    for name, module in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, stock_attention_from_fork(module, name))
    return len(targets)


def stock_attention_from_fork(fork: Any, name: str = "AAttn") -> Any:
    """A stock ultralytics `AAttn` computing what the fork module `fork` computes."""
    torch = importlib.import_module("torch")
    stock_class = importlib.import_module("ultralytics.nn.modules.block").AAttn
    heads, head_dim = int(fork.num_heads), int(fork.head_dim)
    channels = heads * head_dim
    dim = int(fork.qk.conv.in_channels)
    if fork.qk.conv.out_channels != 2 * channels or fork.v.conv.out_channels != channels:
        raise ExportError(
            f"{name}: attention with {heads} heads of {head_dim} has qk {fork.qk.conv.out_channels}"
            f" and v {fork.v.conv.out_channels} channels; expected {2 * channels} and {channels}"
        )
    stock = stock_class(dim, heads, int(fork.area))
    old = fork.state_dict()
    order = torch.tensor(qkv_row_order(heads, head_dim), dtype=torch.long)
    new: dict[str, Any] = {}
    for key in ("conv.weight", *_BN_VECTORS):
        new[f"qkv.{key}"] = torch.cat([old[f"qk.{key}"], old[f"v.{key}"]])[order].clone()
    new["qkv.bn.num_batches_tracked"] = old["qk.bn.num_batches_tracked"].clone()
    for key, value in old.items():
        if key.startswith("proj.") or key.startswith("pe."):
            new[key] = value.clone()
    new["pe.conv.weight"] = _pad_kernel(
        torch, old["pe.conv.weight"], int(stock.pe.conv.kernel_size[0]), name
    )
    try:
        stock.load_state_dict(new, strict=True)
    except RuntimeError as exc:
        raise ExportError(f"{name}: cannot map the fork's attention weights: {exc}") from None
    # Same normalisation constants as the fork's layers (eps, momentum), not the defaults.
    stock.qkv.bn.eps, stock.qkv.bn.momentum = fork.qk.bn.eps, fork.qk.bn.momentum
    stock.pe.bn.eps, stock.pe.bn.momentum = fork.pe.bn.eps, fork.pe.bn.momentum
    stock.proj.bn.eps, stock.proj.bn.momentum = fork.proj.bn.eps, fork.proj.bn.momentum
    return stock.to(dtype=old["qk.conv.weight"].dtype).train(fork.training)


def qkv_row_order(heads: int, head_dim: int) -> list[int]:
    """Rows of concat(qk, v) in stock `qkv` order: per head, its q, k and v rows."""
    channels = heads * head_dim
    order: list[int] = []
    for h in range(heads):
        rows = range(h * head_dim, (h + 1) * head_dim)
        order += [*rows, *(channels + r for r in rows), *(2 * channels + r for r in rows)]
    return order


def _pad_kernel(torch: Any, weight: Any, target: int, name: str) -> Any:
    """A depthwise kernel zero-padded to `target` x `target` (same output, wider padding)."""
    size = int(weight.shape[-1])
    if size > target or (target - size) % 2:
        raise ExportError(
            f"{name}: position encoder kernel {size}x{size} cannot become the stock "
            f"{target}x{target}"
        )
    pad = (target - size) // 2
    return torch.nn.functional.pad(weight, (pad, pad, pad, pad)).clone()
