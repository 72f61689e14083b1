"""``--web``: the play app served to a browser. The server is tested over its WebSocket, and the page in a real
headless Chromium (skipped with a reason where none is installed; .ci/run installs Debian's)."""

import asyncio
import functools
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable

import aiohttp
import numpy as np
import pytest
from PIL import Image

from worldmodels.core.errors import UserError
from worldmodels.core.video import read_frames
from worldmodels.play.address import Address, parse_address
from worldmodels.play.app import PlayApp, PlayOptions
from worldmodels.play.backend import Backend, Step
from worldmodels.play.cli import add_play_arguments, parse_play_args
from worldmodels.play.web import WebPlay, WebServer, encode_frame, parse_input


class Recorder(Backend):
    """A frame that changes every step; remembers the keys each step saw."""

    title = "recorder"
    fps = 30.0

    def __init__(self):
        self.keys: list[frozenset] = []

    def reset(self) -> np.ndarray:
        return np.zeros((64, 64, 3), np.uint8)

    def step(self, action) -> Step:
        self.keys.append(action)
        frame = np.zeros((64, 64, 3), np.uint8)
        frame[:, len(self.keys) % 64] = 255
        return Step(frame, {"keys": ",".join(sorted(action)) or "-"})

    def action(self, inputs):
        return inputs.keys

    def scripted_action(self, rng):
        return frozenset()


@pytest.fixture
def served(tmp_path):
    """(WebPlay over a Recorder, its server) on a free loopback port, with a token required."""
    app = PlayApp(Recorder(), PlayOptions(out_dir=tmp_path))
    server = WebServer(Address("127.0.0.1", 0), tmp_path, "recorder", False, token="secret")
    server.start()
    yield WebPlay(app, server), server
    app.close()
    server.stop()


def drive(play: WebPlay, client: Callable[[], object], timeout: float = 30.0) -> object:
    """Tick the app on this (the main) thread while ``client`` runs on another; its result."""
    result: dict[str, object] = {}

    def run():
        try:
            result["value"] = client()
        except BaseException as e:  # noqa: BLE001 - re-raised on the test's thread
            result["error"] = e

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + timeout
    while thread.is_alive() and time.monotonic() < deadline:
        play.tick()
    thread.join(timeout=1)
    if "error" in result:
        raise result["error"]
    assert "value" in result, "the client did not finish in time"
    return result["value"]


def socket_session(server: WebServer, script: Callable, token: str = "secret") -> Callable[[], object]:
    """A client that opens the WebSocket and runs ``await script(ws)``."""

    async def session():
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(f"http://127.0.0.1:{server.port}/ws?token={token}") as ws:
                return await script(ws)

    return lambda: asyncio.run(session())


async def next_frame(ws) -> bytes:
    while True:
        message = await ws.receive(timeout=10)
        if message.type == aiohttp.WSMsgType.BINARY:
            return message.data


async def press(ws, key: str, seconds: float = 0.3) -> None:
    await ws.send_str(json.dumps({"type": "key", "key": key, "down": True}))
    await asyncio.sleep(seconds)
    await ws.send_str(json.dumps({"type": "key", "key": key, "down": False}))
    await asyncio.sleep(0.1)


def test_messages_are_checked_and_bad_ones_dropped():
    assert parse_input('{"type": "key", "key": "left", "down": true}') == ("key", "left", True)
    assert parse_input('{"type": "mouse", "dx": 3, "dy": -2.5}') == ("mouse", 3.0, -2.5)
    assert parse_input('{"type": "button", "button": 1, "down": false}') == ("button", 1, False)
    assert parse_input('{"type": "release"}') == ("release",)
    for bad in [
        "not json",
        "[1, 2]",
        '{"type": "shell", "cmd": "rm"}',
        '{"type": "key", "key": "left"}',
        '{"type": "key", "key": 5, "down": true}',
        '{"type": "key", "key": "' + "x" * 40 + '", "down": true}',
        '{"type": "mouse", "dx": true, "dy": 1}',
        '{"type": "mouse", "dx": 1e300, "dy": 1}',
        '{"type": "button", "button": 9, "down": true}',
        '{"type": "release", "pad": "' + "x" * 2000 + '"}',
    ]:
        assert parse_input(bad) is None, bad


def test_small_frames_stream_losslessly_and_large_ones_as_jpeg():
    rng = np.random.default_rng(0)
    pixel_art = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(encode_frame(pixel_art)))), pixel_art)
    photo = rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)
    assert encode_frame(photo)[:2] == b"\xff\xd8"


