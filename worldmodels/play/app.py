"""The pygame play app: window, HUD, help overlay, pause/step, reset, screenshots, MP4 recording.

One frame of the loop is ``tick()`` (events -> maybe step -> draw -> record) so tests can drive it with
posted events. Headless runs use SDL's dummy video driver and a scripted policy.

A recording holds what a viewer should see: the frame and the header, captured before the window's own
overlays (help, messages, the REC mark) are drawn. A person's play is recorded at the pace it was played (a
slow model gives a slow video, as it looked), a scripted run at the target frame rate. Beside it, in an
``episodes/`` folder, goes its training copy: the game's own frames with the actions taken at them
(``training_copy``), for games whose actions the training commands read.
"""

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.progress import MofNCompleteColumn, Progress

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame  # noqa: E402

from worldmodels.core.files import atomic_path  # noqa: E402
from worldmodels.core.video import VideoWriter  # noqa: E402
from worldmodels.play.backend import Backend, InputState, Step  # noqa: E402
from worldmodels.play.training_copy import TrainingCopy  # noqa: E402

APP_HELP = [
    "h       show / hide this help",
    ".       pause / resume",
    "e       one step (while paused)",
    "Enter   reset the episode",
    "p       screenshot (PNG)",
    "{record_key:8}start / stop recording (MP4, and a training copy)",
    "Esc     quit (release the mouse first, if captured)",
]
HEADER_ROWS = 4
LINE_HEIGHT = 18
MESSAGE_SECONDS = 3.0


@dataclass
class PlayOptions:
    size: int | None = None  # display width of the frame in px (nearest-neighbour scaling)
    fps: float | None = None  # target frame rate; None = the backend's
    header: bool = True
    out_dir: Path = Path("data/play")  # screenshots and recordings
    record_to: Path | None = None  # record from the first frame to this file
    headless: bool = False
    fullscreen: bool = False


