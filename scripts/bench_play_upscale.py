"""How the play app scales a 64x64 frame to a 640x640 window: numpy repeat (baseline) vs pygame."""

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np  # noqa: E402
import pygame  # noqa: E402
from benchmark import measure, report  # noqa: E402


def main() -> None:
    frame = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    pygame.display.init()

    def numpy_repeat():
        big = frame.repeat(10, axis=0).repeat(10, axis=1)
        return pygame.surfarray.make_surface(big.swapaxes(0, 1))

    def pygame_scale():
        surface = pygame.surfarray.make_surface(np.ascontiguousarray(frame.swapaxes(0, 1)))
        return pygame.transform.scale(surface, (640, 640))

    timings = [
        measure("numpy repeat + surface", numpy_repeat, repeats=200),
        measure("pygame scale", pygame_scale, repeats=200),
    ]
    report("Nearest-neighbour upscale 64x64 -> 640x640 (one frame)", timings, unit="frames")


if __name__ == "__main__":
    main()
