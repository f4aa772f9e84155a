"""Training losses: Wing loss for landmarks, the ArcFace additive angular margin, and the distillation loss."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class WingLoss(nn.Module):
    """Wing loss (Feng et al., CVPR 2018) for coordinates in units of the crop side (0..1).

    wing(x) = omega * ln(1 + |x| / epsilon)   if |x| < omega
            = |x| - C                        otherwise,  C = omega - omega * ln(1 + omega / epsilon)

    With our coordinates a good prediction is off by 0.005-0.03 of the crop (0.5-3 px of a 96-px crop;
    NME 0.05 is about 0.017). omega=0.1 puts every error up to 10% of the crop (about a third of the
    inter-ocular distance) in the logarithmic part, and epsilon=0.01 makes the gradient omega/(epsilon+|x|)
    grow from 0.9 at |x|=0.1 to 5 at |x|=0.01 and 10 at 0: small errors are pushed harder than by L1,
    which is the point of the loss. (Pixel values such as omega=10, epsilon=2 would make this behave as
    plain L1 on 0..1 coordinates.)
    """

    def __init__(self, omega: float = 0.1, epsilon: float = 0.01) -> None:
        super().__init__()
        self.omega = omega
        self.epsilon = epsilon
        self.constant = omega - omega * math.log(1.0 + omega / epsilon)

    def forward(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        error = (prediction - target).abs()
        small = self.omega * torch.log1p(error / self.epsilon)
        large = error - self.constant
        return torch.where(error < self.omega, small, large).mean()


class ArcFaceMargin(nn.Module):
    """ArcFace (Deng et al., CVPR 2019): logits s*cos(theta + m) for the true class, s*cos(theta) otherwise.

    Holds the class centres. Past theta = pi - m the margin is replaced by the usual linear fallback
    cos(theta) - m*sin(m) so that the target logit stays monotonic in theta.
    """

    def __init__(self, embedding_size: int, num_classes: int, scale: float = 32.0, margin: float = 0.5) -> None:
        super().__init__()
        self.scale = scale
        self.margin = margin
        self.weight = nn.Parameter(torch.empty(num_classes, embedding_size))
        nn.init.normal_(self.weight, std=0.01)
        self.cos_m = math.cos(margin)
        self.sin_m = math.sin(margin)
        self.threshold = math.cos(math.pi - margin)
        self.fallback = math.sin(math.pi - margin) * margin

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Return the scaled logits; feed them to cross-entropy with `labels`."""
        cosine = F.linear(F.normalize(embeddings), F.normalize(self.weight)).clamp(-1.0, 1.0)
        sine = torch.sqrt((1.0 - cosine**2).clamp_min(1e-9))
        with_margin = cosine * self.cos_m - sine * self.sin_m
        with_margin = torch.where(cosine > self.threshold, with_margin, cosine - self.fallback)
        one_hot = F.one_hot(labels, cosine.shape[1]).to(cosine.dtype)
        return self.scale * (one_hot * with_margin + (1.0 - one_hot) * cosine)


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """1 - cosine between the student's embedding (or its projection) and the teacher's, averaged over the batch."""
    return (1.0 - F.cosine_similarity(student, teacher, dim=1)).mean()


def relational_distillation_loss(student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between the batch's pairwise cosines as the student sees them and as the
    teacher does (off the diagonal): it teaches how faces relate, whatever the embedding's orientation."""
    student, teacher = F.normalize(student, dim=1), F.normalize(teacher, dim=1)
    difference = student @ student.T - teacher @ teacher.T
    off_diagonal = ~torch.eye(len(student), dtype=torch.bool, device=student.device)
    return difference[off_diagonal].pow(2).mean()
