"""The play app in a browser, for a GPU box without a display: ``--web [HOST:]PORT`` on every play command.

The browser is a second front-end of the same ``PlayApp``, not a second game loop: the app runs as always (on
SDL's dummy video driver, stepping, pacing, recording, screenshots and key maps in one place), and this module
streams what its window would show: the game frame at its native size (the page upscales it with pixelated
rendering: a 64x64 frame costs 0.1 ms to encode where the 640x720 window cost 16 ms to read back and encode),
and the header, help and messages as data the page draws. The page's key and mouse events come back as the
pygame events the app already handles.

aiohttp serves the page, the files and the WebSocket from one small, well-kept package with no ASGI server
to configure; it runs on its own thread and event loop, because pygame wants the main thread.

Safe by default: bound to 127.0.0.1; bound to any other address, every request needs the random token in
the printed URL (as Jupyter does). The first page connected plays, the others watch. Messages are checked
and the bad ones dropped; Ctrl-C stops the server and the app closes its recording.
"""

import asyncio
import io
import json
import math
import queue
import secrets
import threading
from pathlib import Path

import numpy as np
import pygame
from aiohttp import WSMsgType, web
from PIL import Image

from worldmodels.core.errors import UserError
from worldmodels.play.address import Address
from worldmodels.play.app import PlayApp

STATIC = Path(__file__).with_name("static")
MAX_MESSAGE_BYTES = 1024  # the page's messages are tiny; anything larger is dropped unread
JPEG_QUALITY = 90
# Frames up to this many pixels go as PNG: lossless pixel art for 0.1-0.3 ms (scripts/bench_web.py); larger,
# photographic ones (Oasis, CS:GO) as JPEG, 4-8x faster to encode than PNG there.
PNG_MAX_PIXELS = 256 * 256
MAX_MOUSE_MOTION = 10_000.0


def parse_input(text: str) -> tuple | None:
    """One message of the page -> ("key", name, down) | ("mouse", dx, dy) | ("button", 1-3, down) |
    ("release",); None for anything else (malformed, unknown, oversized), which the caller drops."""
    if len(text) > MAX_MESSAGE_BYTES:
        return None
    try:
        message = json.loads(text)
    except ValueError:
        return None
    if not isinstance(message, dict):
        return None
    kind, down = message.get("type"), message.get("down")
    if kind == "key" and isinstance(message.get("key"), str) and 0 < len(message["key"]) <= 32:
        return ("key", message["key"], down) if isinstance(down, bool) else None
    if kind == "mouse":
        dx, dy = message.get("dx"), message.get("dy")
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (dx, dy))
        if numbers and all(math.isfinite(v) and abs(v) <= MAX_MOUSE_MOTION for v in (dx, dy)):
            return ("mouse", float(dx), float(dy))
        return None
    if kind == "button" and message.get("button") in (1, 2, 3) and isinstance(down, bool):
        return ("button", message["button"], down)
    if kind == "release":
        return ("release",)
    return None


def to_pygame_event(message: tuple) -> pygame.event.Event | None:
    """A parsed page message as the event the window would have produced (None: a key pygame lacks)."""
    kind = message[0]
    if kind == "key":
        try:
            code = pygame.key.key_code(message[1])
        except ValueError:
            return None
        return pygame.event.Event(pygame.KEYDOWN if message[2] else pygame.KEYUP, key=code, mod=0, unicode="")
    if kind == "mouse":
        return pygame.event.Event(pygame.MOUSEMOTION, rel=message[1:], pos=(0, 0), buttons=(0, 0, 0))
    if kind == "button":
        event_type = pygame.MOUSEBUTTONDOWN if message[2] else pygame.MOUSEBUTTONUP
        return pygame.event.Event(event_type, button=message[1], pos=(0, 0))
    return None


def encode_frame(frame: np.ndarray) -> bytes:
    """One game frame as the page receives it: PNG for small frames, JPEG for large ones."""
    buffer = io.BytesIO()
    if frame.shape[0] * frame.shape[1] <= PNG_MAX_PIXELS:
        Image.fromarray(frame).save(buffer, format="PNG", compress_level=1)
    else:
        Image.fromarray(frame).save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


