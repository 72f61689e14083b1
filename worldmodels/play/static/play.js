// The page of `--web`: shows the game frames the server's play app makes (at their native size, upscaled here
// with pixelated rendering) and the header, help and messages it sends as data; sends keyboard and mouse back.
// The app does everything else (pause, reset, recording on the server, what h shows), so this stays small.
"use strict";
const screen = document.getElementById("screen");  // a canvas: frames are decoded off the main thread
const context = screen.getContext("2d");
const state = document.getElementById("state");
const message = document.getElementById("message");
const hud = document.getElementById("hud");
const help = document.getElementById("help");
const rec = document.getElementById("rec");
const token = new URLSearchParams(location.search).get("token");
const query = token ? "?token=" + encodeURIComponent(token) : "";
let socket = null, role = "", usesMouse = false, framesShown = 0, shownMessage = null;

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
  if (s.hud !== undefined) {
    const line = ([k, v]) => Object.assign(document.createElement("div"), { textContent: k + ": " + v });
    hud.replaceChildren(...s.hud.map(line));
    hud.hidden = s.hud.length === 0;
    help.hidden = !s.help;
    help.textContent = s.help ? ["Keys (h to close)", ...s.help].join("\n") : "";
    rec.hidden = !s.rec;
    screen.style.width = s.width + "px";
  }
  if (s.message !== undefined && s.message !== shownMessage) {
    shownMessage = s.message;
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
    createImageBitmap(event.data).then((bitmap) => {
      if (screen.width !== bitmap.width || screen.height !== bitmap.height) {
        screen.width = bitmap.width;
        screen.height = bitmap.height;
      }
      context.drawImage(bitmap, 0, 0);
      bitmap.close();
      framesShown += 1;
      screen.dispatchEvent(new Event("frame"));
    });
  };
  socket.onclose = () => {
    state.textContent = "disconnected: reconnecting…";
    state.className = "bad";
    role = "";
    setTimeout(connect, 1000);
  };
}

function screenshot() {  // the frame as shown, downloaded as a PNG (the server also saves one)
  screen.toBlob((blob) => {
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
