// The browser client of tlspush (served at /): connect to /ws and show what arrives.
// v1 (the default, what a plain / gets): every message typed is echoed; operator broadcasts
// arrive too. v2 (/?protocol=v2&channels=a,b): subscribe to channels, see each message with its
// channel and sequence number, publish on a channel, and after a lost connection reconnect with
// backoff and resume every channel from after its last number (the server replays, or says GAP).
// Everything shown is set with textContent: a message is never parsed as HTML.
import {
  BROADCAST,
  CHANNEL_RULE,
  isValidChannel,
  parseReply,
  pubCommand,
  subCommand,
  SUBPROTOCOL,
  unsubCommand,
} from "./v2.js";
import { Subscriptions } from "./subscriptions.js";

const $ = (id) => document.getElementById(id);
const urlInput = $("url");
const protocolSelect = $("protocol");
const connectButton = $("connect");
const disconnectButton = $("disconnect");
const messageInput = $("message");
const publishChannel = $("publish-channel");
const sendButton = $("send");
const sendResult = $("send-result");
const channelInput = $("channel");
const subscribeResult = $("subscribe-result");
const log = $("log");
const stateBadge = $("state");
const counts = { in: 0, out: 0 };

/** Keep the page responsive however much arrives. */
const MAX_LOG_ENTRIES = 500;
/** Reconnect delays (v2): from half a second, doubling, at most 10 s, with some jitter. */
const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 10_000;

const scheme = location.protocol === "https:" ? "wss:" : "ws:";
urlInput.value = `${scheme}//${location.host}/ws`;

/** @type {WebSocket | undefined} */
let socket;
/** "v1" or "v2": chosen from the address, so a bookmark keeps it. */
let mode = "v1";
/** Texts sent and not yet echoed (v1): an arriving message that matches one is an echo. */
const awaitingEcho = [];
/** Commands sent and not yet answered (v2), oldest first: the server answers in order. */
let unanswered = [];
const subscriptions = new Subscriptions();
/** Whether the user (not the network) ended the connection: then no reconnect. */
let userClosed = false;
let retryAttempt = 0;
let retryTimer;
let connectionState = "disconnected";
/**
 * A token for a server with authentication on, from the address's fragment (`#token=...`): a
 * fragment is never sent to a server, so the token stays out of request lines and logs.
 */
const token = new URLSearchParams(location.hash.slice(1)).get("token") ?? undefined;

// --- the address: mode and channels ------------------------------------------------------------
function readAddress() {
  const params = new URLSearchParams(location.search);
  mode = params.get("protocol") === "v2" ? "v2" : "v1";
  if (mode !== "v2") return;
  const listed = params.get("channels");
  const names = listed === null ? [BROADCAST] : listed.split(",").filter((name) => name !== "");
  for (const name of names) if (isValidChannel(name)) subscriptions.add(name);
}

/** Keeps the address bar in step, so that a bookmark reopens the same mode and channels. */
function writeAddress() {
  const address = mode === "v2"
    ? `${location.pathname}?protocol=v2&channels=${subscriptions.names().join(",")}`
    : location.pathname;
  history.replaceState(null, "", address + location.hash);
}

// --- the page's state ----------------------------------------------------------------------------
function setState(state, label = state) {
  connectionState = state;
  stateBadge.dataset.state = state;
  stateBadge.textContent = label;
  const open = state === "connected";
  const busy = state === "connecting";
  connectButton.disabled = open || busy;
  urlInput.disabled = open || busy;
  disconnectButton.disabled = !(open || busy || state === "waiting");
  messageInput.disabled = !open;
  sendButton.disabled = !open;
  publishChannel.disabled = !open;
}

function showMode() {
  const v2 = mode === "v2";
  protocolSelect.value = mode;
  for (const element of document.querySelectorAll(".v2-only")) element.hidden = !v2;
  sendButton.textContent = v2 ? "Publish" : "Send";
  messageInput.placeholder = v2
    ? "Type a message, press Enter to publish it on the channel"
    : "Type a message, press Enter";
  renderChannels();
}

function addEntry(kind, tag, text, details = {}) {
  const item = document.createElement("li");
  item.className = kind;
  const time = document.createElement("span");
  time.className = "time";
  time.textContent = new Date().toLocaleTimeString();
  const label = document.createElement("span");
  label.className = "tag";
  label.textContent = tag;
  item.append(time, label);
  if (details.channel !== undefined) {
    item.dataset.channel = details.channel;
    const channel = document.createElement("span");
    channel.className = "channel";
    channel.textContent = details.channel;
    item.append(channel);
  }
  if (details.seq !== undefined) {
    item.dataset.seq = String(details.seq);
    const seq = document.createElement("span");
    seq.className = "seq";
    seq.textContent = `#${details.seq}`;
    item.append(seq);
  }
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  item.append(body);
  const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
  log.append(item);
  while (log.childElementCount > MAX_LOG_ENTRIES) log.firstElementChild.remove();
  if (atBottom) log.scrollTop = log.scrollHeight;
}

