"""Browser play (``--web``) speed, measured in a real headless Chromium on this machine:

- frames per second the page shows vs the frames the backend made in the same seconds (the page must not be
  the bottleneck), for the real Breakout at 60 FPS and the bundled DIAMOND Breakout model at its own speed;
- input-to-photon latency on localhost: from a key event in the page to the first frame shown that reflects
  it (a probe backend paints the frame white while space is held), p50 and p95;
- the cost of encoding one streamed window as JPEG (what the server sends), PNG and WebP, at a 64x64 game's
  and a 360x640 game's window size: JPEG is the baseline of that table.

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

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np  # noqa: E402
from benchmark import measure, report  # noqa: E402
from PIL import Image  # noqa: E402

from worldmodels.play.address import Address  # noqa: E402
from worldmodels.play.app import PlayApp, PlayOptions  # noqa: E402
from worldmodels.play.backend import Backend, Step  # noqa: E402
from worldmodels.play.web import WebPlay, WebServer  # noqa: E402

# In the page: on each new frame, read one pixel of it (white = the key reached the game).
PROBE_JS = """
window.latencies = []; window.pressedAt = null;
const probe = document.createElement('canvas'); probe.width = probe.height = 1;
const context = probe.getContext('2d', {willReadFrequently: true});
screen.addEventListener('load', () => {
  if (window.pressedAt === null) return;
  context.drawImage(screen, screen.naturalWidth / 2, screen.naturalHeight - 20, 1, 1, 0, 0, 1, 1);
  if (context.getImageData(0, 0, 1, 1).data[0] > 128) {
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


def delivered(seconds: float, driver, url: str, app: PlayApp) -> tuple[float, float]:
    """(frames/s the page showed, frames/s the backend made) over the same ``seconds``."""
    driver.get(url)
    while driver.execute_script("return framesShown") < 5:
        time.sleep(0.05)
    shown, steps, start = driver.execute_script("return framesShown"), app.num_steps, time.perf_counter()
    time.sleep(seconds)
    elapsed = time.perf_counter() - start
    return (driver.execute_script("return framesShown") - shown) / elapsed, (app.num_steps - steps) / elapsed


def latencies(presses: int, driver, url: str, app: PlayApp) -> list[float]:
    driver.get(url)
    while driver.execute_script("return framesShown") < 5:
        time.sleep(0.05)
    driver.execute_script(PROBE_JS)
    for _ in range(presses):
        driver.execute_script("pressSpace()")
        deadline = time.monotonic() + 2
        while driver.execute_script("return window.pressedAt") is not None and time.monotonic() < deadline:
            time.sleep(0.005)
        time.sleep(0.1)  # released: let the frame go black again
    return driver.execute_script("return window.latencies")


def encode(frame: np.ndarray, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def encodings(repeats: int) -> None:
    rng = np.random.default_rng(0)
    for name, (height, width) in {"64x64 game (640x720 window)": (720, 640), "360x640 game": (440, 640)}.items():
        game = rng.integers(0, 256, (height // 10, width // 10, 3), dtype=np.uint8)  # blocky, like upscaled pixels
        frame = np.ascontiguousarray(np.repeat(np.repeat(game, 10, axis=0), 10, axis=1))
        variants = {"JPEG q90": ("JPEG", {"quality": 90}), "PNG": ("PNG", {}), "WebP q90": ("WEBP", {"quality": 90})}
        timings = []
        for label, (fmt, options) in variants.items():
            size = len(encode(frame, fmt, **options)) / 1024
            timings.append(
                measure(f"{label} ({size:.0f} KiB)", partial(encode, frame, fmt, **options), repeats=repeats)
            )
        report(f"encoding one streamed window, {name}", timings, unit="frames")


def bundled_diamond() -> Backend:
    """The bundled Breakout world model as ``diamond-play --pretrained`` plays it (random actions)."""
    from worldmodels.data.episodes import EpisodeDataset
    from worldmodels.diamond.agent import load_agent
    from worldmodels.diamond.play import DiamondBackend, collect_starts
    from worldmodels.envs.atari import DiamondAtari
    from worldmodels.pretrained import DIAMOND_BREAKOUT

    agent = load_agent(DIAMOND_BREAKOUT)
    starts = EpisodeDataset(tempfile.mkdtemp(prefix="bench_web_starts_"))
    collect_starts(agent, DiamondAtari("Breakout", seed=0), 1000, starts, False)
    return DiamondBackend(agent, "Breakout", starts, policy_trained=False)


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

    print("\nframes per second: shown in the page vs made by the backend")
    cases = {
        "real Breakout, --fps 60": (lambda: AtariBackend("ALE/Breakout-v5", seed=0), 60.0),
        "bundled DIAMOND Breakout": (bundled_diamond, None),
    }
    for name, (make, fps) in cases.items():
        shown, made = in_browser(make(), fps, partial(delivered, args.seconds))
        print(f"  {name:<28} page {shown:6.1f}  backend {made:6.1f}  ({shown / made:.0%} of the frames shown)")

    ms = in_browser(Probe(), 60.0, partial(latencies, args.presses))
    p50, p95 = statistics.median(ms), float(np.percentile(ms, 95))
    print(f"\ninput to photon on localhost (60 FPS probe, {len(ms)} presses): p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    print(f"  of which waiting for the next frame of a 60 FPS game: up to {1000 / 60:.1f} ms")


if __name__ == "__main__":
    main()
