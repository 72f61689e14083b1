// The page of `--web`: shows the frames the server's play app draws and sends the keyboard and mouse back.
// The app does everything else (HUD, help on h, pause, reset, recording on the server), so this stays small.
"use strict";
const screen = document.getElementById("screen");
const state = document.getElementById("state");
const message = document.getElementById("message");
const token = new URLSearchParams(location.search).get("token");
const query = token ? "?token=" + encodeURIComponent(token) : "";
let socket = null, role = "", usesMouse = false, frameUrl = null, framesShown = 0;

// KeyboardEvent.code -> pygame key name (what the app's key maps use).
function keyName(code) {
  if (code.startsWith("Key")) return code.slice(3).toLowerCase();
  if (code.startsWith("Digit")) return code.slice(5);
  if (code.startsWith("Numpad") && /^\d$/.test(code.slice(6))) return "[" + code.slice(6) + "]";
  if (/^F\d+$/.test(code)) return code.toLowerCase();
  const named = {
    ArrowLeft: "left", ArrowRight: "right", ArrowUp: "up", ArrowDown: "down", Space: "space", Enter: "return",
    NumpadEnter: "enter", Escape: "escape", Tab: "tab", Backspace: "backspace", ShiftLeft: "left shift",
    ShiftRight: "right shift", ControlLeft: "left ctrl", ControlRight: "right ctrl", AltLeft: "left alt",
    AltRight: "right alt", Period: ".", Comma: ",", Minus: "-", Equal: "=", Slash: "/", Backslash: "\\",
    Semicolon: ";", Quote: "'", BracketLeft: "[", BracketRight: "]", Backquote: "`",
  };
  return named[code] || null;
}

function send(obj) {
  if (socket && socket.readyState === WebSocket.OPEN && role === "player") socket.send(JSON.stringify(obj));
}

function showStatus(s) {
  role = s.role;
  usesMouse = s.uses_mouse;
  state.textContent = role === "player" ? "connected: you play" : "connected: watching (another page plays)";
  state.className = "";
  if (s.message !== undefined) {
    message.textContent = s.message || "";
    if (s.link) {
      const a = document.createElement("a");
      a.href = s.link;
      a.textContent = " download";
      a.id = "download";
      message.appendChild(a);
    }
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  socket = new WebSocket(scheme + location.host + "/ws" + query);
  socket.binaryType = "blob";
  socket.onmessage = (event) => {
    if (typeof event.data === "string") { showStatus(JSON.parse(event.data)); return; }
    const url = URL.createObjectURL(event.data);
    screen.onload = () => { if (frameUrl) URL.revokeObjectURL(frameUrl); frameUrl = url; framesShown += 1; };
    screen.src = url;
  };
  socket.onclose = () => {
    state.textContent = "disconnected: reconnecting…";
    state.className = "bad";
    role = "";
    setTimeout(connect, 1000);
  };
}

function screenshot() {  // the frame as shown, downloaded as a PNG (the server also saves one)
  const canvas = document.createElement("canvas");
  canvas.width = screen.naturalWidth;
  canvas.height = screen.naturalHeight;
  canvas.getContext("2d").drawImage(screen, 0, 0);
  canvas.toBlob((blob) => {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "worldmodels-" + new Date().toISOString().replace(/[:.]/g, "-") + ".png";
    a.click();
  }, "image/png");
}

window.addEventListener("keydown", (e) => {
  const key = keyName(e.code);
  if (!key) return;
  e.preventDefault();
  if (e.repeat) return;
  if (key === "p") screenshot();
  send({ type: "key", key: key, down: true });
});
window.addEventListener("keyup", (e) => {
  const key = keyName(e.code);
  if (key) { e.preventDefault(); send({ type: "key", key: key, down: false }); }
});
window.addEventListener("blur", () => send({ type: "release" }));
screen.addEventListener("mousedown", (e) => {
  if (usesMouse && document.pointerLockElement !== screen) screen.requestPointerLock();
  send({ type: "button", button: e.button + 1, down: true });
});
window.addEventListener("mouseup", (e) => send({ type: "button", button: e.button + 1, down: false }));
document.addEventListener("mousemove", (e) => {
  if (document.pointerLockElement === screen) send({ type: "mouse", dx: e.movementX, dy: e.movementY });
});
screen.addEventListener("contextmenu", (e) => e.preventDefault());
connect();
