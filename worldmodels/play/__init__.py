"""The pygame play app: any world model or environment plugs in through ``Backend``."""

from worldmodels.play.backend import Backend, InputState, Step

__all__ = ["Backend", "InputState", "Step"]
