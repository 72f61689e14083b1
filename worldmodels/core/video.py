"""Video and image files: prompts in (PNG/JPEG/MP4), recordings out (MP4 through PyAV, GIF through Pillow).

Frames are uint8. On disk and in the play app they are numpy ``H x W x 3``; ``read_*`` return torch
``T x 3 x H x W`` because every consumer feeds them to a model.
"""

import os
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from worldmodels.core.errors import UserError
from worldmodels.core.files import commit, discard, temp_beside

_MILLISECOND = Fraction(1, 1000)
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".gif"}


def read_image(path: str | os.PathLike) -> torch.Tensor:
    """An RGB image as a ``3 x H x W`` uint8 tensor (alpha dropped, greyscale expanded)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: image file not found")
    try:
        with Image.open(path) as img:
            array = np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError) as e:
        raise UserError(f"{path}: not a readable image ({e})") from None
    return torch.from_numpy(array.copy()).permute(2, 0, 1)


def read_video(path: str | os.PathLike, max_frames: int | None = None) -> torch.Tensor:
    """All (or the first ``max_frames``) frames of a video as a ``T x 3 x H x W`` uint8 tensor."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: video file not found")
    frames = []
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                frames.append(frame.to_ndarray(format="rgb24"))
                if max_frames is not None and len(frames) >= max_frames:
                    break
    except (av.FFmpegError, IndexError) as e:
        raise UserError(f"{path}: not a readable video ({e})") from None
    if not frames:
        raise UserError(f"{path}: the video has no frames")
    return torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2)


def read_frames(path: str | os.PathLike, max_frames: int | None = None) -> torch.Tensor:
    """A prompt from an image or a video file, always ``T x 3 x H x W`` uint8 (T = 1 for an image)."""
    suffix = Path(path).suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return read_image(path).unsqueeze(0)
    if suffix in VIDEO_SUFFIXES:
        return read_video(path, max_frames)
    known = ", ".join(sorted(IMAGE_SUFFIXES | VIDEO_SUFFIXES))
    raise UserError(f"{path}: unknown file type {suffix!r} (expected one of {known})")


def check_writable(path: str | os.PathLike) -> str:
    """The suffix of a video we can write (.mp4, .gif); CLIs call this before any slow work."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".mp4", ".gif"):
        raise UserError(f"{path}: can only write .mp4 or .gif videos")
    return suffix


class VideoWriter:
    """Append frames one at a time (for recording while playing); the file appears only on ``close``.

    Frames follow each other at ``fps``, or each at its own time (``write(frame, at=seconds)``): a recording
    of slow play then lasts as long as the play did. MP4 is H.264 via PyAV, without B-frames so that such
    timestamps give the right duration; sizes are padded to even numbers because yuv420p needs them.
    ``lossless`` MP4s (training data) keep every pixel: libx264rgb at qp 0 stores the RGB frames as they are,
    at any size (no conversion to YUV, no chroma subsampling, no padding), for several times the file size;
    PyAV (``read_video``) decodes them to exactly the frames written. GIF frames are kept in memory and
    written by Pillow.
    """

    def __init__(self, path: str | os.PathLike, fps: float = 15.0, lossless: bool = False):
        self.path = Path(path)
        self.fps = fps
        self.lossless = lossless
        self.num_frames = 0
        suffix = check_writable(self.path)
        self._tmp = temp_beside(self.path)
        self._gif_frames: list[Image.Image] | None = [] if suffix == ".gif" else None
        self._times_ms: list[int] = []
        self._container = None
        self._stream = None

    def _open_mp4(self, height: int, width: int) -> None:
        self._container = av.open(self._tmp, mode="w", format="mp4")
        codec = "libx264rgb" if self.lossless else "libx264"
        self._stream = self._container.add_stream(codec, rate=Fraction(self.fps).limit_denominator(1000))
        self._stream.width = width if self.lossless else width + width % 2
        self._stream.height = height if self.lossless else height + height % 2
        self._stream.pix_fmt = "rgb24" if self.lossless else "yuv420p"
        self._stream.codec_context.time_base = _MILLISECOND
        quality = {"qp": "0"} if self.lossless else {"crf": "18"}
        self._stream.options = {**quality, "preset": "veryfast", "bf": "0"}

    def write(self, frame: np.ndarray, at: float | None = None) -> None:
        """Append ``frame``, shown from ``at`` seconds after the first (default: one frame after the last)."""
        frame = np.ascontiguousarray(frame, dtype=np.uint8)
        if frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"expected an H x W x 3 uint8 frame, got shape {frame.shape}")
        last = self._times_ms[-1] if self._times_ms else -1
        time_ms = round(1000 * at) if at is not None else round(1000 * self.num_frames / self.fps)
        self._times_ms.append(max(time_ms, last + 1))  # strictly increasing
        if self._gif_frames is not None:
            self._gif_frames.append(Image.fromarray(frame))
        else:
            if self._container is None:
                self._open_mp4(*frame.shape[:2])
            pad_h, pad_w = self._stream.height - frame.shape[0], self._stream.width - frame.shape[1]
            if pad_h or pad_w:
                frame = np.pad(frame, ((0, max(pad_h, 0)), (0, max(pad_w, 0)), (0, 0)), mode="edge")
                frame = frame[: self._stream.height, : self._stream.width]
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            video_frame.pts, video_frame.time_base = self._times_ms[-1], _MILLISECOND
            for packet in self._stream.encode(video_frame):
                self._container.mux(packet)
        self.num_frames += 1

    def close(self) -> Path:
        """Finish the file and move it into place; raises if no frame was written."""
        try:
            if self.num_frames == 0:
                raise UserError(f"{self.path}: no frames to write")
            if self._gif_frames is not None:
                first, *rest = self._gif_frames
                durations = [b - a for a, b in zip(self._times_ms, self._times_ms[1:])] + [round(1000 / self.fps)]
                first.save(self._tmp, format="GIF", save_all=True, append_images=rest, duration=durations, loop=0)
            else:
                for packet in self._stream.encode():
                    self._container.mux(packet)
                self._container.close()
            commit(self._tmp, self.path)
        finally:
            discard(self._tmp)
        return self.path

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        else:
            self.discard()

    def discard(self) -> None:
        """Drop everything written so far; no file is left behind."""
        if self._container is not None:
            self._container.close()
        discard(self._tmp)


def write_video(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: float = 15.0) -> Path:
    """Write ``H x W x 3`` uint8 frames to an MP4 or GIF, atomically."""
    with VideoWriter(path, fps) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.path


def to_hwc_uint8(frames: torch.Tensor) -> np.ndarray:
    """Model output in [-1, 1] (``... x 3 x H x W``) to displayable uint8 ``... x H x W x 3``."""
    frames = ((frames.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return frames.movedim(-3, -1).cpu().numpy()
