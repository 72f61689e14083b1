"""Vector quantisation (VQ-VAE, van den Oord et al. 2017) with a cosine-similarity codebook.

Vectors and codes are L2-normalised before the nearest-code search (as in ViT-VQGAN and Jafar's Genie),
which keeps codes in use; the straight-through estimator passes gradients to the encoder. Codes that go
unused for ``dead_after`` training steps are re-seeded from random encoder outputs.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class VectorQuantizer(nn.Module):
    def __init__(self, num_codes: int, dim: int, beta: float = 0.25, dead_after: int = 100):
        super().__init__()
        self.beta, self.dead_after = beta, dead_after
        self.codebook = nn.Embedding(num_codes, dim)
        nn.init.normal_(self.codebook.weight)
        self.register_buffer("steps_unused", torch.zeros(num_codes, dtype=torch.long), persistent=False)

    def codes(self, indices: Tensor) -> Tensor:
        """Indices (...) -> normalised code vectors (..., dim)."""
        return F.normalize(self.codebook(indices), dim=-1)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """z (..., dim) -> (quantised z with straight-through gradients, indices (...), VQ loss)."""
        z = F.normalize(z, dim=-1)
        codebook = F.normalize(self.codebook.weight, dim=-1)
        indices = (z.reshape(-1, z.shape[-1]) @ codebook.t()).argmax(dim=-1).reshape(z.shape[:-1])
        z_q = codebook[indices]
        loss = F.mse_loss(z_q, z.detach()) + self.beta * F.mse_loss(z, z_q.detach())
        if self.training:
            self._reseed_dead_codes(z, indices)
        return z + (z_q - z).detach(), indices, loss

    @torch.no_grad()
    def _reseed_dead_codes(self, z: Tensor, indices: Tensor) -> None:
        used = torch.zeros_like(self.steps_unused, dtype=torch.bool)
        used[indices.flatten()] = True
        self.steps_unused = torch.where(used, 0, self.steps_unused + 1)
        dead = torch.nonzero(self.steps_unused >= self.dead_after).flatten()
        if len(dead):
            flat = z.detach().reshape(-1, z.shape[-1])
            # .data: this forward already saved the weight for backward; dead codes get no gradient anyway
            self.codebook.weight.data[dead] = flat[torch.randint(len(flat), (len(dead),), device=flat.device)]
            self.steps_unused[dead] = 0