class PlayApp:
    def __init__(self, backend: Backend, options: PlayOptions | None = None, policy: Callable | None = None):
        """``policy(rng) -> action`` replaces the keyboard (headless runs); None = the player."""
        self.backend = backend
        self.options = options or PlayOptions()
        self.policy = policy
        self.rng = np.random.default_rng(0)
        if self.options.headless:
            os.environ["SDL_VIDEODRIVER"] = "dummy"
        pygame.display.init()  # not pygame.init(): the app needs no sound, and audio init is noisy on servers
        pygame.font.init()
        self.font = pygame.font.Font(None, 22)
        self.fps_target = self.options.fps or backend.fps
        self.paused = False
        self.single_step = False
        self.show_help = False
        self.running = True
        self.held: dict[str, None] = {}  # an ordered set: press order matters to some games
        self.mouse_rel = [0.0, 0.0]
        self.mouse_last = (0.0, 0.0)
        self.mouse_buttons = [False, False, False]
        self.mouse_captured = False
        self.recorder: VideoWriter | None = None
        self.training: TrainingCopy | None = None  # exactly while recording
        self.said_video_only = False
        self.message, self.message_until = "", 0.0
        self.clock = pygame.time.Clock()
        self.step_times: list[float] = []
        self.num_steps = 0  # in all, for --frames
        self.episode_steps = 0  # since the last reset, shown in the header
        self.last_step: Step | None = None
        self.record_time = 0.0  # seconds of play recorded so far (pauses do not count)
        self.last_tick = time.monotonic()
        self.frame = backend.reset()
        self.screen = self._open_window(self.frame)
        if self.options.record_to is not None:
            self._start_recording(self.options.record_to)

    # ----- window -------------------------------------------------------------------------
    def _open_window(self, frame: np.ndarray) -> pygame.Surface:
        h, w = frame.shape[:2]
        width = self.options.size or max(w, 640 if w < 320 else w)
        self.frame_size = (width, round(width * h / w))
        self.header_height = (HEADER_ROWS * LINE_HEIGHT + 8) if self.options.header else 0
        pygame.display.set_caption(self.backend.title)
        flags = pygame.FULLSCREEN | pygame.SCALED if self.options.fullscreen and not self.options.headless else 0
        return pygame.display.set_mode((self.frame_size[0], self.frame_size[1] + self.header_height), flags)

    def _capture_mouse(self, on: bool) -> None:
        self.mouse_captured = on
        pygame.event.set_grab(on)
        pygame.mouse.set_visible(not on)

    # ----- one frame ----------------------------------------------------------------------
    def tick(self, pace: bool = True) -> bool:
        """Handle input, step the backend unless paused, draw, record, then wait for the next frame's time
        (without ``pace`` the caller calls ``pace()`` once it has shown the frame). False once the app should
        quit."""
        if self._handle_events() and self.running:
            self._draw()  # input shows at once (REC, pause, help), not only after a slow model's next frame
        if not self.running:
            return False
        stepped = not self.paused or self.single_step
        now = time.monotonic()
        if stepped:
            self._step()
            if self.recorder is not None and self.recorder.num_frames:  # the first frame is at 0 s
                self.record_time += 1 / self.fps_target if self.single_step else now - self.last_tick
            self.single_step = False
        self.last_tick = now
        self._draw(record=stepped)
        if pace:
            self.pace()
        return True

    def pace(self) -> None:
        """Wait until the next frame is due: a person plays at the target FPS, a script as fast as it can."""
        self.clock.tick(self.fps_target if self.policy is None else 0)

    def run(self, max_frames: int | None = None) -> None:
        """Loop until quit, or for ``max_frames`` steps (with a progress bar: a big model on a CPU is slow)."""
        if self.policy is None:
            print("\n".join(["Controls:", *self.app_help(), *self.backend.help_lines()]))
        progress = Progress(*Progress.get_default_columns(), MofNCompleteColumn(), disable=max_frames is None)
        task = progress.add_task("playing", total=max_frames)
        try:
            with progress:
                while self.tick():
                    progress.update(task, completed=self.num_steps)
                    if max_frames is not None and self.num_steps >= max_frames:
                        break
        finally:
            self.close()

    def close(self) -> None:
        self._stop_recording()
        self.backend.close()
        pygame.quit()

    def _step(self) -> None:
        if self.policy is not None:
            action = self.policy(self.rng)
        else:
            inputs = InputState(
                frozenset(self.held), *self.mouse_rel, tuple(self.mouse_buttons), tuple(self.held), self.mouse_last
            )
            action = self.backend.action(inputs)
        self.mouse_rel, self.mouse_last = [0.0, 0.0], (0.0, 0.0)
        if self.training is not None and not self.training.add(self.frame, action):
            self._say_video_only(action)
        start = time.perf_counter()
        result = self.backend.step(action)
        self.step_times = (self.step_times + [time.perf_counter() - start])[-30:]
        self.num_steps += 1
        self.episode_steps += 1
        self.frame, self.last_step = result.frame, result
        if result.done:
            self._reset()

    def _reset(self) -> None:
        if self.training is not None:
            self.training.cut()
        self.frame = self.backend.reset()
        self.last_step = None
        self.episode_steps = 0

    # ----- input --------------------------------------------------------------------------
    def _handle_events(self) -> bool:
        """Apply the pending input; True if there was any."""
        events = pygame.event.get()
        for event in events:
            if event.type == pygame.QUIT:
                self.running = False
            elif event.type == pygame.KEYDOWN:
                self._on_keydown(pygame.key.name(event.key))
            elif event.type == pygame.KEYUP:
                self.held.pop(pygame.key.name(event.key), None)
            elif event.type == pygame.MOUSEMOTION and self.mouse_captured:
                self.mouse_rel[0] += event.rel[0]
                self.mouse_rel[1] += event.rel[1]
                self.mouse_last = (float(event.rel[0]), float(event.rel[1]))
            elif event.type == pygame.MOUSEBUTTONDOWN:
                if self.backend.uses_mouse and not self.mouse_captured:
                    self._capture_mouse(True)
                elif 1 <= event.button <= 3:
                    self.mouse_buttons[event.button - 1] = True
            elif event.type == pygame.MOUSEBUTTONUP and 1 <= event.button <= 3:
                self.mouse_buttons[event.button - 1] = False
            elif event.type == pygame.WINDOWFOCUSLOST and self.mouse_captured:
                self._capture_mouse(False)
            elif event.type == pygame.WINDOWFOCUSGAINED and self.backend.uses_mouse and self.policy is None:
                self._capture_mouse(True)
        return bool(events)

    def _on_keydown(self, key: str) -> None:
        if key == "escape":
            if self.mouse_captured:
                self._capture_mouse(False)
            else:
                self.running = False
        elif key == "h":
            self.show_help = not self.show_help
        elif key == ".":
            self.paused = not self.paused
        elif key == "e" and self.paused:
            self.single_step = True
        elif key == "return":
            self._reset()
        elif key == "p":
            self.screenshot()
        elif key == self.backend.record_key:
            self.toggle_recording()
        else:
            self.held[key] = None
            if self.backend.on_key(key):
                self._reset()

    def app_help(self) -> list[str]:
        return [line.format(record_key=self.backend.record_key) for line in APP_HELP]

    # ----- outputs ------------------------------------------------------------------------
    def screen_array(self) -> np.ndarray:
        """The window as an H x W x 3 uint8 array."""
        return pygame.surfarray.array3d(self.screen).swapaxes(0, 1).copy()

    def _game_name(self) -> str:
        """The game in file names: ``ALE/Breakout-v5 (real game)`` -> ``ale-breakout-v5``."""
        return re.sub(r"[^a-z0-9]+", "-", self.backend.title.split()[0].lower()).strip("-")

    def _timestamped(self, suffix: str) -> Path:
        self.options.out_dir.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.options.out_dir / f"{self._game_name()}-{stamp}{suffix}"
        n = 1
        while path.exists():
            path = path.with_name(f"{path.stem}-{n}{suffix}")
            n += 1
        return path

    def screenshot(self) -> Path:
        from PIL import Image

        path = self._timestamped(".png")
        with atomic_path(path) as tmp:
            Image.fromarray(self.screen_array()).save(tmp, format="PNG")
        self._say(f"saved {path}")
        return path

    def toggle_recording(self) -> None:
        if self.recorder is None:
            self._start_recording(self._timestamped(".mp4"))
            self._say(f"recording to {self.recorder.path}")
        else:
            self._stop_recording()

    def _start_recording(self, path: Path) -> None:
        """The viewer's video at ``path``, its training copy in ``episodes/<game>/`` beside it: one folder per
        game, so that a training command never mixes two games' clips."""
        self.recorder = VideoWriter(path, self.fps_target)
        if self.backend.game_actions:
            folder = path.parent / "episodes" / self._game_name()
            self.training = TrainingCopy(folder, path.stem, self.fps_target)
        else:
            self._say_video_only(None)
        self.record_time = 0.0

    def _stop_recording(self) -> None:
        if self.recorder is None:
            return
        recorder, self.recorder = self.recorder, None
        clips, self.training = (self.training.close() if self.training is not None else []), None
        if recorder.num_frames == 0:
            recorder.discard()
            return
        path = recorder.close()
        self._say(f"saved {path} ({recorder.num_frames} frames){describe_clips(clips)}")

    def _say_video_only(self, action) -> None:
        """Once: a recording of actions the training commands cannot read is for watching only."""
        if not self.said_video_only:
            self.said_video_only = True
            if not self.backend.game_actions:
                what = "its keys are not moves in a game"
            else:
                what = "the game picks its own actions" if action is None else f"{type(action).__name__} actions"
            self._say(f"recording video only: {what}, not saved for training")

    def _say(self, message: str) -> None:
        print(message)
        self.message, self.message_until = message, time.monotonic() + MESSAGE_SECONDS

    # ----- drawing ------------------------------------------------------------------------
    def _draw(self, record: bool = False) -> None:
        """The frame and header; with ``record``, into the recording; then the window's own overlays."""
        self.screen.fill((0, 0, 0))
        surface = pygame.surfarray.make_surface(np.ascontiguousarray(self.frame.swapaxes(0, 1)))
        self.screen.blit(pygame.transform.scale(surface, self.frame_size), (0, self.header_height))
        if self.options.header:
            self._draw_header()
        if record and self.recorder is not None:
            self.recorder.write(self.screen_array(), at=self.record_time if self.policy is None else None)
        if self.recorder is not None and not self.options.headless:
            self._draw_lines(["REC"], (self.screen.get_width() - 44, 4), colour=(255, 60, 60), background=True)
        if self.show_help:
            self._draw_help()
        if time.monotonic() < self.message_until:
            self._draw_lines([self.message], (8, self.screen.get_height() - LINE_HEIGHT - 8), background=True)
        pygame.display.flip()

    def hud_fields(self) -> dict[str, object]:
        """Everything the header shows: the app's state, then the backend's. A scripted run (headless) is
        not paced, so its display FPS would say nothing: only the model's own speed is shown."""
        fields = {
            "mode": "PAUSED" if self.paused else "PLAYING",
            "step": self.episode_steps,
            "model FPS": f"{len(self.step_times) / sum(self.step_times):.1f}" if self.step_times else "-",
        }
        if self.policy is None:
            fields["FPS"] = f"{self.clock.get_fps():.1f}"
        fields.update(self.backend.hud())
        if self.last_step is not None:
            fields.update(self.last_step.info)
        return fields

    def _draw_header(self) -> None:
        items = [f"{k}: {v}" for k, v in self.hud_fields().items()]
        columns = [items[i : i + HEADER_ROWS] for i in range(0, len(items), HEADER_ROWS)]
        column_width = self.frame_size[0] // max(len(columns), 1)
        for c, lines in enumerate(columns):
            self._draw_lines(lines, (8 + c * column_width, 4))

    def _draw_help(self) -> None:
        """On an opaque panel: the header below must not show through the key list."""
        lines = ["Keys (h to close)", *self.app_help(), "", *self.backend.help_lines()]
        width = max(self.font.size(line)[0] for line in lines) + 24
        panel = pygame.Rect(8, 8, width, len(lines) * LINE_HEIGHT + 16)
        pygame.draw.rect(self.screen, (24, 24, 32), panel)
        pygame.draw.rect(self.screen, (120, 120, 140), panel, width=1)
        self._draw_lines(lines, (panel.x + 12, panel.y + 8))

    def _draw_lines(
        self, lines: list[str], origin: tuple[int, int], background: bool = False, colour=(255, 255, 255)
    ) -> None:
        x, y = origin
        for i, line in enumerate(lines):
            text = self.font.render(line, True, colour, (0, 0, 0) if background else None)
            self.screen.blit(text, (x, y + i * LINE_HEIGHT))


def describe_clips(clips: list[Path]) -> str:
    """The training copy, for the message line after the viewer's video: short, the line is one row."""
    if not clips:
        return ""
    if len(clips) == 1:
        return f", training copy {clips[0]}"
    return f", training copy: {len(clips)} clips in {clips[0].parent}"
