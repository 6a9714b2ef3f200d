"""Lifter networks. Inputs are normalised 2D keypoints with confidences (..., J, 3); outputs are
pelvis-relative 3D poses in camera axes, metres (the pelvis is pinned to 0).

- :class:`SingleLifter`: context-agnostic single frame, joint tokens through a spatial transformer.
- :class:`MPM`: masked pose modelling (2D and 3D encoders into a shared space, a shared spatial MLP and
  temporal transformer, 2D and 3D decoders); lifts, lifts through occlusion and completes 3D.
- :class:`MLPBaseline` (Martinez et al.) and :class:`TCNBaseline` (VideoPose3D, 27 frames): yardsticks.
"""
from __future__ import annotations

import torch
from torch import nn

J = 17


def _pin_pelvis(x: torch.Tensor) -> torch.Tensor:
    return x - x[..., :1, :]


def _encoder(d: int, heads: int, layers: int, ff: int, dropout: float) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(d, heads, ff, dropout, batch_first=True, norm_first=True, activation="gelu")
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


class SingleLifter(nn.Module):
    """(B, J, 3) -> (B, J, 3): each joint is a token (its 2D + confidence + a learned joint embedding)."""

    def __init__(self, d: int = 128, layers: int = 4, heads: int = 8, dropout: float = 0.0):
        super().__init__()
        self.embed = nn.Linear(3, d)
        self.joint = nn.Parameter(torch.randn(1, J, d) * 0.02)
        self.blocks = _encoder(d, heads, layers, 2 * d, dropout)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, 3)

    def forward(self, kp: torch.Tensor) -> torch.Tensor:
        x = self.blocks(self.embed(kp) + self.joint)
        return _pin_pelvis(self.head(self.norm(x)))


class MLPBaseline(nn.Module):
    """Martinez et al. 2017: two residual blocks of 1024 units, (B, J, 3) -> (B, J, 3)."""

    def __init__(self, width: int = 1024, blocks: int = 2, dropout: float = 0.2):
        super().__init__()
        self.inp = nn.Sequential(nn.Linear(J * 3, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(dropout))
        self.blocks = nn.ModuleList(
            nn.Sequential(*[m for _ in range(2) for m in (nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU(), nn.Dropout(dropout))])
            for _ in range(blocks)
        )
        self.out = nn.Linear(width, J * 3)

    def forward(self, kp: torch.Tensor) -> torch.Tensor:
        x = self.inp(kp.flatten(1))
        for block in self.blocks:
            x = x + block(x)
        return _pin_pelvis(self.out(x).view(-1, J, 3))


class TCNBaseline(nn.Module):
    """VideoPose3D-style dilated temporal convolution with a 27-frame receptive field (widths 3, 3, 3):
    (B, L, J, 3) -> (B, L - 26, J, 3), one pose per full window (so 27 frames give the middle one)."""

    window = 27

    def __init__(self, channels: int = 512, dropout: float = 0.25):
        super().__init__()
        self.inp = nn.Sequential(nn.Conv1d(J * 3, channels, 3), nn.BatchNorm1d(channels), nn.ReLU(), nn.Dropout(dropout))
        self.blocks = nn.ModuleList()
        for dil in (3, 9):
            self.blocks.append(nn.Sequential(
                nn.Conv1d(channels, channels, 3, dilation=dil), nn.BatchNorm1d(channels), nn.ReLU(), nn.Dropout(dropout),
                nn.Conv1d(channels, channels, 1), nn.BatchNorm1d(channels), nn.ReLU(), nn.Dropout(dropout),
            ))
        self.out = nn.Conv1d(channels, J * 3, 1)

    def forward(self, kp: torch.Tensor) -> torch.Tensor:
        b = kp.shape[0]
        x = self.inp(kp.flatten(2).transpose(1, 2))
        for block, dil in zip(self.blocks, (3, 9)):
            x = x[..., dil:-dil] + block(x)
        return _pin_pelvis(self.out(x).transpose(1, 2).reshape(b, -1, J, 3))


class MPM(nn.Module):
    """Masked pose modelling over a window of T frames (Zhang et al., MPM).

    ``forward(kp, pose3d, known3d, mode)``: ``kp`` (B, T, J, 3) normalised 2D + confidence, where
    confidence 0 marks a masked joint; ``pose3d`` (B, T, J, 3) pelvis-relative 3D with ``known3d``
    (B, T, J) 1 where a 3D joint is given; ``mode`` (B,) 0 = lift from 2D, 1 = complete 3D. Returns the
    3D sequence (B, T, J, 3) and the 2D reconstruction (B, T, J, 2).
    """

    def __init__(self, window: int = 27, d: int = 256, temporal_layers: int = 4, heads: int = 8, dropout: float = 0.1):
        super().__init__()
        self.window = window
        self.mask2d = nn.Parameter(torch.zeros(1, 1, J, 3))  # v^S: replaces masked joints before the encoders
        self.mask3d = nn.Parameter(torch.zeros(1, 1, J, 3))
        self.enc2d = nn.Linear(J * 3, d)
        self.enc3d = nn.Linear(J * 3, d)
        self.spatial = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.time = nn.Parameter(torch.randn(1, window, d) * 0.02)
        self.shared = _encoder(d, heads, temporal_layers, 2 * d, dropout)
        self.dec2d = nn.Sequential(_encoder(d, heads, 1, 2 * d, dropout), nn.LayerNorm(d), nn.Linear(d, J * 2))
        self.dec3d = nn.Sequential(_encoder(d, heads, 2, 2 * d, dropout), nn.LayerNorm(d), nn.Linear(d, J * 3))

    def forward(self, kp: torch.Tensor, pose3d: torch.Tensor, known3d: torch.Tensor, mode: torch.Tensor):
        b, t = kp.shape[:2]
        seen = (kp[..., 2:] > 0).to(kp.dtype)
        x2 = kp * seen + self.mask2d * (1 - seen)
        k3 = known3d[..., None].to(kp.dtype)
        x3 = pose3d * k3 + self.mask3d * (1 - k3)
        m = mode.view(b, 1, 1).to(kp.dtype)
        f = self.enc2d(x2.flatten(2)) * (1 - m) + self.enc3d(x3.flatten(2)) * m
        f = f + self.spatial(f)
        f = self.shared(f + self.time[:, :t])
        out3d = self.dec3d(f).view(b, t, J, 3)
        out2d = self.dec2d(f).view(b, t, J, 2)
        return _pin_pelvis(out3d), out2d


def build(kind: str, **kw) -> nn.Module:
    """A network by name: single, mpm, mlp, tcn."""
    nets = {"single": SingleLifter, "mpm": MPM, "mlp": MLPBaseline, "tcn": TCNBaseline}
    if kind not in nets:
        raise KeyError(f"unknown model {kind!r}; known: {', '.join(nets)}")
    return nets[kind](**kw)
