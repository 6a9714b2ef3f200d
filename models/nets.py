"""Lifter networks. Inputs are normalised 2D keypoints with confidences (..., J, 3); outputs are
pelvis-relative 3D poses in camera axes, metres (the pelvis is pinned to 0).

- :class:`SingleLifter`: context-agnostic single frame, joint tokens through a spatial transformer.
- :class:`MPM`: masked pose modelling (2D and 3D encoders into a shared space, a shared spatial MLP and
  temporal transformer, 2D and 3D decoders); lifts, lifts through occlusion and completes 3D.
- :class:`ContextLifter`: Context-Aware PoseFormer on one frame: the single lifter refined by the 2D
  detector's feature maps, sampled at each joint and at learned offsets around it (deformable sampling).
- :class:`MLPBaseline` (Martinez et al.) and :class:`TCNBaseline` (VideoPose3D, 27 frames): yardsticks.
- :class:`Fusion`: the single-frame and MPM lifts of a clip fused over time (a temporal convolution).
- :class:`ContactNet`: foot contacts per frame from a clip's lifted 3D and 2D (not a lifter; see
  :func:`video_mocap.inference.contacts.contact_features` for its inputs).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..inference.context import LEVELS  # noqa: F401  (re-exported: the feature levels the network reads)

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


class _TemporalConv(nn.Module):
    """(B, T, F) -> (B, T, out): dilated residual temporal convolutions over any T, a receptive field of
    5 + 2 * sum(dilations) frames (35 with the default)."""

    def __init__(self, features: int, out: int, width: int = 128, dilations: tuple[int, ...] = (1, 2, 4, 8),
                 dropout: float = 0.1, padding_mode: str = "zeros"):
        super().__init__()
        self.inp = nn.Conv1d(features, width, 5, padding=2, padding_mode=padding_mode)
        self.blocks = nn.ModuleList(nn.Sequential(
            nn.GELU(), nn.Conv1d(width, width, 3, padding=d, dilation=d, padding_mode=padding_mode), nn.GELU(),
            nn.Dropout(dropout), nn.Conv1d(width, width, 1)) for d in dilations)
        self.out = nn.Conv1d(width, out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x.transpose(1, 2))
        for block in self.blocks:
            h = h + block(h)
        return self.out(F.gelu(h)).transpose(1, 2)


class ContactNet(_TemporalConv):
    """(B, T, F) per-frame features -> (B, T, 2) left/right foot contact logits (zero padding at the ends)."""

    def __init__(self, features: int = 187, width: int = 128, dilations: tuple[int, ...] = (1, 2, 4, 8), dropout: float = 0.1):
        super().__init__(features, 2, width, dilations, dropout)


class Fusion(nn.Module):
    """The single-frame and MPM lifts of a clip fused over time: ``forward(kp, single, mpm)``, each (B, T, J, 3)
    (per-frame normalised 2D + confidence, the two pelvis-relative lifts) -> (B, T, J, 3). Per joint and frame
    the network weighs the two lifts (a blend weight) and adds a correction, from a 35-frame neighbourhood of
    all three (edge frames repeated at the ends); it starts as their plain average."""

    def __init__(self, width: int = 256, dilations: tuple[int, ...] = (1, 2, 4, 8), dropout: float = 0.1):
        super().__init__()
        self.conv = _TemporalConv(3 * J * 3, J * 4, width, dilations, dropout, padding_mode="replicate")
        nn.init.zeros_(self.conv.out.weight)
        nn.init.zeros_(self.conv.out.bias)

    def forward(self, kp: torch.Tensor, single: torch.Tensor, mpm: torch.Tensor) -> torch.Tensor:
        b, t = kp.shape[:2]
        o = self.conv(torch.cat([kp, single, mpm], -1).flatten(2)).view(b, t, J, 4)
        w = torch.sigmoid(o[..., 3:])
        return _pin_pelvis(w * single + (1 - w) * mpm + o[..., :3])


def sample_map(fmap: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Bilinear samples of ``fmap`` (B, C, S, S) at ``points`` (B, N, P, 2) given as (x, y) in [0, 1] of the
    crop (pixel i of an S-wide map covers [i, i + 1) / S): (B, C, N, P); outside the map, the border."""
    return F.grid_sample(fmap, points * 2 - 1, mode="bilinear", padding_mode="border", align_corners=False)


