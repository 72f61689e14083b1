"""A scripted Breakout player that serves and follows the ball, so that recorded data shows the game being
played: the ball in flight, bricks breaking, the score changing (a random policy rarely serves and almost
never hits the ball back, so a world model trained on its play never learns what a rally looks like).

It reads the ball and paddle positions from the Atari's RAM (addresses of the AtariARI annotations, Anand et
al. 2019: ball x 99, ball y 101, paddle x 72): about 17 points a game against 1.5 for random play. The
collector's epsilon mixes in random actions, so every action is still seen in every situation."""

import numpy as np

from worldmodels.core.errors import UserError

BALL_X, BALL_Y, PADDLE_X = 99, 101, 72
PADDLE_CENTRE = 8  # the paddle's x in RAM is its left edge, in the same units as the ball's x
DEAD_ZONE = 3


class BreakoutTracker:
    """Action for the current state of a ``DiamondAtari("Breakout")`` game: FIRE while no ball is in play,
    else move the paddle's centre under the ball."""

    def __init__(self, action_meanings: list[str]):
        if action_meanings != ["NOOP", "FIRE", "RIGHT", "LEFT"]:
            raise UserError(f"the Breakout tracker plays Breakout only, not a game with actions {action_meanings}")

    def __call__(self, ram: np.ndarray) -> int:
        if ram[BALL_Y] == 0:
            return 1  # FIRE: serve
        offset = int(ram[BALL_X]) - (int(ram[PADDLE_X]) + PADDLE_CENTRE)
        return 2 if offset > DEAD_ZONE else 3 if offset < -DEAD_ZONE else 0