def test_addresses_default_to_loopback_and_bad_ones_are_refused():
    assert parse_address("8000") == Address("127.0.0.1", 8000) and parse_address("8000").local
    assert parse_address("0.0.0.0:9000") == Address("0.0.0.0", 9000) and not parse_address("0.0.0.0:9000").local
    for bad in ("", "http", "1:99999", "host:"):
        with pytest.raises(UserError, match="PORT or HOST:PORT"):
            parse_address(bad)
    assert WebServer(Address("127.0.0.1", 0), None, "t", False).token is None
    assert len(WebServer(Address("0.0.0.0", 0), None, "t", False).token) >= 16


def test_every_play_command_takes_web_and_refuses_it_with_headless():
    import argparse

    parser = argparse.ArgumentParser()
    add_play_arguments(parser)
    assert parse_play_args(parser, ["--web", "0"]).web == Address("127.0.0.1", 0)
    with pytest.raises(SystemExit):
        parse_play_args(parser, ["--web", "8000", "--headless", "--out", "x.mp4"])


def test_a_wrong_or_missing_token_is_refused(served):
    _, server = served
    base = f"http://127.0.0.1:{server.port}"
    for url in (f"{base}/", f"{base}/?token=wrong", f"{base}/ws", f"{base}/files/x.mp4"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=5)
        assert refused.value.code == 403, url
    page = urllib.request.urlopen(f"{base}/?token=secret", timeout=5).read().decode()
    assert "<title>recorder" in page and "play.js" in page


def test_frames_stream_and_keys_reach_the_backend_after_bad_messages(served):
    play, server = served

    async def script(ws):
        first = await next_frame(ws)
        for junk in ("{", '{"type": "format", "disk": true}', "x" * 5000, '{"type": "key", "key": 1}'):
            await ws.send_str(junk)
        await press(ws, "right")
        return first, await next_frame(ws)

    first, later = drive(play, socket_session(server, script))
    assert first != later, "frames that change"
    shown = np.asarray(Image.open(io.BytesIO(later)))
    assert shown.shape == (64, 64, 3) and set(np.unique(shown)) == {0, 255}, "the game frame, native and exact"
    assert (shown == 255).all(axis=(0, 2)).sum() == 1, "the Recorder's one white column"
    assert frozenset({"right"}) in play.app.backend.keys, "the key did not reach the backend"
    assert play.app.running


def test_a_frame_goes_out_before_the_app_waits_for_its_next_one(served):
    """The window shows a frame before the app's wait for the next tick; the page must get it as early."""
    play, server = served
    order = []
    server.publish = lambda frame, status=None: order.append("frame" if frame is not None else "status")
    play.app.pace = lambda: order.append("wait")
    play.tick()
    assert order == ["frame", "wait"]


def test_a_second_page_watches_and_cannot_steer(served):
    play, server = served

    async def script(player):
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(f"http://127.0.0.1:{server.port}/ws?token=secret") as watcher:
                status = json.loads((await watcher.receive(timeout=10)).data)
                await next_frame(watcher)
                await press(watcher, "left")
                return status

    status = drive(play, socket_session(server, script))
    assert status["role"] == "watcher"
    assert not any("left" in keys for keys in play.app.backend.keys)


def test_recording_is_written_on_the_server_and_linked(served, tmp_path):
    play, server = served

    async def script(ws):
        await next_frame(ws)
        await press(ws, "r", 0.05)
        await asyncio.sleep(0.5)
        await press(ws, "r", 0.05)
        while True:
            message = await ws.receive(timeout=10)
            if message.type == aiohttp.WSMsgType.TEXT and json.loads(message.data).get("link"):
                return json.loads(message.data)

    status = drive(play, socket_session(server, script))
    assert status["message"].startswith("saved ") and status["link"].endswith("?token=secret")
    video = urllib.request.urlopen(f"http://127.0.0.1:{server.port}{status['link']}", timeout=5).read()
    (tmp_path / "copy.mp4").write_bytes(video)
    assert len(read_frames(tmp_path / "copy.mp4")) >= 5