class ContextLifter(nn.Module):
    """Single frame + detector context (Context-Aware PoseFormer, Zhao et al. 2023), as a refinement of a
    context-agnostic :class:`SingleLifter` (``base``, kept frozen in training).

    ``forward(kp, crop, f0, f1, f2, f3)``: ``kp`` (B, J, 3) normalised 2D + confidence, ``crop`` (B, J, 2)
    the joints in the crop in [0, 1], ``f0..f3`` the four feature maps (B, C, S, S). Each joint token
    (from its 2D) predicts, per level, ``points`` offsets around the joint and softmax weights over them
    plus the joint itself; the bilinear samples, weighted, projected and tagged with a level embedding, go
    through a transformer across levels (per joint, with the joint token), then one across joints; a
    zero-initialised head adds a residual to the base's 3D. With ``context=False`` the feature path is
    off: the same refinement from 2D alone (the paper's ablation, trained on the same frames).
    """

    def __init__(self, d: int = 96, points: int = 4, layers: int = 2, heads: int = 4, dropout: float = 0.1,
                 reach: float = 0.08, context: bool = True):
        super().__init__()
        self.base = SingleLifter()
        self.context, self.points, self.reach = context, points, reach
        L = len(LEVELS)
        self.embed = nn.Linear(3, d)
        self.joint = nn.Parameter(torch.randn(1, J, d) * 0.02)
        self.offsets = nn.Linear(d, L * points * 2)
        nn.init.zeros_(self.offsets.weight)
        with torch.no_grad():  # start on a small ring around the joint
            ang = torch.arange(points) * 2 * torch.pi / points
            self.offsets.bias.copy_(torch.stack([ang.cos(), ang.sin()], -1).mul(0.25).repeat(L, 1).flatten())
        self.weights = nn.Linear(d, L * (points + 1))
        self.proj = nn.ModuleList(nn.Sequential(nn.Linear(c, d), nn.LayerNorm(d)) for c, _ in LEVELS)
        self.level = nn.Parameter(torch.randn(1, L + 1, d) * 0.02)
        self.across_levels = _encoder(d, heads, 1, 2 * d, dropout)
        self.across_joints = _encoder(d, heads, layers, 2 * d, dropout)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, 3)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def sample(self, q: torch.Tensor, crop: torch.Tensor, maps: list[torch.Tensor]) -> torch.Tensor:
        """Per joint and level, the weighted bilinear samples at the joint and its learned offsets: (B, J, L, d)."""
        b, L, k = q.shape[0], len(maps), self.points
        off = torch.tanh(self.offsets(q).view(b, J, L, k, 2)) * self.reach
        pts = torch.cat([crop[:, :, None, None].expand(b, J, L, 1, 2), crop[:, :, None, None] + off], 3)  # (B, J, L, k+1, 2)
        w = torch.softmax(self.weights(q).view(b, J, L, k + 1), -1)
        out = []
        for i, fmap in enumerate(maps):
            s = sample_map(fmap, pts[:, :, i])  # (B, C, J, k+1)
            out.append(self.proj[i]((s * w[:, None, :, i]).sum(-1).transpose(1, 2)))
        return torch.stack(out, 2)

    def forward(self, kp: torch.Tensor, crop: torch.Tensor, f0: torch.Tensor, f1: torch.Tensor, f2: torch.Tensor,
                f3: torch.Tensor) -> torch.Tensor:
        b = kp.shape[0]
        q = self.embed(kp) + self.joint
        if self.context:
            tokens = torch.cat([q[:, :, None], self.sample(q, crop, [f0, f1, f2, f3])], 2) + self.level[:, None]
            q = self.across_levels(tokens.flatten(0, 1))[:, 0].view(b, J, -1)
        x = self.across_joints(q)
        return _pin_pelvis(self.base(kp) + self.head(self.norm(x)))


def build(kind: str, **kw) -> nn.Module:
    """A network by name: single, mpm, mlp, tcn, context, fusion."""
    nets = {"single": SingleLifter, "mpm": MPM, "mlp": MLPBaseline, "tcn": TCNBaseline, "context": ContextLifter,
            "fusion": Fusion}
    if kind not in nets:
        raise KeyError(f"unknown model {kind!r}; known: {', '.join(nets)}")
    return nets[kind](**kw)
