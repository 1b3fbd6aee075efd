"""The YOLOv12 fork's area attention, computed the fork's way, as the reference the repacked
stock module and the exported ONNX model are compared with.

The fork's block has `qk` (2C channels: every query head, then every key head), `v` (C) and a
depthwise position encoder `pe` on v. Tokens are the feature map in raster order, cut into
`area` consecutive runs that attend only within themselves; each head's softmax(q.k / sqrt(d))
weighs the values; the result plus pe(v) goes through `proj`.
"""

from __future__ import annotations

from typing import Any


def fork_forward(torch: Any, module: Any) -> Any:
    """A forward function for a fork `AAttn` module, using its own (unrepacked) weights."""

    def forward(x: Any) -> Any:
        b, c, h, w = x.shape
        n, heads, dim, area = h * w, module.num_heads, module.head_dim, module.area
        qk, values = module.qk(x), module.v(x)
        position = module.pe(values)

        def tokens(t: Any) -> Any:  # (B, C, H, W) -> (B*area, heads, dim, N/area)
            t = t.flatten(2).reshape(b, c, area, n // area).permute(0, 2, 1, 3)
            return t.reshape(b * area, heads, dim, n // area)

        q, k, v = tokens(qk[:, :c]), tokens(qk[:, c:]), tokens(values)
        weights = torch.softmax((q.transpose(-2, -1) @ k) * dim**-0.5, dim=-1)
        out = (v @ weights.transpose(-2, -1)).reshape(b, area, c, n // area)
        out = out.permute(0, 2, 1, 3).reshape(b, c, h, w)
        return module.proj(out + position)

    return forward
