import os
import signal
import subprocess
import sys
import time

import numpy as np
import pygame
import pytest
import torch

from worldmodels.core.video import read_frames
from worldmodels.oasis.actions import action_from_input
from worldmodels.play.app import PlayApp, PlayOptions
from worldmodels.play.backend import Backend, InputState, Step


class CountingBackend(Backend):
    """Frames whose brightness encodes the step count; remembers every input it was given."""

    title = "Counting test"
    uses_mouse = True

    def __init__(self):
        self.t = 0
        self.inputs: list[InputState] = []
        self.resets = 0
        self.keys_seen: list[str] = []

    def reset(self):
        self.t = 0
        self.resets += 1
        return self._frame()

    def _frame(self):
        return np.full((16, 24, 3), self.t * 10 % 256, np.uint8)

    def step(self, action):
        self.t += 1
        return Step(self._frame(), {"t": self.t}, done=self.t >= 1000)

    def action(self, inputs):
        self.inputs.append(inputs)
        return inputs

    def scripted_action(self, rng):
        return InputState()

    def help_lines(self):
        return ["x       does a thing"]

    def on_key(self, key):
        self.keys_seen.append(key)
        return key == "z"


def press(key: int):
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=0, unicode="", scancode=0))


def release(key: int):
    pygame.event.post(pygame.event.Event(pygame.KEYUP, key=key, mod=0, unicode="", scancode=0))


@pytest.fixture
def app(tmp_path):
    backend = CountingBackend()
    app = PlayApp(backend, PlayOptions(size=96, fps=1000, out_dir=tmp_path))
    yield app
    app.close()


def test_held_keys_and_mouse_reach_the_backend(app):
    press(pygame.K_w)
    press(pygame.K_SPACE)
    app.tick()
    assert app.backend.inputs[-1].keys == {"w", "space"}
    release(pygame.K_w)
    app.tick()
    assert app.backend.inputs[-1].keys == {"space"}
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=(5, 5)))  # captures the mouse
    app.tick()
    for rel in ((7, -3), (2, 1)):
        pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, rel=rel, pos=(5, 5), buttons=(0, 0, 0)))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=3, pos=(5, 5)))
    app.tick()
    assert (app.backend.inputs[-1].mouse_dx, app.backend.inputs[-1].mouse_dy) == (9, -2)  # the frame's motion
    assert app.backend.inputs[-1].mouse_last == (2, 1)  # its last event
    assert app.backend.inputs[-1].mouse_buttons == (False, False, True)
    app.tick()
    assert (app.backend.inputs[-1].mouse_dx, app.backend.inputs[-1].mouse_dy) == (0, 0)  # motion is relative
    assert app.backend.inputs[-1].mouse_last == (0, 0)
    press(pygame.K_ESCAPE)  # first Esc releases the mouse, the second quits
    assert app.tick() and not app.mouse_captured
    pygame.event.post(pygame.event.Event(pygame.WINDOWFOCUSGAINED))  # back in the window: captured again
    assert app.tick() and app.mouse_captured
    pygame.event.post(pygame.event.Event(pygame.WINDOWFOCUSLOST))
    assert app.tick() and not app.mouse_captured
    press(pygame.K_ESCAPE)
    assert not app.tick()


def test_pause_stops_stepping_and_e_steps_once(app):
    app.tick()
    assert app.backend.t == 1
    press(pygame.K_PERIOD)
    for _ in range(3):
        app.tick()
    assert app.backend.t == 1 and app.hud_fields()["mode"] == "PAUSED"
    press(pygame.K_e)
    app.tick()
    app.tick()
    assert app.backend.t == 2
    press(pygame.K_PERIOD)
    app.tick()
    assert app.backend.t == 3


def test_enter_and_backend_keys_reset(app):
    app.tick()
    app.tick()
    press(pygame.K_RETURN)
    app.tick()
    assert app.backend.resets == 2 and app.backend.t == 1
    assert app.hud_fields()["step"] == 1 and app.num_steps == 3  # the header counts the new episode's steps
    press(pygame.K_z)
    app.tick()
    assert app.backend.keys_seen == ["z"] and app.backend.resets == 3


