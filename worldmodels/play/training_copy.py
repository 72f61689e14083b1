"""The training copy of a play recording: the game's own frames with the action taken at each, as
``episodes-import`` (one integer per frame) and ``oasis-encode --videos`` (Oasis' 25-dim float rows) read them.

The viewer's MP4 shows what a person saw (the frame scaled up, the header); a world model learns from the
frames the game made, at their size and exact (lossless H.264), each paired with the action that led to the
next. So frame k and action k were stepped into frame k+1, and the last frame shown, never stepped from, is
not in the clip. A clip never crosses an episode end: ``cut()`` closes it, and the next step opens
``<stem>_1.mp4``, then ``<stem>_2.mp4``.
"""

from pathlib import Path

import numpy as np
import torch

from worldmodels.core.files import atomic_path
from worldmodels.core.video import VideoWriter
from worldmodels.oasis.actions import ACTION_KEYS

INTEGER_ACTIONS = ".actions.npy"  # episodes-import: int64, one per frame
VECTOR_ACTIONS = ".one_hot_actions.pt"  # oasis-encode --videos: float32 N x 25, one row per frame


def action_file_suffix(action) -> str | None:
    """The kind of action file ``action`` is saved in, or None when no training command reads such actions
    (CS:GO's composite actions, a backend that picks its own action when given None)."""
    if isinstance(action, (int, np.integer)) and not isinstance(action, bool):
        return INTEGER_ACTIONS
    if isinstance(action, (torch.Tensor, np.ndarray)):
        vector = torch.as_tensor(action)
        if vector.shape == (len(ACTION_KEYS),) and vector.is_floating_point():
            return VECTOR_ACTIONS
    return None


class Clip:
    """One clip being written: its lossless video, and its actions kept until ``close`` writes them."""

    def __init__(self, video: Path, suffix: str, fps: float):
        self.writer = VideoWriter(video, fps, lossless=True)
        self.suffix = suffix
        self.actions: list = []

    def add(self, frame: np.ndarray, action) -> None:
        self.writer.write(frame)
        if self.suffix == INTEGER_ACTIONS:
            self.actions.append(int(action))
        else:  # a copy: a backend may reuse its action tensor
            self.actions.append(torch.as_tensor(action).detach().to("cpu", torch.float32, copy=True))

    def close(self) -> Path:
        """The action file first, then the video: the importers find clips by their MP4, so one never
        appears without its actions (an action file left alone by a failed video is ignored)."""
        path = self.writer.path
        with atomic_path(path.with_name(path.stem + self.suffix)) as tmp:
            if self.suffix == INTEGER_ACTIONS:
                np.save(tmp, np.asarray(self.actions, np.int64))
            else:
                torch.save(torch.stack(self.actions), tmp)
        return self.writer.close()


class TrainingCopy:
    """The clips of one recording, in ``folder``, named after the viewer's video."""

    def __init__(self, folder: Path, stem: str, fps: float):
        self.folder, self.stem, self.fps = folder, stem, fps
        self.clip: Clip | None = None
        self.saved: list[Path] = []

    def add(self, frame: np.ndarray, action) -> bool:
        """Write ``frame`` with the action taken at it. False, with nothing written and the clip so far
        closed, when the action cannot be saved: the frames after it start a new clip."""
        suffix = action_file_suffix(action)
        if self.clip is not None and self.clip.suffix != suffix:  # one kind of action per action file
            self.cut()
        if suffix is None:
            return False
        if self.clip is None:
            name = self.stem if not self.saved else f"{self.stem}_{len(self.saved)}"
            self.clip = Clip(self.folder / f"{name}.mp4", suffix, self.fps)
        self.clip.add(frame, action)
        return True

    def cut(self) -> None:
        """The episode ended (or was reset): the clip ends here, so that none spans two episodes."""
        if self.clip is not None:
            self.saved.append(self.clip.close())
            self.clip = None

    def close(self) -> list[Path]:
        """Finish the last clip; the videos of all clips written (none if no frame had a savable action)."""
        self.cut()
        return self.saved