/** A one-line note under a form; `bad` shows it as a refusal. */
function note(element, text, bad = false) {
  element.textContent = text;
  element.classList.toggle("bad", bad);
  element.classList.toggle("muted", !bad);
}

function count(direction) {
  counts[direction]++;
  $(`count-${direction}`).textContent = String(counts[direction]);
}

// --- the channels table (redrawn at most every few ms, however fast MSGs arrive) ----------------
let renderTimer;
function scheduleRender() {
  renderTimer ??= setTimeout(() => {
    renderTimer = undefined;
    renderChannels();
  }, 30);
}

function describe(channel) {
  switch (channel.state) {
    case "waiting":
      return "waiting for the connection";
    case "subscribing":
      return "subscribing";
    case "resuming":
      return "resuming";
    case "refused":
      return `refused: ${channel.note}`;
    default:
      return "subscribed";
  }
}

function cell(row, text, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.textContent = text;
  row.append(td);
  return td;
}

function renderChannels() {
  const list = subscriptions.list();
  $("channels-count").textContent = list.length === 0 ? "none" : `${list.length} subscribed`;
  const rows = list.map((channel) => {
    const row = document.createElement("tr");
    row.dataset.channel = channel.name;
    row.dataset.state = channel.state;
    cell(row, channel.name, "mono");
    cell(row, describe(channel), channel.state === "refused" ? "bad" : "");
    cell(row, String(channel.messages), "num");
    cell(row, channel.lastSeq === undefined ? "–" : String(channel.lastSeq), "num mono");
    cell(row, String(channel.gaps), channel.gaps > 0 ? "num bad" : "num");
    const unsubscribe = document.createElement("button");
    unsubscribe.type = "button";
    unsubscribe.className = "link";
    unsubscribe.textContent = "Unsubscribe";
    unsubscribe.addEventListener("click", () => unsubscribeFrom(channel.name));
    cell(row, "", "num").append(unsubscribe);
    return row;
  });
  $("channels").tBodies[0].replaceChildren(...rows);
  const names = new Set([BROADCAST, ...subscriptions.names()]);
  $("channel-names").replaceChildren(...[...names].map((name) => {
    const option = document.createElement("option");
    option.value = name;
    return option;
  }));
}

// --- the connection ------------------------------------------------------------------------------
function isOpen() {
  return socket !== undefined && socket.readyState === WebSocket.OPEN;
}

function connect() {
  clearTimeout(retryTimer);
  retryTimer = undefined;
  let url;
  try {
    url = new URL(urlInput.value.trim());
    if (url.protocol !== "wss:" && url.protocol !== "ws:") throw new Error("not ws: or wss:");
  } catch {
    addEntry("error", "error", `not a WebSocket address: ${urlInput.value}`);
    setState("error", "bad address");
    return;
  }
  userClosed = false;
  setState("connecting", retryAttempt > 0 ? "reconnecting" : "connecting");
  addEntry(
    "status",
    "status",
    `connecting to ${url.href}${mode === "v2" ? ` (${SUBPROTOCOL})` : ""}`,
  );
  awaitingEcho.length = 0;
  unanswered = [];
  const ws = mode === "v2" ? new WebSocket(url.href, [SUBPROTOCOL]) : new WebSocket(url.href);
  socket = ws;
  ws.addEventListener("open", () => {
    if (socket !== ws) return;
    if (mode === "v2" && ws.protocol !== SUBPROTOCOL) {
      addEntry("error", "error", `the server does not speak ${SUBPROTOCOL}: choose v1`);
      userClosed = true;
      ws.close(1000, "no v2");
      return;
    }
    retryAttempt = 0;
    setState("connected");
    addEntry("status", "status", "connected");
    if (mode === "v2" && token) command(`AUTH ${token}`, { kind: "auth" });
    if (mode === "v2") { for (const name of subscriptions.names()) sendSub(name); }
    renderChannels();
    messageInput.focus();
  });
  ws.addEventListener("message", (event) => {
    if (socket !== ws || typeof event.data !== "string") return;
    if (mode === "v2") {
      receive(event.data);
      return;
    }
    const echo = awaitingEcho.length > 0 && awaitingEcho[0] === event.data;
    if (echo) awaitingEcho.shift();
    addEntry("in", echo ? "echo" : "received", event.data);
    count("in");
  });
  ws.addEventListener("close", (event) => {
    if (socket !== ws) return;
    socket = undefined;
    unanswered = [];
    subscriptions.disconnected();
    renderChannels();
    const why = event.reason ? `: ${event.reason}` : "";
    const clean = event.code === 1000 || event.code === 1001;
    const text = `connection closed (code ${event.code}${why})`;
    if (mode === "v2" && !userClosed) {
      const delay = retryDelay(retryAttempt++);
      addEntry("error", "closed", `${text}; reconnecting in ${(delay / 1000).toFixed(1)} s`);
      setState("waiting", "reconnecting");
      retryTimer = setTimeout(connect, delay);
      return;
    }
    addEntry(clean ? "status" : "error", "closed", text);
    setState(clean ? "disconnected" : "error", clean ? "disconnected" : "connection lost");
  });
}