class Client:
    """One open page: its socket and a flag that a newer frame waits (older ones are skipped, not queued)."""

    def __init__(self, socket: web.WebSocketResponse):
        self.socket, self.wake = socket, asyncio.Event()


class WebServer:
    """The HTTP + WebSocket side, on its own thread. The app's thread calls ``publish`` and ``inputs``."""

    def __init__(self, address: Address, out_dir: Path, title: str, uses_mouse: bool, token: str | None = None):
        self.address, self.out_dir, self.title, self.uses_mouse = address, out_dir, title, uses_mouse
        self.token = token if token is not None else (None if address.local else secrets.token_urlsafe(16))
        self.pending: queue.SimpleQueue = queue.SimpleQueue()  # parsed inputs of the player, oldest first
        self.frame: bytes | None = None
        self.status: dict[str, object] = {}
        self.clients: list[Client] = []  # the first one plays
        self.loop: asyncio.AbstractEventLoop | None = None  # the server thread's, made when it starts
        self.port = address.port
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="web play", daemon=True)

    # ----- the app's thread ----------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            raise UserError(f"--web {self.address.host}:{self.address.port}: cannot listen there ({self._error})")

    @property
    def url(self) -> str:
        host = "localhost" if self.address.local else self.address.host
        return f"http://{host}:{self.port}/" + (f"?token={self.token}" if self.token else "")

    def inputs(self) -> list[tuple]:
        out = []
        while not self.pending.empty():
            out.append(self.pending.get())
        return out

    def publish(self, frame: bytes | None, status: dict[str, object] | None = None) -> None:
        """A new encoded frame and/or status for every page (thread-safe)."""
        self.loop.call_soon_threadsafe(self._publish, frame, status)

    def stop(self) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout=5)

    # ----- the server's thread -------------------------------------------------------------
    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        app.router.add_get("/", self._page)
        app.router.add_get("/play.js", self._script)
        app.router.add_get("/ws", self._socket)
        app.router.add_get("/files/{name}", self._file)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        try:
            self.loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, self.address.host, self.address.port)
            self.loop.run_until_complete(site.start())
            self.port = runner.addresses[0][1]
        except OSError as e:
            self._error = e
            self._started.set()
            self.loop.close()
            return
        self._started.set()
        try:
            self.loop.run_forever()
        finally:
            self.loop.run_until_complete(runner.cleanup())
            self.loop.close()

    def _allowed(self, request: web.Request) -> bool:
        return self.token is None or secrets.compare_digest(request.query.get("token", ""), self.token)

    def _refuse(self) -> web.Response:
        return web.Response(status=403, text="wrong or missing token: open the URL the play command printed\n")

    async def _page(self, request: web.Request) -> web.StreamResponse:
        if not self._allowed(request):
            return self._refuse()
        html = (STATIC / "play.html").read_text().replace("{{title}}", self.title)
        return web.Response(text=html, content_type="text/html")

    async def _script(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "play.js", headers={"Content-Type": "text/javascript"})

    async def _file(self, request: web.Request) -> web.StreamResponse:
        """A screenshot or recording the app saved (its name only: no path leaves ``out_dir``)."""
        name = request.match_info["name"]
        path = self.out_dir / name
        if not self._allowed(request):
            return self._refuse()
        if "/" in name or name.startswith(".") or path.suffix not in (".mp4", ".png") or not path.is_file():
            return web.Response(status=404, text="no such file\n")
        return web.FileResponse(path)

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        if not self._allowed(request):
            return self._refuse()
        socket = web.WebSocketResponse(max_msg_size=64 * 1024, heartbeat=10)
        await socket.prepare(request)
        client = Client(socket)
        self.clients.append(client)
        sender = asyncio.ensure_future(self._send(client))
        try:
            async for message in socket:
                if message.type != WSMsgType.TEXT or client is not self.clients[0]:
                    continue  # watchers only watch
                parsed = parse_input(message.data)
                if parsed is not None:
                    self.pending.put(parsed)
        finally:
            playing = client is self.clients[0]
            self.clients.remove(client)
            sender.cancel()
            if playing:
                self.pending.put(("release",))  # keys held by a page that left must not stay down
                for other in self.clients:
                    other.wake.set()  # the next page plays: tell it
        return socket

    def _hello(self, client: Client) -> str:
        role = "player" if self.clients and client is self.clients[0] else "watcher"
        return json.dumps({"type": "status", "role": role, "uses_mouse": self.uses_mouse, **self.status})

    async def _send(self, client: Client) -> None:
        sent_frame, sent_status = None, None
        while not client.socket.closed:
            status = self._hello(client)
            if status != sent_status:
                await client.socket.send_str(status)
                sent_status = status
            if self.frame is not None and self.frame is not sent_frame:
                sent_frame = self.frame
                await client.socket.send_bytes(sent_frame)
            await client.wake.wait()
            client.wake.clear()

    def _publish(self, frame: bytes | None, status: dict[str, object] | None) -> None:
        if frame is not None:
            self.frame = frame
        if status is not None:
            self.status = status
        for client in self.clients:
            client.wake.set()


