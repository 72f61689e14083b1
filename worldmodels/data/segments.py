"""Random fixed-length windows of episodes, padded where they cross an episode's start or end.

Padding frames are zeros with ``mask`` False; the frame right after the last step is the episode's
``final_obs`` (so a model can learn what the last step led to) but, being no step, is masked too.
"""

import numpy as np

from worldmodels.core.errors import UserError
from worldmodels.data.episodes import EpisodeDataset


def sample_segments(
    dataset: EpisodeDataset,
    rng: np.random.Generator,
    batch: int,
    length: int,
    min_start_offset: int = 0,
    max_end_offset: int = 0,
) -> dict[str, np.ndarray]:
    """``batch`` windows of ``length`` steps.

    Starts are drawn uniformly from ``[min_start_offset, T - length + max_end_offset]`` of a random
    episode (chosen in proportion to how many starts it offers): a negative ``min_start_offset`` allows
    left padding, a positive ``max_end_offset`` lets windows run past the end. Returns uint8 ``obs``
    (b x length x H x W x 3), ``act``, ``rew``, ``end`` (b x length) and boolean ``mask`` (real steps).
    """
    episodes = [dataset[i] for i in range(len(dataset))]
    num_starts = np.array([max(0, len(e) - length + max_end_offset - min_start_offset + 1) for e in episodes])
    if num_starts.sum() == 0:
        raise UserError(f"{dataset.root}: no episode is long enough for {length}-step segments")
    picks = rng.choice(len(episodes), size=batch, p=num_starts / num_starts.sum())
    h, w, c = episodes[0].obs.shape[1:]
    obs = np.zeros((batch, length, h, w, c), np.uint8)
    act = np.zeros((batch, length), np.int64)
    rew = np.zeros((batch, length), np.float32)
    end = np.zeros((batch, length), np.uint8)
    mask = np.zeros((batch, length), bool)
    for b, i in enumerate(picks):
        episode = episodes[i]
        start = min_start_offset + int(rng.integers(num_starts[i]))
        lo, hi = max(start, 0), min(start + length, len(episode))
        obs[b, lo - start : hi - start] = episode.obs[lo:hi]
        act[b, lo - start : hi - start] = episode.act[lo:hi]
        rew[b, lo - start : hi - start] = episode.rew[lo:hi]
        end[b, lo - start : hi - start] = episode.end[lo:hi]
        mask[b, lo - start : hi - start] = True
        if hi - start < length and hi == len(episode):
            obs[b, hi - start] = episode.final_obs
    return {"obs": obs, "act": act, "rew": rew, "end": end, "mask": mask}
