// Master control: every live bridge on one screen, pushed over /ws/monitor (nothing polls).
// The page keeps one DOM element per room, per studio and per live output and updates it in
// place each second; a dropped connection shows at once and reconnects by itself.
import { formatBitrate, formatBytes as bytesText, formatMilliseconds, formatNumber, formatPercent } from "./numbers.js";

const root = document.getElementById("monitor");
const roomsEl = document.getElementById("rooms");
const noRooms = document.getElementById("no-rooms");
const link = document.getElementById("monitor-link");
const t = (key) => root.dataset[`t${key.replace(/(^|[-_])(\w)/g, (_, __, c) => c.toUpperCase())}`] || key;

const SPARK_POINTS = 300; // five minutes of one-second samples
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 5000;
const LOSS_BAD_PCT = 5;
const RTT_BAD_MS = 300;
const SIGNED_OUT = 4401; // the server's close code once the session is logged out or expired

const state = {
  rooms: [],
  alerts: [],
  nodes: [], // in a cluster: every node, this one first
  recent: [],
  history: {}, // "booking/studio" -> [[t, kbps, loss], ...]
  connected: false,
  messages: 0,
  reconnects: 0,
};
window.monitor = state; // for the browser tests and for operators' own tooling

function setLink(status) {
  link.dataset.state = status;
  link.textContent = link.dataset[`t${status[0].toUpperCase()}${status.slice(1)}`];
}

// --- the socket ------------------------------------------------------------------------

