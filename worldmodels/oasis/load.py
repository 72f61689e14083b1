"""The published Oasis files (hub repo ``Etched/oasis-500m``) and our own, loaded strictly.

Our files carry their architecture as JSON in the safetensors header (``dit_config`` / ``vae_config``);
the published ones have none and get the published sizes.
"""

import dataclasses
import json
import os

from worldmodels.core.checkpoints import build_from_config, load_tensors, read_metadata, save_tensors
from worldmodels.core.errors import UserError
from worldmodels.core.hub import resolve
from worldmodels.oasis.dit import DiT, DiTConfig
from worldmodels.oasis.vae import VAEConfig, ViTVAE

HUB_REPO = "Etched/oasis-500m"
DIT_FILE, VAE_FILE = "oasis500m.safetensors", "vit-l-20.safetensors"
DEFAULT_DIT, DEFAULT_VAE = f"hf://{HUB_REPO}/{DIT_FILE}", f"hf://{HUB_REPO}/{VAE_FILE}"


def _load(kind, config_cls, key, signature, path, device, offline):
    path = resolve(path, offline=offline)
    tensors = load_tensors(path)
    if signature not in tensors:
        raise UserError(f"{path}: not an Oasis {kind} checkpoint (it has no {signature})")
    try:
        values = json.loads(read_metadata(path).get(key, "{}"))
    except ValueError as e:
        raise UserError(f"{path}: bad {key} in the file header ({e})") from None
    model_cls = DiT if config_cls is DiTConfig else ViTVAE
    return build_from_config(model_cls, config_cls, values, tensors, str(path)).to(device).eval()


def load_dit(path: str | os.PathLike = DEFAULT_DIT, device="cpu", offline: bool = False) -> DiT:
    return _load("DiT", DiTConfig, "dit_config", "x_embedder.proj.weight", path, device, offline)


def load_vae(path: str | os.PathLike = DEFAULT_VAE, device="cpu", offline: bool = False) -> ViTVAE:
    return _load("ViT-VAE", VAEConfig, "vae_config", "patch_embed.proj.weight", path, device, offline)


def save_model(model: DiT | ViTVAE, path: str | os.PathLike):
    """Safetensors with the architecture in the header, so ``load_dit``/``load_vae`` rebuild it."""
    key = "dit_config" if isinstance(model, DiT) else "vae_config"
    metadata = {key: json.dumps(dataclasses.asdict(model.cfg))}
    return save_tensors(model.state_dict(), path, metadata)
