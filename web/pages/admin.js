// The operator dashboard of tlspush (served at /admin): live clients, the channels (subscribers,
// retained history, messages/s), a traffic chart (uPlot, served by the server itself), the
// server log and a box that sends a message on a channel, all fed by /admin/ws.
// Everything shown is set with textContent: nothing from the server is parsed as HTML.

const $ = (id) => document.getElementById(id);
const stateBadge = $("state");

/** Seconds of history in the chart (one point a second). */
const CHART_POINTS = 120;
/** Lines kept in the log view. */
const MAX_LOG_LINES = 500;

function setState(state, label = state) {
  stateBadge.dataset.state = state;
  stateBadge.textContent = label;
}

function formatBytes(bytes) {
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

function formatCount(value) {
  return Math.round(value).toLocaleString("en-US");
}

function formatDuration(ms) {
  const s = Math.floor(ms / 1000);
  const parts = [[Math.floor(s / 86400), "d"], [Math.floor(s / 3600) % 24, "h"], [
    Math.floor(s / 60) % 60,
    "m",
  ], [s % 60, "s"]];
  const first = parts.findIndex(([value]) => value > 0);
  return parts.slice(first === -1 ? 3 : first, (first === -1 ? 3 : first) + 2)
    .map(([value, unit]) => `${value}${unit}`).join(" ");
}

// --- chart -------------------------------------------------------------------------------
const chartBox = $("chart");
const chartData = [[], [], []]; // time (s), messages/s, bytes/s
const chart = new globalThis.uPlot(
  {
    width: Math.max(300, chartBox.clientWidth),
    height: 240,
    cursor: { drag: { x: false, y: false } },
    legend: { live: false },
    scales: {
      x: { time: true },
      msgs: { range: (_u, _min, max) => [0, Math.max(10, max * 1.1)] },
      bytes: { range: (_u, _min, max) => [0, Math.max(1024, max * 1.1)] },
    },
    series: [
      {},
      {
        label: "messages/s",
        scale: "msgs",
        stroke: "#2563eb",
        width: 2,
        fill: "rgba(37, 99, 235, 0.08)",
        value: (_u, v) => v == null ? "–" : formatCount(v),
      },
      {
        label: "bytes/s",
        scale: "bytes",
        stroke: "#db2777",
        width: 2,
        value: (_u, v) => v == null ? "–" : `${formatBytes(v)}/s`,
      },
    ],
    axes: [
      {
        stroke: "#6b7785",
        grid: { stroke: "#eef1f4" },
        space: 70,
        incrs: [1, 2, 5, 10, 15, 30, 60, 120],
        values: (_u, ticks) => ticks.map((t) => new Date(t * 1000).toLocaleTimeString()),
      },
      {
        scale: "msgs",
        stroke: "#2563eb",
        grid: { stroke: "#eef1f4" },
        size: 60,
        values: (_u, ticks) => ticks.map(formatCount),
      },
      {
        scale: "bytes",
        side: 1,
        stroke: "#db2777",
        grid: { show: false },
        size: 70,
        values: (_u, ticks) => ticks.map((t) => formatBytes(t)),
      },
    ],
  },
  chartData,
  chartBox,
);
new ResizeObserver(() => {
  chart.setSize({ width: Math.max(300, chartBox.clientWidth), height: 240 });
}).observe(chartBox);

let previous;
function addRates(stats) {
  if (previous && stats.time > previous.time) {
    const seconds = (stats.time - previous.time) / 1000;
    const t = stats.totals;
    const p = previous.totals;
    const messages = (t.messagesIn - p.messagesIn + t.messagesOut - p.messagesOut) / seconds;
    const bytes = (t.bytesIn - p.bytesIn + t.bytesOut - p.bytesOut) / seconds;
    chartData[0].push(Math.round(stats.time / 1000));
    chartData[1].push(messages);
    chartData[2].push(bytes);
    if (chartData[0].length > CHART_POINTS) { for (const series of chartData) series.shift(); }
    chart.setData(chartData);
    chartBox.dataset.points = String(chartData[0].length);
    $("rate-messages").textContent = formatCount(messages);
    $("rate-bytes").textContent = formatBytes(bytes);
  }
  previous = stats;
}

// --- tiles and clients ---------------------------------------------------------------------
function cell(row, text, className) {
  const td = document.createElement("td");
  if (className) td.className = className;
  td.textContent = text;
  row.append(td);
  return td;
}

function showStats(stats) {
  addRates(stats);
  const t = stats.totals;
  $("connected").textContent = String(stats.connected);
  $("connected-detail").textContent = `tls ${stats.byTransport.tls + stats.byTransport.tcp} · ` +
    `ws ${stats.byTransport.ws}`;
  $("totals").textContent = `${formatCount(t.messagesIn)} / ${formatCount(t.messagesOut)}`;
  $("totals-bytes").textContent = `${formatBytes(t.bytesIn)} / ${formatBytes(t.bytesOut)}`;
  $("uptime").textContent = formatDuration(stats.time - stats.startedAt);
  $("queued").textContent = `${formatBytes(stats.queuedBytes)} queued`;
  showCertificates(stats.certificates ?? [], stats.time);
  $("clients-count").textContent = stats.connected === 0 ? "none" : `${stats.connected} connected`;
  const rows = stats.peers.map((peer) => {
    const row = document.createElement("tr");
    row.dataset.id = String(peer.id);
    row.dataset.transport = peer.transport;
    cell(row, `#${peer.id}`);
    const badge = document.createElement("span");
    badge.className = `transport ${peer.transport}`;
    badge.textContent = peer.transport;
    cell(row, "").append(badge);
    cell(row, peer.identity ? `${peer.address} · ${peer.identity}` : peer.address, "mono");
    const since = new Date(peer.since);
    cell(row, since.toLocaleTimeString()).title = since.toISOString();
    cell(row, formatCount(peer.messagesIn), "num");
    cell(row, formatBytes(peer.bytesIn), "num");
    cell(row, formatCount(peer.messagesOut), "num");
    cell(row, formatBytes(peer.bytesOut), "num");
    cell(row, formatBytes(peer.queuedBytes), "num");
    return row;
  });
  $("clients").tBodies[0].replaceChildren(...rows);
  if (stats.channels) showChannels(stats.channels);
  $("cluster").hidden = !stats.cluster;
  if (stats.cluster) showCluster(stats.cluster, stats.time);
}

// --- cluster (--broker) -------------------------------------------------------------------
function showCluster(cluster, now) {
  $("broker").textContent = cluster.url;
  $("broker-state").dataset.state = cluster.up ? "connected" : "error";
  $("broker-state").textContent = cluster.up ? "broker up" : "broker down";
  const rows = cluster.instances.map((instance) => {
    const row = document.createElement("tr");
    row.dataset.instance = instance.id;
    const self = instance.id === cluster.instanceId;
    cell(row, self ? `${instance.id} (this one)` : instance.id, "mono");
    cell(row, formatCount(instance.clients), "num clients");
    const started = new Date(instance.started);
    cell(row, started.toLocaleTimeString()).title = started.toISOString();
    cell(row, `${formatDuration(Math.max(0, now - instance.seen))} ago`, "num");
    return row;
  });
  $("instances").tBodies[0].replaceChildren(...rows);
  $("broker-detail").textContent = `published ${formatCount(cluster.published)}, ` +
    `received ${formatCount(cluster.received)}, ${formatCount(cluster.inFlight)} in flight, ` +
    `${formatCount(cluster.reconnects)} reconnects`;
}

/** The certificate tile: the soonest expiry of any listener, every listener in the tooltip. */
function showCertificates(certificates, now) {
  const tile = $("certificate");
  if (certificates.length === 0) {
    tile.textContent = "none";
    $("certificate-detail").textContent = "plain TCP";
    return;
  }
  const soonest = Math.min(...certificates.map((c) => c.notAfter));
  const days = (soonest - now) / 86_400_000;
  tile.textContent = days >= 1
    ? `${Math.floor(days)} days`
    : `${Math.max(0, Math.round(days * 1440))} min`;
  tile.dataset.warn = String(days < 14);
  $("certificate-detail").textContent = `expires ${new Date(soonest).toISOString().slice(0, 16)}Z`;
  tile.title = certificates.map((c) => `${c.listener}: ${new Date(c.notAfter).toISOString()}`)
    .join("\n");
}

// --- channels ------------------------------------------------------------------------------
function formatRate(rate) {
  if (rate === 0) return "0";
  return rate < 10 ? rate.toFixed(1) : formatCount(rate);
}

function showChannels(channels) {
  $("channel-count").textContent = formatCount(channels.count);
  $("channel-detail").textContent = `${formatCount(channels.retained)} retained`;
  $("channel-detail").title = `${formatCount(channels.subscriptions)} subscriptions`;
  $("channels-count").textContent = channels.count === 0
    ? "none"
    : channels.top.length < channels.count
    ? `the busiest ${channels.top.length} of ${formatCount(channels.count)}`
    : `${channels.count} channel${channels.count === 1 ? "" : "s"}`;
  const rows = channels.top.map((channel) => {
    const row = document.createElement("tr");
    row.dataset.channel = channel.channel;
    // The name picks the channel of the Send box.
    const pick = document.createElement("button");
    pick.type = "button";
    pick.className = "link mono";
    pick.title = "Send on this channel";
    pick.textContent = channel.channel;
    pick.addEventListener("click", () => {
      $("broadcast-channel").value = channel.channel;
      $("broadcast").focus();
    });
    cell(row, "").append(pick);
    cell(row, formatCount(channel.subscribers), "num subscribers");
    cell(row, formatCount(channel.retained), "num retained");
    cell(row, formatRate(channel.rate), "num rate");
    return row;
  });
  $("channels").tBodies[0].replaceChildren(...rows);
  $("channel-names").replaceChildren(...channels.top.map((channel) => {
    const option = document.createElement("option");
    option.value = channel.channel;
    return option;
  }));
}

// --- log -----------------------------------------------------------------------------------
const serverLog = $("server-log");
function addLogLines(lines) {
  const atBottom = serverLog.scrollTop + serverLog.clientHeight >= serverLog.scrollHeight - 4;
  for (const line of lines) {
    const item = document.createElement("li");
    item.textContent = line;
    if (/ error: /.test(line)) item.className = "error";
    serverLog.append(item);
  }
  while (serverLog.childElementCount > MAX_LOG_LINES) serverLog.firstElementChild.remove();
  if (atBottom) serverLog.scrollTop = serverLog.scrollHeight;
}

// --- feed ----------------------------------------------------------------------------------
/** @type {WebSocket | undefined} */
let feed;
let retryMs = 500;

function connectFeed() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(`${scheme}//${location.host}/admin/ws`);
  feed = ws;
  setState("connecting");
  ws.addEventListener("open", () => {
    retryMs = 500;
    setState("connected", "live");
  });
  ws.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "hello") {
      $("server").textContent = message.server;
      serverLog.replaceChildren();
      addLogLines(message.log);
      previous = undefined;
      showStats(message.stats);
    } else if (message.type === "stats") {
      showStats(message.stats);
    } else if (message.type === "log") {
      addLogLines([message.line]);
    } else if (message.type === "broadcast") {
      showResult(
        `Sent to ${message.clients} client${message.clients === 1 ? "" : "s"}` +
          ` on ${message.channel} as #${message.seq}.`,
      );
    } else if (message.type === "error") {
      showResult(message.message, true);
    }
  });
  ws.addEventListener("close", () => {
    if (feed !== ws) return;
    feed = undefined;
    setState("error", "disconnected: retrying");
    setTimeout(retryFeed, retryMs);
    retryMs = Math.min(retryMs * 2, 10_000);
  });
}

/** Reconnects, unless the server is back with another token (it makes a new one at each start). */
async function retryFeed() {
  try {
    const response = await fetch("/admin", { method: "HEAD", cache: "no-store" });
    if (response.status === 401) {
      setState("error", "signed out: open the dashboard link the server printed");
      return;
    }
  } catch {
    // the server is not back yet: try the WebSocket anyway, it fails the same way
  }
  connectFeed();
}

function showResult(text, bad = false) {
  const result = $("broadcast-result");
  result.textContent = text;
  result.classList.toggle("bad", bad);
  result.classList.toggle("muted", !bad);
}

$("broadcast-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = $("broadcast");
  if (!feed || feed.readyState !== WebSocket.OPEN || input.value === "") return;
  // An empty field means broadcast; the server checks any other name and says why it refuses one.
  const channel = $("broadcast-channel").value.trim() || "broadcast";
  feed.send(JSON.stringify({ type: "broadcast", text: input.value, channel }));
  input.value = "";
  input.focus();
});

connectFeed();