class WebPlay:
    """Drives a ``PlayApp`` for a ``WebServer``: page inputs in; the game frame and what the window shows
    around it (header, help, REC, messages) out."""

    def __init__(self, app: PlayApp, server: WebServer):
        self.app, self.server = app, server
        self.last_frame: np.ndarray | None = None
        self.last_status: dict[str, object] | None = None

    def tick(self) -> bool:
        for message in self.server.inputs():
            if message[0] == "release":
                self.app.held.clear()
                self.app.mouse_buttons = [False, False, False]
            elif message == ("key", "escape", True):
                continue  # Esc frees the browser's mouse; the page cannot quit the server (Ctrl-C does)
            elif (event := to_pygame_event(message)) is not None:
                pygame.event.post(event)
        running = self.app.tick(pace=False)  # the frame goes out first, then the app waits for its next one
        frame = None
        if self.last_frame is None or not np.array_equal(self.app.frame, self.last_frame):
            self.last_frame = self.app.frame.copy()
            frame = encode_frame(self.last_frame)
        status = self.status()
        if status == self.last_status:
            status = None
        else:
            self.last_status = status
        if frame is not None or status is not None:
            self.server.publish(frame, status)
        if running:
            self.app.pace()
        return running

    def status(self) -> dict[str, object]:
        """What the window shows besides the frame, for the page to draw."""
        app = self.app
        return {
            "hud": [[str(k), str(v)] for k, v in app.hud_fields().items()] if app.options.header else [],
            "help": [*app.app_help(), "", *app.backend.help_lines()] if app.show_help else None,
            "rec": app.recorder is not None,
            "width": app.frame_size[0],
            "message": app.message,  # the last one stays in the page's status bar, with its download link
            "link": self._link(app.message),
        }

    def _link(self, message: str) -> str | None:
        """The URL of a file the app just saved (``saved data/play/x.mp4 (42 frames)``), else None."""
        if not message.startswith("saved "):
            return None
        name = Path(message.removeprefix("saved ").split(" (")[0]).name
        token = f"?token={self.server.token}" if self.server.token else ""
        return f"/files/{name}{token}"


def serve(app: PlayApp, address: Address) -> None:
    """Play ``app`` in the browser until Ctrl-C (or SIGTERM; or until the app quits)."""
    server = WebServer(address, app.options.out_dir, app.backend.title, app.backend.uses_mouse)
    try:  # Ctrl-C goes on up (the command ends with status 130, as every play command does), after this cleans up
        server.start()
        print(f"open {server.url} in a browser to play (Ctrl-C here stops)", flush=True)
        if address.local:
            port = server.port
            print(
                f"on a remote machine? forward the port first: ssh -L {port}:localhost:{port} <this host>", flush=True
            )
        play = WebPlay(app, server)
        while play.tick():
            pass
    finally:
        app.close()
        server.stop()
        print("stopped the server", flush=True)