def test_recording_writes_one_frame_per_step(app, tmp_path):
    press(pygame.K_r)
    for _ in range(6):
        app.tick()
    press(pygame.K_r)
    app.tick()
    videos = list(tmp_path.glob("*.mp4"))
    assert len(videos) == 1
    video = read_frames(videos[0])
    assert video.shape == (6, 3, 96 * 16 // 24 + app.header_height, 96)
    brightness = video[:, :, -10, 48].float().mean(dim=1)  # a pixel inside the frame area
    assert brightness[-1] > brightness[0] + 30  # later frames are brighter: the steps, in order


def test_a_paused_game_records_nothing(app, tmp_path):
    press(pygame.K_r)
    app.tick()
    app.tick()
    press(pygame.K_PERIOD)
    for _ in range(3):
        app.tick()
    press(pygame.K_r)
    app.tick()
    (video,) = tmp_path.glob("*.mp4")
    assert read_frames(video).shape[0] == 2


def test_screenshot_and_help_overlay(app, tmp_path):
    app.tick()
    plain = app.screen_array()
    press(pygame.K_h)
    app.tick()
    assert np.abs(app.screen_array().astype(int) - plain).sum() > 0  # the overlay is drawn
    press(pygame.K_p)
    app.tick()
    shots = list(tmp_path.glob("*.png"))
    assert len(shots) == 1 and shots[0].name.startswith("counting-")
    assert read_frames(shots[0]).shape[2:] == plain.shape[:2]


def test_header_shows_app_and_backend_fields(app):
    app.tick()
    fields = app.hud_fields()
    assert fields["step"] == 1 and fields["t"] == 1 and "FPS" in fields
    app.step_times = [0.1, 0.1, 0.1]  # seconds per model step
    assert app.hud_fields()["model FPS"] == "10.0"


def test_headless_cli_writes_atari_gameplay(tmp_path):
    out = tmp_path / "breakout.mp4"
    cmd = [sys.executable, "-m", "worldmodels.play", "--env", "ALE/Breakout-v5", "--headless"]
    env = os.environ | {"SDL_VIDEODRIVER": "dummy"}
    result = subprocess.run(cmd + ["--frames", "40", "--out", str(out), "--seed", "1"], env=env, capture_output=True)
    assert result.returncode == 0, result.stderr
    video = read_frames(out)
    assert video.shape[0] == 40
    assert video.float().std() > 10  # a real picture, not a blank screen
    copy = tmp_path / "episodes/ale-breakout-v5"  # the training copy, one folder per game
    game = read_frames(copy / "breakout.mp4")  # Atari's own 210 x 160 frames
    assert game.shape == (40, 3, 210, 160) and len(np.load(copy / "breakout.actions.npy")) == 40
    bad = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.strip().endswith("error: --headless needs --out FILE.mp4 (the video it writes)")


def test_sigterm_stops_a_headless_run_like_ctrl_c(tmp_path):
    out = tmp_path / "long.mp4"
    cmd = [sys.executable, "-m", "worldmodels.play", "--headless", "--frames", "100000", "--out", str(out)]
    played = subprocess.Popen(cmd, env=os.environ | {"SDL_VIDEODRIVER": "dummy"}, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".long.*.mp4")):  # the video's temporary file: frames are being written
        assert played.poll() is None and time.monotonic() < deadline, played.stderr.read()
        time.sleep(0.2)
    time.sleep(1)  # a few frames
    played.send_signal(signal.SIGTERM)
    played.communicate(timeout=60)
    assert played.returncode == 130  # as Ctrl-C, not 0 (SDL would report a closed window) nor a kill
    assert not list(tmp_path.glob(".long.*"))  # no temporary file left behind
    assert not out.exists() or read_frames(out).shape[0] >= 1  # the frames played so far (none if stopped at once)


