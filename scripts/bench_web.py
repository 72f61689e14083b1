"""Browser play (``--web``) speed, measured in a real headless Chromium on this machine:

- frames per second the page shows vs the frames the backend made in the same seconds (the page must not be
  the bottleneck), for the real Breakout at 60 FPS (a random player, so every frame changes) and the bundled
  DIAMOND Breakout model at its own speed; beside them, the same app without a browser (the backend's pace);
- input-to-photon latency on localhost: from a key event in the page to the first frame shown that reflects
  it (a probe backend paints the frame white while space is held), p50 and p95;
- the cost of encoding one frame as JPEG, PNG and WebP at the native sizes the server streams (a 64x64 world
  model, the 210x160 real Atari screen, a 360x640 Minecraft frame), against reading back and JPEG-encoding the
  whole 640x720 window (how the first version streamed): that is the baseline of the table.

  python scripts/bench_web.py                 # needs chromium and chromedriver (Debian: apt-get install ...)
  python scripts/bench_web.py --seconds 10 --presses 40
"""

import argparse
import io
import os
import shutil
import statistics
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np  # noqa: E402
from benchmark import measure, report  # noqa: E402
from PIL import Image  # noqa: E402

from worldmodels.play.address import Address  # noqa: E402
from worldmodels.play.app import PlayApp, PlayOptions  # noqa: E402
from worldmodels.play.backend import Backend, Step  # noqa: E402
from worldmodels.play.web import JPEG_QUALITY, WebPlay, WebServer, encode_frame  # noqa: E402

# In the page: on each new frame drawn, read one pixel of it (white = the key reached the game).
PROBE_JS = """
window.latencies = []; window.pressedAt = null;
screen.addEventListener('frame', () => {
  if (window.pressedAt === null) return;
  if (context.getImageData(screen.width / 2, screen.height / 2, 1, 1).data[0] > 128) {
    window.latencies.push(performance.now() - window.pressedAt); window.pressedAt = null;
    window.dispatchEvent(new KeyboardEvent('keyup', {code: 'Space'}));
  }
});
window.pressSpace = () => {
  window.pressedAt = performance.now(); window.dispatchEvent(new KeyboardEvent('keydown', {code: 'Space'}));
};
"""


class Probe(Backend):
    """A black 64x64 frame, white while space is held."""

    title, fps = "probe", 60.0

    def reset(self) -> np.ndarray:
        return np.zeros((64, 64, 3), np.uint8)

    def step(self, action) -> Step:
        return Step(np.full((64, 64, 3), 255 if action else 0, np.uint8))

    def action(self, inputs) -> bool:
        return "space" in inputs.keys

    def scripted_action(self, rng) -> bool:
        return False


def chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=900,1000"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def in_browser(backend: Backend, fps: float | None, session) -> object:
    """Serve ``backend`` and run ``session(driver, url, app)`` in a browser while this thread plays."""
    app = PlayApp(backend, PlayOptions(fps=fps))
    server = WebServer(Address("127.0.0.1", 0), app.options.out_dir, backend.title, False)
    server.start()
    app.frames_sent = 0  # new frames the server sent (a step whose frame did not change sends none)
    publish = server.publish

    def counted(frame, status=None):
        app.frames_sent += frame is not None
        publish(frame, status)

    server.publish = counted
    play, driver, result = WebPlay(app, server), chromium(), {}
    worker = threading.Thread(
        target=lambda: result.update(value=session(driver, f"http://127.0.0.1:{server.port}/", app))
    )
    try:
        worker.start()
        while worker.is_alive():
            play.tick()
    finally:
        driver.quit()
        app.close()
        server.stop()
    return result["value"]


def delivered(seconds: float, driver, url: str, app: PlayApp) -> tuple[float, float, float]:
    """(frames/s the page showed, new frames/s the server sent, steps/s the backend made), same ``seconds``."""
    driver.get(url)
    while driver.execute_script("return framesShown") < 5:
        time.sleep(0.05)
    shown, sent, steps = driver.execute_script("return framesShown"), app.frames_sent, app.num_steps
    start = time.perf_counter()
    time.sleep(seconds)
    elapsed = time.perf_counter() - start
    rates = driver.execute_script("return framesShown") - shown, app.frames_sent - sent, app.num_steps - steps
    return tuple(n / elapsed for n in rates)


def latencies(presses: int, driver, url: str, app: PlayApp) -> list[float]:
    driver.get(url)
    while driver.execute_script("return framesShown") < 1:  # the probe's frame changes only on a key
        time.sleep(0.05)
    driver.execute_script(PROBE_JS)
    for _ in range(presses):
        driver.execute_script("pressSpace()")
        deadline = time.monotonic() + 2
        while driver.execute_script("return window.pressedAt") is not None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.1)  # released: let the frame go black again
    return driver.execute_script("return window.latencies")


def window_latencies(presses: int) -> list[float]:
    """The same probe in the play app without a browser: from a key event posted at a random moment to the
    step that reflects it. This is the game's own wait for its next tick, which a window has too."""
    import pygame

    app, rng, result = PlayApp(Probe(), PlayOptions(fps=60.0)), np.random.default_rng(0), []
    pressed_at: list[float] = []

    def press():
        for _ in range(presses):
            time.sleep(0.1 + rng.uniform(0, 1 / 60))
            pressed_at.append(time.perf_counter())
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_SPACE, mod=0, unicode=" "))
            while len(result) < len(pressed_at):
                time.sleep(0.001)
            pygame.event.post(pygame.event.Event(pygame.KEYUP, key=pygame.K_SPACE, mod=0, unicode=" "))

    presser = threading.Thread(target=press)
    presser.start()
    while presser.is_alive():
        app.tick(pace=False)  # the window shows the frame here, before the app waits for the next one
        if app.frame[0, 0, 0] > 128 and len(result) < len(pressed_at):
            result.append((time.perf_counter() - pressed_at[-1]) * 1e3)
        app.pace()
    app.close()
    return result


