"""The transformer MLP (timm's ``Mlp`` layout: ``fc1``, GELU, ``fc2``), shared by Oasis' DiT and ViT-VAE."""

import torch.nn.functional as F
from torch import Tensor, nn


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int, gelu_approximate: str = "none"):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        self.gelu_approximate = gelu_approximate  # the DiT uses "tanh", the VAE the exact GELU

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(F.gelu(self.fc1(x), approximate=self.gelu_approximate))