def test_a_window_without_a_display_is_refused_in_one_line(monkeypatch, capsys):
    from worldmodels.play.__main__ import main

    for name in ("SDL_VIDEODRIVER", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    with pytest.raises(SystemExit) as stopped:
        main(["--env", "ALE/Breakout-v5"])
    assert stopped.value.code == 2 and "no display to open a window on: play headless" in capsys.readouterr().err


class BrightBackend(CountingBackend):
    """Light grey frames (far from the help panel's and the REC mark's colours); ``on_step`` runs in step."""

    on_step = None
    delay = 0.0

    def _frame(self):
        return np.full((16, 24, 3), 200, np.uint8)

    def step(self, action):
        if self.on_step is not None:
            self.on_step()
        time.sleep(self.delay)
        return super().step(action)


def red_pixels(screen: np.ndarray) -> int:
    r, g, b = (screen[..., i].astype(int) for i in range(3))
    return int(((r > 200) & (g < 120) & (b < 120)).sum())


def test_input_is_drawn_before_a_slow_model_steps(tmp_path):
    """Pressing r shows the REC mark at once, not after the next (possibly seconds long) model step."""
    backend = BrightBackend()
    app = PlayApp(backend, PlayOptions(size=96, fps=1000, out_dir=tmp_path))
    seen = []
    backend.on_step = lambda: seen.append(red_pixels(pygame.surfarray.array3d(pygame.display.get_surface())))
    app.tick()
    press(pygame.K_r)
    app.tick()
    app.close()
    assert seen[0] == 0 and seen[1] > 0


def test_outputs_of_a_game_with_a_slash_in_its_name_land_in_the_output_folder(tmp_path):
    backend = CountingBackend()
    backend.title = "ALE/Breakout-v5 (real game)"
    app = PlayApp(backend, PlayOptions(size=96, fps=1000, out_dir=tmp_path))
    app.tick()
    shot = app.screenshot()
    app.close()
    assert shot.parent == tmp_path and shot.name.startswith("ale-breakout-v5-")


def test_help_is_an_opaque_panel(tmp_path):
    """The header under the help panel changes (the step count), the panel does not."""
    app = PlayApp(BrightBackend(), PlayOptions(size=96, fps=1000, out_dir=tmp_path))
    press(pygame.K_h)
    app.tick()
    first = app.screen_array()
    for _ in range(11):
        app.tick()
    later = app.screen_array()
    app.close()
    assert (first[: app.header_height] != later[: app.header_height]).any()  # the header did change
    panel = (slice(10, app.header_height), slice(10, 90))  # inside the panel, over the header
    assert np.array_equal(first[panel], later[panel])


def test_a_recording_shows_the_game_not_the_window_overlays_at_the_pace_played(tmp_path):
    """Help panel, messages and the REC mark stay out of the video; a slow model's 5 steps last as long as
    they took to play, not 5 / fps seconds."""
    import av

    backend = BrightBackend()
    backend.delay = 0.2
    app = PlayApp(backend, PlayOptions(size=96, fps=30, out_dir=tmp_path))
    press(pygame.K_r)
    press(pygame.K_h)
    for _ in range(5):
        app.tick()
    press(pygame.K_r)
    app.tick()
    app.close()
    (video,) = tmp_path.glob("*.mp4")
    frames = read_frames(video).permute(0, 2, 3, 1).numpy()
    assert frames.shape[0] == 5
    assert all(red_pixels(frame) == 0 for frame in frames)
    inside_the_frame = frames[:, app.header_height + 10 : app.header_height + 40, 10:60]
    assert np.abs(inside_the_frame.astype(int) - 200).max() <= 8  # the game's grey, not the help panel
    with av.open(str(video)) as container:
        times = [float(f.time) for f in container.decode(video=0)]
    assert times[0] == 0.0 and 0.6 < times[-1] < 1.6, times  # 4 intervals of about 0.2 s, not 4 / 30 s


def test_a_scripted_run_shows_no_display_fps_or_rec(tmp_path):
    app = PlayApp(CountingBackend(), PlayOptions(size=96, headless=True, record_to=tmp_path / "run.mp4"),
                  policy=lambda rng: InputState())  # fmt: skip
    assert app.hud_fields()["model FPS"] == "-" and app.hud_fields()["mode"] == "PLAYING"
    app.tick()
    fields = app.hud_fields()
    app.close()
    assert "FPS" not in fields and fields["model FPS"] != "-"


# ----- the training copy of a recording ----------------------------------------------------------------


class ActionBackend(CountingBackend):
    """Noise frames of an odd size (only exact pixels survive, and no padding), different in every step and
    episode; ``action`` a Python int, or a numpy one while "d" is held; episodes of ``length`` steps. ``log``
    holds (the frame stepped from, the action) of every step."""

    length = 1000

    def __init__(self):
        super().__init__()
        self.log: list[tuple[np.ndarray, object]] = []

    def _frame(self):
        self.current = np.random.default_rng(1000 * self.resets + self.t).integers(0, 256, (15, 21, 3), np.uint8)
        return self.current

    def action(self, inputs):
        return np.int64(2) if "d" in inputs.keys else 1

    def step(self, action):
        self.log.append((self.current, action))
        self.t += 1
        return Step(self._frame(), {}, done=self.t >= self.length)


def game_frames(path) -> np.ndarray:
    return read_frames(path).permute(0, 2, 3, 1).numpy()


def test_a_recording_has_a_lossless_training_copy_with_the_actions(tmp_path):
    """Frame k and action k are those of the k-th recorded step; the MP4 gives back exactly the game's frames
    (max error 0), and episodes-import reads the pair."""
    from worldmodels.data.episodes import EpisodeDataset
    from worldmodels.data.video_import import import_videos

    backend = ActionBackend()
    app = PlayApp(backend, PlayOptions(size=96, fps=1000, out_dir=tmp_path))
    app.tick()  # not recorded
    press(pygame.K_r)
    app.tick()
    app.tick()
    press(pygame.K_d)
    for _ in range(3):
        app.tick()
    release(pygame.K_d)
    app.tick()
    press(pygame.K_r)
    app.tick()  # stopped before this step: the frame it steps from is not in the copy
    app.close()
    (viewer,) = tmp_path.glob("*.mp4")
    clip = tmp_path / "episodes/counting" / viewer.name
    recorded = backend.log[1:7]
    assert np.array_equal(game_frames(clip), np.stack([frame for frame, _ in recorded]))
    actions = np.load(clip.with_name(f"{viewer.stem}.actions.npy"))
    assert actions.dtype == np.int64 and actions.tolist() == [1, 1, 2, 2, 2, 1] == [a for _, a in recorded]
    assert len(read_frames(viewer)) == 6 and str(clip) in app.message
    assert import_videos(tmp_path / "episodes/counting", tmp_path / "imported", size=8, num_actions=3) == (1, 6)
    assert EpisodeDataset(tmp_path / "imported")[0].act.tolist() == actions.tolist()


class VectorBackend(ActionBackend):
    """Oasis' actions: 25 floats per step."""

    def scripted_action(self, rng):
        return action_from_input(frozenset({"w"}), float(rng.normal(0, 20)), 0.0, (False, True, False), 0.5)


def test_oasis_actions_are_saved_as_float_rows_oasis_encode_reads(tmp_path):
    """torch and numpy vectors alike; a run that quits while recording finishes the copy."""
    from worldmodels.oasis.actions import read_action_rows

    backend = VectorBackend()
    steps = iter(range(100))

    def policy(rng):  # every other action as numpy float64
        action = backend.scripted_action(rng)
        return action if next(steps) % 2 else action.numpy().astype(np.float64)

    app = PlayApp(backend, PlayOptions(size=96, headless=True, out_dir=tmp_path, record_to=tmp_path / "run.mp4"),
                  policy=policy)  # fmt: skip
    app.run(max_frames=4)
    rows = read_action_rows(tmp_path / "episodes/counting/run.one_hot_actions.pt")
    assert rows.dtype == torch.float32 and rows.shape == (4, 25)
    assert torch.equal(rows, torch.stack([torch.as_tensor(a, dtype=torch.float32) for _, a in backend.log]))
    assert len(read_frames(tmp_path / "episodes/counting/run.mp4")) == 4


def test_an_episode_end_starts_the_next_clip(tmp_path):
    """Each clip holds one episode's frames (not the last one, which nothing was stepped from); the viewer's
    video goes on across the reset."""
    backend = ActionBackend()
    backend.length = 3
    app = PlayApp(backend, PlayOptions(size=96, headless=True, out_dir=tmp_path, record_to=tmp_path / "run.mp4"),
                  policy=lambda rng: int(rng.integers(3)))  # fmt: skip
    app.run(max_frames=5)
    clips = sorted((tmp_path / "episodes/counting").glob("*.mp4"))
    assert [clip.name for clip in clips] == ["run.mp4", "run_1.mp4"]
    for clip, steps in zip(clips, (backend.log[:3], backend.log[3:])):
        assert np.array_equal(game_frames(clip), np.stack([frame for frame, _ in steps]))
        assert np.load(clip.with_suffix(".actions.npy")).tolist() == [a for _, a in steps]
    assert len(read_frames(tmp_path / "run.mp4")) == 5


def test_actions_no_trainer_reads_record_video_only_and_say_so_once(app, tmp_path, capsys):
    for _ in range(2):  # CountingBackend's actions are whole InputStates
        press(pygame.K_r)
        app.tick()
        app.tick()
        press(pygame.K_r)
        app.tick()
    assert len(list(tmp_path.glob("*.mp4"))) == 2 and not (tmp_path / "episodes").exists()
    assert capsys.readouterr().out.count("recording video only: InputState actions") == 1


def test_a_viewer_whose_keys_are_not_game_moves_records_video_only(tmp_path, capsys):
    backend = ActionBackend()
    backend.game_actions = False  # as the dataset viewer: its int "actions" step through the data
    app = PlayApp(backend, PlayOptions(size=96, headless=True, out_dir=tmp_path, record_to=tmp_path / "run.mp4"),
                  policy=lambda rng: 1)  # fmt: skip
    app.run(max_frames=3)
    assert len(read_frames(tmp_path / "run.mp4")) == 3 and not (tmp_path / "episodes").exists()
    assert "recording video only: its keys are not moves in a game" in capsys.readouterr().out


def test_a_recording_of_no_frames_leaves_nothing(tmp_path):
    app = PlayApp(ActionBackend(), PlayOptions(size=96, fps=1000, out_dir=tmp_path))
    press(pygame.K_PERIOD)
    app.tick()
    press(pygame.K_r)
    app.tick()
    press(pygame.K_r)
    app.tick()
    app.close()
    assert list(tmp_path.rglob("*")) == []
