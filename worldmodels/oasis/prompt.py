"""Prompt frames for Oasis: any PNG/JPEG/MP4 as 360x640 frames, or the release's sample frame."""

import os
import urllib.request
from pathlib import Path

import torch
from huggingface_hub import constants as hf_constants
from torchvision.transforms.functional import center_crop, resize

from worldmodels.core.errors import UserError
from worldmodels.core.files import atomic_path
from worldmodels.core.video import IMAGE_SUFFIXES, read_frames

SAMPLE_PROMPT_URL = "https://raw.githubusercontent.com/etched-ai/open-oasis/master/sample_data/sample_image_0.png"
HEIGHT, WIDTH = 360, 640


def load_prompt(path: str | os.PathLike, num_frames: int = 1, offset: int = 0) -> torch.Tensor:
    """uint8 1 x t x 3 x 360 x 640 from an image (t = 1) or ``num_frames`` frames of a video from ``offset``
    (an image ignores ``offset``, as the reference does; the actions still skip that many steps).

    Frames of another shape than 16:9 are center-cropped to 16:9 before resizing, where the reference
    stretches them: the model only saw undistorted 16:9 Minecraft."""
    if Path(path).suffix.lower() in IMAGE_SUFFIXES:
        offset = 0
    frames = read_frames(path, max_frames=offset + num_frames)[offset:]
    if frames.shape[0] < num_frames:
        raise UserError(f"{path}: needs {num_frames} frames from frame {offset}, has {frames.shape[0]}")
    frames = frames[:num_frames]
    height, width = frames.shape[-2:]
    crop = (min(height, round(width * HEIGHT / WIDTH)), min(width, round(height * WIDTH / HEIGHT)))
    frames = center_crop(frames, list(crop))
    if frames.shape[-2:] != (HEIGHT, WIDTH):
        frames = resize(frames, [HEIGHT, WIDTH], antialias=True)
    return frames[None]


def sample_prompt_cache() -> Path:
    """Where the downloaded sample frame is kept: beside the hub cache."""
    return Path(hf_constants.HF_HUB_CACHE).parent / "worldmodels" / "oasis_sample_image_0.png"


def sample_prompt(offline: bool = False) -> Path:
    """The open-oasis sample frame, downloaded once into ``sample_prompt_cache()``."""
    target = sample_prompt_cache()
    if target.is_file():
        return target
    if offline or hf_constants.HF_HUB_OFFLINE:
        raise UserError("no prompt frame: the sample frame is not cached and we are offline; pass --prompt IMAGE.png")
    try:
        with urllib.request.urlopen(SAMPLE_PROMPT_URL, timeout=10) as response, atomic_path(target) as tmp:
            Path(tmp).write_bytes(response.read())
    except OSError as e:
        raise UserError(f"could not download the sample prompt frame ({e}); pass --prompt IMAGE.png") from None
    return target