# ----- a real browser ----------------------------------------------------------------------------
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("no Chromium with its driver (Debian: apt-get install chromium chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=900,800"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


class BreakoutRecorder:
    """The real Breakout backend, remembering the action names it played."""

    def __new__(cls):
        from worldmodels.play.atari import AtariBackend

        backend = AtariBackend("ALE/Breakout-v5", seed=0)
        backend.played, step = [], backend.step

        def recorded(action):
            result = step(action)
            backend.played.append(result.info["action"])
            return result

        backend.step = recorded
        return backend


def test_breakout_plays_in_a_real_browser(browser, tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    backend = BreakoutRecorder()
    app = PlayApp(backend, PlayOptions(out_dir=tmp_path))
    server = WebServer(Address("127.0.0.1", 0), tmp_path, backend.title, False, token="secret")
    server.start()
    play = WebPlay(app, server)

    def wait_for(condition, seconds=15.0):
        deadline = time.monotonic() + seconds
        while not condition():
            assert time.monotonic() < deadline, "timed out"
            time.sleep(0.05)

    def frames_shown() -> int:
        """-1 until play.js has run (a loaded machine may still be fetching it when the page reports loaded)."""
        return browser.execute_script('return typeof framesShown === "undefined" ? -1 : framesShown')

    def hold(key, seconds=0.4):
        ActionChains(browser).key_down(key).pause(seconds).key_up(key).perform()

    def session():
        browser.get(f"http://127.0.0.1:{server.port}/?token=wrong")
        refused = "wrong or missing token" in browser.page_source
        browser.get(f"http://127.0.0.1:{server.port}/?token=secret")
        wait_for(lambda: frames_shown() >= 1)  # a frame is sent when it changes: Breakout waits for FIRE
        shown = frames_shown()
        size = browser.execute_script("return [screen.width, screen.height]")
        hold(Keys.SPACE)  # FIRE serves the ball
        wait_for(lambda: frames_shown() >= shown + 5)
        hud = browser.find_element(By.ID, "hud").text
        hold("h", 0.1)
        wait_for(lambda: app.show_help)
        wait_for(lambda: browser.find_element(By.ID, "help").is_displayed())
        help_text = browser.find_element(By.ID, "help").text
        hold("r", 0.1)
        wait_for(lambda: app.recorder is not None)
        wait_for(lambda: browser.find_element(By.ID, "rec").is_displayed())
        wait_for(lambda: app.recorder.num_frames >= 10)
        hold("r", 0.1)
        wait_for(lambda: browser.find_elements(By.ID, "download"))
        state = browser.find_element(By.ID, "state").text
        rec_after = browser.find_element(By.ID, "rec").is_displayed()
        return refused, shown, size, state, frames_shown(), hud, help_text, rec_after

    try:
        refused, shown, size, state, shown_later, hud, help_text, rec_after = drive(play, session, timeout=60)
    finally:
        app.close()
        server.stop()
    assert refused, "a wrong token must be refused"
    assert shown_later > shown >= 1 and size == list(play.last_frame.shape[1::-1])
    assert "FIRE" in backend.played, "the browser's space key never reached the game"
    assert "mode: PLAYING" in hud and "step: " in hud, hud
    assert "Keys (h to close)" in help_text and "Enter   reset the episode" in help_text, help_text
    assert not rec_after, "the REC mark stays after the recording stopped"
    assert state == "connected: you play"
    videos = list(tmp_path.glob("*.mp4"))
    assert len(videos) == 1 and len(read_frames(videos[0])) >= 10


def test_a_play_command_prints_its_url_serves_the_page_and_stops_on_ctrl_c(tmp_path):
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "PYTHONFAULTHANDLER": "1"}  # SIGABRT dumps every thread
    command = [sys.executable, "-m", "worldmodels.play", "--web", "0", "--out-dir", str(tmp_path)]
    # Ctrl-C in a terminal: the command must not inherit an ignored SIGINT (pytest run in the background)
    default_sigint = functools.partial(signal.signal, signal.SIGINT, signal.SIG_DFL)
    game = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=default_sigint
    )
    try:
        lines = []
        while len(lines) < 2:  # ALE's banner comes first
            line = game.stdout.readline()
            assert line, "the command ended without printing its URL"
            lines += [line] if line.startswith(("open ", "on a remote")) else []
        url = lines[0].split()[1]
        assert url.startswith("http://localhost:") and "ssh -L" in lines[1], lines
        assert "ALE/Breakout-v5" in urllib.request.urlopen(url, timeout=10).read().decode()
        game.send_signal(signal.SIGINT)
        try:
            rest, _ = game.communicate(timeout=60)
        except subprocess.TimeoutExpired:  # show where it hangs
            game.send_signal(signal.SIGABRT)
            pytest.fail(f"no exit within 60 s of Ctrl-C; its threads:\n{game.communicate(timeout=30)[0]}")
    finally:
        game.kill()
    assert game.returncode == 130 and "stopped the server" in rest, rest