function retryDelay(attempt) {
  const base = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.min(attempt, 10));
  return Math.round(base * (0.8 + Math.random() * 0.4)); // so that many pages do not return at once
}

function disconnect() {
  userClosed = true;
  clearTimeout(retryTimer);
  retryTimer = undefined;
  retryAttempt = 0;
  if (socket) {
    socket.close(1000, "bye");
  } else if (connectionState === "waiting") {
    addEntry("status", "status", "stopped reconnecting");
    setState("disconnected");
  }
}

/** Sends one v2 command; its answer is matched to it by order. */
function command(text, what) {
  socket.send(text);
  unanswered.push(what);
}

function sendSub(name) {
  const from = subscriptions.subscribing(name);
  if (from !== undefined) addEntry("status", "resume", `from #${from}`, { channel: name });
  command(subCommand(name, from), { kind: "sub", channel: name });
}

// --- v2 replies ----------------------------------------------------------------------------------
function receive(text) {
  const reply = parseReply(text);
  switch (reply.kind) {
    case "msg":
      subscriptions.received(reply.channel, reply.seq);
      addEntry("in", "msg", reply.data, { channel: reply.channel, seq: reply.seq });
      count("in");
      scheduleRender();
      return;
    case "gap":
      subscriptions.gap(reply.channel, reply.to);
      addEntry(
        "gap",
        "gap",
        `missed everything from #${reply.from} to before #${reply.to}: no longer retained`,
        { channel: reply.channel },
      );
      scheduleRender();
      return;
    case "ok":
      unanswered.shift();
      if (reply.verb === "SUB") {
        subscriptions.subscribed(reply.channel, reply.value);
        addEntry("status", "subscribed", `new messages from #${reply.value}`, {
          channel: reply.channel,
        });
        scheduleRender();
      } else if (reply.verb === "PUB") {
        note(sendResult, `Published on ${reply.channel} as #${reply.value}.`);
      } else if (reply.verb === "UNSUB") {
        addEntry("status", "unsubscribed", "", { channel: reply.channel });
      } else if (reply.verb === "AUTH") {
        addEntry("status", "authenticated", `as ${reply.value}`);
      }
      return;
    case "pong":
      unanswered.shift();
      return;
    case "err": {
      const what = unanswered.shift();
      const refusal = `${reply.text} (${reply.code})`;
      if (what?.kind === "sub") {
        subscriptions.refused(what.channel, refusal);
        scheduleRender();
      } else if (what?.kind === "pub") {
        note(sendResult, `Not published on ${what.channel}: ${refusal}`, true);
      }
      addEntry("error", "refused", refusal, what ? { channel: what.channel } : {});
      return;
    }
    default:
      addEntry("error", "unknown", text);
  }
}

// --- what the user does --------------------------------------------------------------------------
function subscribeTo(name) {
  if (!isValidChannel(name)) {
    note(subscribeResult, `Not a channel name: ${CHANNEL_RULE}.`, true);
    return;
  }
  if (!subscriptions.add(name)) {
    note(subscribeResult, `Already subscribed to ${name}.`);
    return;
  }
  note(subscribeResult, "");
  writeAddress();
  if (isOpen()) sendSub(name);
  renderChannels();
}

function unsubscribeFrom(name) {
  subscriptions.remove(name);
  writeAddress();
  if (isOpen()) command(unsubCommand(name), { kind: "unsub", channel: name });
  renderChannels();
}

$("connect-form").addEventListener("submit", (event) => {
  event.preventDefault();
  retryAttempt = 0;
  connect();
});

disconnectButton.addEventListener("click", disconnect);

protocolSelect.addEventListener("change", () => {
  mode = protocolSelect.value === "v2" ? "v2" : "v1";
  if (mode === "v2" && subscriptions.names().length === 0) subscriptions.add(BROADCAST);
  writeAddress();
  showMode();
  // A connection speaks one protocol from its start: switching means connecting again.
  if (socket) {
    const old = socket;
    socket = undefined;
    old.close(1000, "switching protocol");
  }
  subscriptions.disconnected();
  retryAttempt = 0;
  connect();
});

$("send-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!isOpen()) return;
  const text = messageInput.value;
  if (mode === "v2") {
    const channel = publishChannel.value.trim();
    if (!isValidChannel(channel)) {
      note(sendResult, `Not a channel name: ${CHANNEL_RULE}.`, true);
      return;
    }
    command(pubCommand(channel, text), { kind: "pub", channel });
    addEntry("out", "pub", text, { channel });
  } else {
    socket.send(text);
    awaitingEcho.push(text);
    addEntry("out", "sent", text);
  }
  count("out");
  messageInput.value = "";
  messageInput.focus();
});

$("subscribe-form").addEventListener("submit", (event) => {
  event.preventDefault();
  subscribeTo(channelInput.value.trim());
  channelInput.value = "";
  channelInput.focus();
});

$("clear").addEventListener("click", () => log.replaceChildren());

readAddress();
showMode();
setState("disconnected");
connect();