def encode(frame: np.ndarray, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def real_frames() -> dict[str, np.ndarray]:
    """Frames of the kinds the page shows: real Breakout (and its 64x64 world-model size), Minecraft."""
    from worldmodels.play.atari import AtariBackend

    backend = AtariBackend("ALE/Breakout-v5", seed=0)
    backend.reset()
    for action in [1] * 40:
        breakout = backend.step(action).frame
    frames = {
        "64x64 world model": np.asarray(Image.fromarray(breakout).resize((64, 64), Image.BICUBIC)),
        "210x160 real Atari": breakout,
    }
    minecraft = Path(__file__).parents[1].parent / "shared/fixtures/oasis/sample_image_0.png"
    if minecraft.is_file():
        frames["360x640 Minecraft"] = np.asarray(Image.open(minecraft).convert("RGB").resize((640, 360)))
    else:
        print(f"  (no {minecraft}: the 360x640 row is left out)")
    return frames


def encodings(repeats: int) -> None:
    from worldmodels.play.atari import AtariBackend

    window = PlayApp(AtariBackend("ALE/Breakout-v5", seed=0), PlayOptions())
    whole_window = lambda: encode_frame(window.screen_array())  # noqa: E731 - JPEG: it is over 256x256
    timings = [measure("640x720 window read back + JPEG (baseline)", whole_window, repeats=repeats)]
    window.close()
    variants = {
        "JPEG q90": ("JPEG", {"quality": JPEG_QUALITY}),
        "PNG level 1": ("PNG", {"compress_level": 1}),
        "WebP lossless": ("WEBP", {"lossless": True, "method": 0}),
        "WebP q90": ("WEBP", {"quality": 90}),
    }
    for name, frame in real_frames().items():
        for label, (fmt, options) in variants.items():
            size = len(encode(frame, fmt, **options)) / 1024
            run = partial(encode, frame, fmt, **options)
            timings.append(measure(f"{name}: {label} ({size:.1f} KiB)", run, repeats=repeats))
    report("encoding one streamed frame (the server sends PNG up to 256x256 pixels, JPEG above)", timings, "frames")


class RandomPlayer(Backend):
    """A backend whose player acts at random, so that every frame changes (Breakout waits for FIRE)."""

    def __init__(self, backend: Backend):
        self.backend, self.title, self.fps, self.rng = backend, backend.title, backend.fps, np.random.default_rng(0)

    def reset(self) -> np.ndarray:
        return self.backend.reset()

    def step(self, action) -> Step:
        return self.backend.step(action)

    def action(self, inputs):
        return self.backend.scripted_action(self.rng)

    def scripted_action(self, rng):
        return self.backend.scripted_action(rng)


def without_browser(backend: Backend, fps: float | None, seconds: float) -> float:
    """Frames per second the same app makes with nobody watching: the backend's own pace."""
    app = PlayApp(backend, PlayOptions(fps=fps))
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        app.tick()
    made = app.num_steps / (time.perf_counter() - start)
    app.close()
    return made


def bundled_diamond() -> Backend:
    """The bundled Breakout world model as ``diamond-play --pretrained`` plays it (random actions)."""
    from worldmodels.data.episodes import EpisodeDataset
    from worldmodels.diamond.agent import load_agent
    from worldmodels.diamond.play import DiamondBackend, collect_starts
    from worldmodels.envs.atari import DiamondAtari
    from worldmodels.pretrained import DIAMOND_BREAKOUT

    agent = load_agent(DIAMOND_BREAKOUT)
    starts = EpisodeDataset(tempfile.mkdtemp(prefix="bench_web_starts_"))
    collect_starts(agent, DiamondAtari("Breakout", seed=0), 1000, starts)
    return DiamondBackend(agent, "Breakout", starts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="how long each delivery measurement runs")
    parser.add_argument("--presses", type=int, default=30, help="key presses for the latency")
    args = parser.parse_args()
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        raise SystemExit(
            "bench_web: needs chromium and chromedriver (Debian: apt-get install chromium chromium-driver)"
        )
    encodings(repeats=20)

    from worldmodels.play.atari import AtariBackend

    print("\nper second: frames shown in the page, new frames sent, steps made; and the app alone (no browser)")
    cases = {
        "real Breakout, --fps 60": (lambda: RandomPlayer(AtariBackend("ALE/Breakout-v5", seed=0)), 60.0),
        "bundled DIAMOND Breakout": (lambda: RandomPlayer(bundled_diamond()), None),
    }
    for name, (make, fps) in cases.items():
        alone = without_browser(make(), fps, args.seconds)
        shown, sent, made = in_browser(make(), fps, partial(delivered, args.seconds))
        print(
            f"  {name:<26} page {shown:5.1f}  sent {sent:5.1f} ({shown / sent:.0%} shown)  steps {made:5.1f}"
            f"  app alone {alone:5.1f} ({made / alone:.0%} of its pace while serving)"
        )

    print(f"\nkey to frame, a 60 FPS probe game, {args.presses} presses: p50 / p95")
    for name, ms in {
        "play app alone (its wait for the next tick)": window_latencies(args.presses),
        "in the page on localhost (input to photon)": in_browser(Probe(), 60.0, partial(latencies, args.presses)),
    }.items():
        print(f"  {name:<44} {statistics.median(ms):5.1f} / {float(np.percentile(ms, 95)):5.1f} ms")


if __name__ == "__main__":
    main()
