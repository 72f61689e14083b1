"""On-disk data: episodes of frames, actions, rewards and ends."""
