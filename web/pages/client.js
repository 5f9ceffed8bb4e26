// The browser client of tlspush (served at /): connect to /ws, send text messages, show what
// arrives. Everything shown is set with textContent: a message is never parsed as HTML.

const $ = (id) => document.getElementById(id);
const urlInput = $("url");
const connectButton = $("connect");
const disconnectButton = $("disconnect");
const messageInput = $("message");
const sendButton = $("send");
const log = $("log");
const stateBadge = $("state");
const counts = { in: 0, out: 0 };

/** Keep the page responsive however much arrives. */
const MAX_LOG_ENTRIES = 500;

const scheme = location.protocol === "https:" ? "wss:" : "ws:";
urlInput.value = `${scheme}//${location.host}/ws`;

/** @type {WebSocket | undefined} */
let socket;
/** Texts sent and not yet echoed: an arriving message that matches one is an echo. */
const awaitingEcho = [];

function setState(state, label = state) {
  stateBadge.dataset.state = state;
  stateBadge.textContent = label;
  const open = state === "connected";
  const idle = state === "disconnected" || state === "error";
  connectButton.disabled = !idle;
  urlInput.disabled = !idle;
  disconnectButton.disabled = idle;
  messageInput.disabled = !open;
  sendButton.disabled = !open;
}

function addEntry(kind, tag, text) {
  const item = document.createElement("li");
  item.className = kind;
  const time = document.createElement("span");
  time.className = "time";
  time.textContent = new Date().toLocaleTimeString();
  const label = document.createElement("span");
  label.className = "tag";
  label.textContent = tag;
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  item.append(time, label, body);
  const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  log.append(item);
  while (log.childElementCount > MAX_LOG_ENTRIES) log.firstElementChild.remove();
  if (atBottom) log.scrollTop = log.scrollHeight;
}

function count(direction) {
  counts[direction]++;
  $(`count-${direction}`).textContent = String(counts[direction]);
}

function connect() {
  let url;
  try {
    url = new URL(urlInput.value.trim());
    if (url.protocol !== "wss:" && url.protocol !== "ws:") throw new Error("not ws: or wss:");
  } catch {
    addEntry("error", "error", `not a WebSocket address: ${urlInput.value}`);
    setState("error", "bad address");
    return;
  }
  setState("connecting");
  addEntry("status", "status", `connecting to ${url.href}`);
  awaitingEcho.length = 0;
  const ws = new WebSocket(url.href);
  socket = ws;
  ws.addEventListener("open", () => {
    if (socket !== ws) return;
    setState("connected");
    addEntry("status", "status", "connected");
    messageInput.focus();
  });
  ws.addEventListener("message", (event) => {
    if (socket !== ws || typeof event.data !== "string") return;
    const echo = awaitingEcho.length > 0 && awaitingEcho[0] === event.data;
    if (echo) awaitingEcho.shift();
    addEntry("in", echo ? "echo" : "received", event.data);
    count("in");
  });
  ws.addEventListener("close", (event) => {
    if (socket !== ws) return;
    socket = undefined;
    const why = event.reason ? `: ${event.reason}` : "";
    const clean = event.code === 1000 || event.code === 1001;
    addEntry(clean ? "status" : "error", "closed", `connection closed (code ${event.code}${why})`);
    setState(clean ? "disconnected" : "error", clean ? "disconnected" : "connection lost");
  });
}

$("connect-form").addEventListener("submit", (event) => {
  event.preventDefault();
  connect();
});

disconnectButton.addEventListener("click", () => {
  socket?.close(1000, "bye");
});

$("send-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!socket || socket.readyState !== WebSocket.OPEN) return;
  const text = messageInput.value;
  socket.send(text);
  awaitingEcho.push(text);
  addEntry("out", "sent", text);
  count("out");
  messageInput.value = "";
  messageInput.focus();
});

$("clear").addEventListener("click", () => log.replaceChildren());

setState("disconnected");
connect();