let delay = RECONNECT_MIN_MS;
function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws/monitor`);
  ws.addEventListener("open", () => {
    delay = RECONNECT_MIN_MS;
    state.connected = true;
    setLink("live");
  });
  ws.addEventListener("message", (event) => {
    const msg = JSON.parse(event.data);
    state.messages += 1;
    if (msg.type === "hello") {
      state.history = msg.history || {};
      state.recent = msg.recent_alerts || [];
    } else if (msg.type === "snapshot") {
      const now = performance.now() / 1000;
      for (const room of msg.rooms) {
        for (const s of room.studios) {
          if (!room.open) continue;
          const key = `${room.booking_id}/${s.id}`;
          const kbps = s.connected ? ((s.video || {}).kbps || 0) + ((s.audio || {}).kbps || 0) : null;
          const points = (state.history[key] ||= []);
          points.push([now, kbps, s.loss_pct ?? null]);
          if (points.length > SPARK_POINTS) points.splice(0, points.length - SPARK_POINTS);
        }
      }
      for (const alert of msg.changed || []) {
        state.recent = [alert, ...state.recent.filter((a) => a.id !== alert.id)].slice(0, 200);
      }
    }
    state.rooms = msg.rooms || [];
    state.alerts = msg.alerts || [];
    state.nodes = msg.nodes || [];
    if (msg.database) {
      document.getElementById("database-state").hidden = msg.database !== "unavailable";
    }
    if (msg.loop_lag_ms != null) {
      document.getElementById("loop-lag").textContent = `loop lag ${msg.loop_lag_ms} ms`;
    }
    render();
  });
  ws.addEventListener("close", (event) => {
    state.connected = false;
    if (event.code === SIGNED_OUT) {
      // Reconnecting would only be refused: say why (the server's reason) and stay put.
      state.signedOut = event.reason;
      link.dataset.state = "signed-out";
      link.textContent = link.dataset.tSignedOut || event.reason;
      return;
    }
    setLink("lost");
    state.reconnects += 1;
    setTimeout(connect, delay);
    delay = Math.min(RECONNECT_MAX_MS, delay * 2);
  });
  ws.addEventListener("error", () => ws.close());
}

// --- rendering -------------------------------------------------------------------------

const roomEls = new Map();
const studioEls = new Map();
const outputEls = new Map();

// The element `map` keeps for `key`: cloned from the template the first time, with `data` set
// on it, and kept (with whatever state it shows) from one snapshot to the next.
function keptElement(map, key, templateId, data) {
  let el = map.get(key);
  if (!el) {
    el = document.getElementById(templateId).content.firstElementChild.cloneNode(true);
    Object.assign(el.dataset, data);
    map.set(key, el);
  }
  return el;
}

function render() {
  const seen = new Set();
  for (const room of state.rooms) {
    seen.add(room.booking_id);
    const el = keptElement(roomEls, room.booking_id, "room-template", { booking: room.booking_id });
    roomsEl.appendChild(el); // keeps the server's order
    renderRoom(el, room);
  }
  for (const [id, el] of roomEls) {
    if (!seen.has(id)) {
      el.remove();
      roomEls.delete(id);
      for (const key of outputEls.keys()) if (key.startsWith(`${id}/`)) outputEls.delete(key);
    }
  }
  noRooms.hidden = state.rooms.length > 0;
  noRooms.textContent = t("no-rooms");
  renderNodes();
  renderAlerts();
}

// The cluster's nodes, one chip each (none for a server alone): green live, amber draining,
// red not answering (its rooms are moving to the others), with its rooms against its capacity.
const nodeEls = new Map();
function renderNodes() {
  const list = document.getElementById("nodes");
  list.hidden = state.nodes.length === 0;
  const seen = new Set();
  for (const n of state.nodes) {
    seen.add(n.id);
    const el = keptElement(nodeEls, n.id, "node-template", { node: n.id });
    list.appendChild(el); // keeps the server's order: this node first
    el.dataset.state = n.state;
    el.title = n.url;
    el.querySelector(".mnode-id").textContent = n.id;
    const self = el.querySelector(".mnode-this");
    self.hidden = !n.this;
    self.textContent = t("node-this");
    el.querySelector(".mnode-state").textContent = n.state === "down"
      ? `${t("node-down")} · ${t("node-silent").replace("{age}", formatDuration(n.heartbeat_age_s))}`
      : t(`node-${n.state}`);
    el.querySelector(".mnode-rooms").textContent = t("node-rooms")
      .replace("{rooms}", formatNumber(n.rooms)).replace("{capacity}", formatNumber(n.capacity));
  }
  for (const [id, el] of nodeEls) {
    if (!seen.has(id)) {
      el.remove();
      nodeEls.delete(id);
    }
  }
}

// "Side by side · muted: DHA", "Solo: Trend": the program's state in the page's words.
function renderProgram(el, room) {
  const on = room.on_air;
  el.hidden = !on;
  if (!on) return;
  const name = (id) => ((room.studios || []).find((s) => s.id === id) || { name: id }).name;
  const parts = [t(`layout-${on.layout}`) + (on.studio ? `: ${name(on.studio)}` : "")];
  if (on.muted.length) parts.push(`${t("muted")}: ${on.muted.map(name).join(", ")}`);
  el.textContent = parts.join(" · ");
}

function renderRoom(el, room) {
  el.dataset.state = room.state;
  el.dataset.alert = String(state.alerts.some((a) => a.booking_id === room.booking_id));
  el.querySelector(".room-state").textContent = t(room.state);
  const link = el.querySelector(".room-link");
  link.textContent = room.title;
  link.href = `/bookings/${encodeURIComponent(room.booking_id)}`;
  const control = el.querySelector(".room-control");
  control.href = `/bookings/${encodeURIComponent(room.booking_id)}/control`;
  control.hidden = !room.open;
  renderProgram(el.querySelector(".room-program"), room);
  const node = el.querySelector(".room-node");
  node.hidden = !room.node;
  node.textContent = room.node ? t("room-node").replace("{node}", room.node) : "";
  el.dataset.node = room.node || "";
  el.dataset.onAir = room.on_air_at;
  el.dataset.offAir = room.off_air_at;
  el.dataset.opens = room.opens_at;
  const rec = el.querySelector(".room-rec");
  if (room.recording) {
    const r = room.recorder || {};
    rec.dataset.rec = "on";
    rec.textContent = `● ${t("rec")} ${formatDuration(r.duration_s || 0)} · ${formatBytes(r.bytes || 0)}`
      + ` · ${r.frames_dropped || 0} ${t("dropped")}`;
  } else if (room.should_record) {
    rec.dataset.rec = "missing";
    rec.textContent = t("should-record");
  } else {
    rec.dataset.rec = "off";
    rec.textContent = room.open ? t("not-recording") : "";
  }
  const studiosEl = el.querySelector(".room-studios");
  for (const s of room.studios) {
    const key = `${room.booking_id}/${s.id}`;
    const sEl = keptElement(studioEls, key, "studio-template", { studio: s.id });
    if (!sEl.isConnected) studiosEl.appendChild(sEl);
    renderStudio(sEl, room, s, key);
  }
  renderOutputs(el, room);
}

// The room's live outputs: one chip each, in the order the booking added them. A chip keeps
// its size whatever its state, bitrate or error, so the wall never jumps.
function renderOutputs(el, room) {
  const outputs = room.outputs || [];
  const strip = el.querySelector(".room-outputs");
  strip.hidden = outputs.length === 0;
  const list = strip.querySelector(".room-output-list");
  const seen = new Set();
  for (const o of outputs) {
    const key = `${room.booking_id}/${o.id}`;
    seen.add(key);
    const oEl = keptElement(outputEls, key, "output-template", { output: o.id });
    list.appendChild(oEl); // keeps the server's order
    renderOutput(oEl, room, o);
  }
  for (const [key, oEl] of outputEls) {
    if (key.startsWith(`${room.booking_id}/`) && !seen.has(key)) {
      oEl.remove();
      outputEls.delete(key);
    }
  }
}

function renderOutput(el, room, o) {
  el.dataset.state = o.state;
  el.dataset.kind = o.kind;
  el.dataset.trouble = String(state.alerts.some((a) => a.booking_id === room.booking_id && a.output === o.id));
  el.querySelector(".mout-pill").textContent = t(`output-${o.state}`);
  el.querySelector(".mout-name").textContent = o.name;
  el.querySelector(".mout-kind").textContent = o.kind.toUpperCase();
  el.querySelector(".mout-rate").textContent = o.state === "live" && o.bitrate_kbps != null
    ? formatBitrate(o.bitrate_kbps) : "–";
  const error = o.state === "live" || o.state === "stopped" || o.state === "idle" ? "" : o.last_error || "";
  el.querySelector(".mout-error").textContent = error || "\u00a0";
  el.title = [o.target, o.retries ? `${t("retries")}: ${o.retries}` : "", o.last_error || ""]
    .filter(Boolean).join("\n");
}

function renderStudio(el, room, s, key) {
  const status = s.feed_lost ? "lost" : s.connected ? "live" : s.last_packet_age_ms != null ? "lost" : "waiting";
  el.dataset.status = status;
  const trouble = state.alerts.some((a) => a.booking_id === room.booking_id && a.studio === s.id);
  el.dataset.trouble = String(trouble && status !== "lost");
  el.querySelector(".mstudio-name strong").textContent = s.name || s.id;
  el.querySelector(".mstudio-status").textContent = t({ live: "connected", lost: "lost", waiting: "waiting" }[status]);
  el.querySelector(".mstudio-candidate").textContent = s.candidate || "";
  const v = s.video || {};
  const a = s.audio || {};
  setFigure(el, "rtt", s.rtt_ms != null ? `${Math.round(s.rtt_ms)} ms` : "–", s.rtt_ms > RTT_BAD_MS);
  setFigure(el, "loss", s.loss_pct != null ? formatPercent(s.loss_pct) : "–", s.loss_pct > LOSS_BAD_PCT);
  setFigure(el, "jitter", s.jitter_ms != null ? `${formatNumber(s.jitter_ms, 1, true)} ms` : "–");
  // The codec first: a studio sending H.264 (an encoder) is told from a browser's VP8 at a glance.
  const picture = v.width ? `${v.width}×${v.height} ${Math.round(v.fps || 0)}fps` : "–";
  setFigure(el, "video", v.codec && v.width ? `${v.codec} ${picture}` : picture, s.connected && v.fps === 0);
  setFigure(el, "kbps", s.connected ? formatNumber((v.kbps || 0) + (a.kbps || 0)) : "–");
  setFigure(el, "age", s.last_packet_age_ms != null ? formatAge(s.last_packet_age_ms) : "–", s.last_packet_age_ms > 2000);
  const level = status === "live" ? a.level_dbfs : null; // a lost studio is silent, not stale
  const fill = el.querySelector(".mmeter-fill");
  fill.style.width = `${level != null ? Math.max(0, Math.min(100, ((level + 60) / 60) * 100)) : 0}%`;
  fill.dataset.level = level == null ? "none" : level > -3 ? "clip" : level > -12 ? "hot" : "ok";
  el.querySelector('[data-f="level"]').textContent = level != null ? `${formatNumber(level)} dBFS` : "–";
  const img = el.querySelector("img");
  if (s.thumbnail_url && img.getAttribute("src") !== s.thumbnail_url) img.src = s.thumbnail_url;
  drawSpark(el.querySelector("canvas"), state.history[key] || []);
}

function setFigure(el, name, text, bad = false) {
  const dd = el.querySelector(`[data-f="${name}"]`);
  dd.textContent = text;
  dd.dataset.bad = String(!!bad);
}

function drawSpark(canvas, points) {
  const ctx = canvas.getContext("2d");
  const w = canvas.width;
  const h = canvas.height;
  ctx.clearRect(0, 0, w, h);
  if (!points.length) return;
  const step = w / (SPARK_POINTS - 1);
  const x0 = w - (points.length - 1) * step;
  // Loss: red bars from the bottom, 10% loss is full height.
  ctx.fillStyle = "rgba(255, 77, 79, .85)";
  points.forEach(([, , loss], i) => {
    if (loss > 0) {
      const bh = Math.max(2, Math.min(1, loss / 10) * h);
      ctx.fillRect(x0 + i * step - 1, h - bh, 2, bh);
    }
  });
  // Bitrate: a green line scaled to the window's peak.
  const peak = Math.max(1, ...points.map((p) => p[1] || 0));
  ctx.strokeStyle = "#2fbf71";
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  let pen = false;
  points.forEach(([, kbps], i) => {
    if (kbps == null) {
      pen = false;
      return;
    }
    const y = h - 2 - (kbps / peak) * (h - 6);
    if (pen) ctx.lineTo(x0 + i * step, y);
    else ctx.moveTo(x0 + i * step, y);
    pen = true;
  });
  ctx.stroke();
  ctx.fillStyle = "#93a3b6";
  ctx.font = "9px DejaVu Sans Mono, monospace";
  ctx.fillText(formatBitrate(peak), 3, 10);
}

function renderAlerts() {
  const active = document.getElementById("active-alerts");
  active.replaceChildren(...state.alerts.map((a) => alertItem(a)));
  const count = document.getElementById("alert-count");
  count.textContent = String(state.alerts.length);
  count.dataset.active = String(state.alerts.length > 0);
  const recent = document.getElementById("recent-alerts");
  recent.replaceChildren(...state.recent.slice(0, 50).map((a) => alertItem(a, true)));
}

function alertItem(a, withClear = false) {
  const li = document.createElement("li");
  li.dataset.kind = a.kind;
  li.dataset.active = String(a.active);
  li.dataset.studio = a.studio || "";
  li.dataset.output = a.output || "";
  li.dataset.node = a.node || "";
  const time = document.createElement("span");
  time.className = "alert-time";
  time.textContent = clock(a.raised_at);
  li.append(time, alertText(a));
  if (withClear && a.cleared_at) li.append(` · ${t("cleared")} ${clock(a.cleared_at)}`);
  return li;
}

// The page's own wording of an alert, filled with its parameters (the server's English
// message when the page has no wording for its kind). An output's alert names its state in
// the page's language, and has a shorter wording while the output reports no error.
function alertText(a) {
  let key = `alert-${a.kind.replace(/_/g, "-")}`;
  const params = { ...(a.params || {}) };
  if (a.kind === "output_down") {
    if (!params.error) key += "-no-error";
    if (params.state) params.state = t(`output-${params.state}`);
  }
  const wording = t(key);
  if (wording === key) return a.message;
  return wording.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? params[name] : whole));
}

// --- clocks and countdowns -------------------------------------------------------------

// Times on the reader's own clock (the header names its zone), else in UTC.
const zoneClock = document.getElementById("zone-clock");
const zoneTime = zoneClock && new Intl.DateTimeFormat("en-GB", {
  timeZone: zoneClock.dataset.zone, hour: "2-digit", minute: "2-digit", second: "2-digit",
  hourCycle: "h23",
});

function clock(iso) {
  return zoneTime ? zoneTime.format(new Date(iso)) : new Date(iso).toISOString().slice(11, 19);
}

function formatDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
}

function formatBytes(n) {
  return bytesText(n);
}

function formatAge(ms) {
  return formatMilliseconds(ms);
}

function tick() {
  const now = Date.now();
  document.getElementById("utc-clock").textContent = new Date(now).toISOString().slice(11, 19);
  if (zoneClock) zoneClock.textContent = clock(now);
  for (const el of roomEls.values()) {
    const onAir = Date.parse(el.dataset.onAir);
    const offAir = Date.parse(el.dataset.offAir);
    const opens = Date.parse(el.dataset.opens);
    const cd = el.querySelector(".room-countdown");
    if (now < opens) cd.textContent = `${t("opens")} ${formatDuration((opens - now) / 1000)}`;
    else if (now < onAir) cd.textContent = `−${formatDuration((onAir - now) / 1000)} ${t("to-air")}`;
    else if (now < offAir) cd.textContent = `${formatDuration((offAir - now) / 1000)} ${t("left")}`;
    else cd.textContent = "";
  }
}

tick(); // the clocks from the first frame, not a quarter second later
setInterval(tick, 250);
connect();
