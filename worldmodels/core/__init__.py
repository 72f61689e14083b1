"""Shared plumbing: device choice, checkpoints and the hub, video files, user-facing errors."""
