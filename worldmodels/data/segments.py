"""Random fixed-length windows of episodes, sampled as DIAMOND samples them (``src/data/batch_sampler.py``).

Episodes are drawn in proportion to their length, or, with ``sample_weights`` (e.g. [0.1, 0.1, 0.1, 0.7]),
by age groups: the episodes are split into as many groups as weights, oldest first, so recent experience
is sampled more. A time step is drawn uniformly in the episode and a window placed around it: ending at
most ``length - 1`` steps after it (left padding only), or, with ``beyond_end``, starting up to
``length - 1`` steps before it (padding on either side). Padding has ``mask`` False; the frame
right after an episode's last step is its ``final_obs`` (no step, so masked, but ``frame`` is True).
"""

import numpy as np

from worldmodels.core.errors import UserError
from worldmodels.data.episodes import EpisodeDataset


def episode_weights(lengths: np.ndarray, sample_weights: list[float] | None) -> np.ndarray:
    n = len(lengths)
    if sample_weights is None or n < len(sample_weights):
        return lengths / lengths.sum()
    k = len(sample_weights)
    sizes = [n // k + (n % k) * (i == k - 1) for i in range(k)]  # the newest group takes the remainder
    weights = np.array([w / s for w, s in zip(sample_weights, sizes) for _ in range(s)])
    return weights / weights.sum()


def sample_segments(
    dataset: EpisodeDataset,
    rng: np.random.Generator,
    batch: int,
    length: int,
    sample_weights: list[float] | None = None,
    beyond_end: bool = False,
) -> dict[str, np.ndarray]:
    """uint8 ``obs`` (b x length x H x W x 3), ``act``, ``rew``, ``end`` (b x length), boolean ``mask`` (real
    steps) and ``frame`` (real frames: the steps plus a final frame)."""
    episodes = [dataset[i] for i in range(len(dataset))]
    if not episodes:
        raise UserError(f"{dataset.root}: no episodes to sample from")
    lengths = np.array([len(e) for e in episodes])
    ids = rng.choice(len(episodes), size=batch, p=episode_weights(lengths, sample_weights))
    t = rng.integers(0, lengths[ids])
    if beyond_end:
        starts = t - rng.integers(0, length, batch)
    else:
        starts = np.minimum(lengths[ids], t + 1 + rng.integers(0, length, batch)) - length
    h, w, c = episodes[0].obs.shape[1:]
    out = {
        "obs": np.zeros((batch, length, h, w, c), np.uint8),
        "act": np.zeros((batch, length), np.int64),
        "rew": np.zeros((batch, length), np.float32),
        "end": np.zeros((batch, length), np.uint8),
        "mask": np.zeros((batch, length), bool),
        "frame": np.zeros((batch, length), bool),
    }
    for b, (i, start) in enumerate(zip(ids, starts)):
        episode = episodes[i]
        lo, hi = max(start, 0), min(start + length, len(episode))
        for key in ("obs", "act", "rew", "end"):
            out[key][b, lo - start : hi - start] = getattr(episode, key)[lo:hi]
        out["mask"][b, lo - start : hi - start] = True
        out["frame"][b, lo - start : hi - start] = True
        if hi - start < length:
            out["obs"][b, hi - start] = episode.final_obs
            out["frame"][b, hi - start] = True
    return out
