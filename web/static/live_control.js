// The producer's live controls on the booking page: program layout, solo studio, recording,
// and the program sound: each studio's gain fader, mute and level meter.
import { formatDecibels } from "./numbers.js";
const panel = document.getElementById("live-control");
const booking = panel.dataset.booking;
const status = document.getElementById("control-status");
const studio = document.getElementById("program-studio");

async function call(path, body) {
  const response = await fetch(`/api/bookings/${booking}/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": panel.dataset.csrf },
    body: JSON.stringify(body || {}),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error ? data.error.message : `HTTP ${response.status}`);
  return data;
}

for (const button of panel.querySelectorAll("[data-layout]")) {
  button.addEventListener("click", async () => {
    const layout = button.dataset.layout;
    const body = { layout };
    if (layout === "solo" || layout === "pip") body.studio = studio.value;
    try {
      await call("program", body);
      for (const b of panel.querySelectorAll("[data-layout]")) b.classList.remove("btn-primary");
      button.classList.add("btn-primary");
      status.textContent = "✓";
    } catch (err) {
      status.textContent = err.message;
    }
  });
}

const start = document.getElementById("rec-start");
const stop = document.getElementById("rec-stop");
start.addEventListener("click", async () => {
  try {
    await call("recording/start");
    start.hidden = true;
    stop.hidden = false;
  } catch (err) {
    status.textContent = err.message;
  }
});
// Stopping cannot be undone (the files are finished and filed): it asks first, in the page.
const stopDialog = document.getElementById("rec-stop-dialog");
stop.addEventListener("click", () => {
  stopDialog.returnValue = "";
  stopDialog.showModal();
});
stopDialog.addEventListener("close", async () => {
  if (stopDialog.returnValue !== "stop") {
    stop.focus();
    return;
  }
  try {
    await call("recording/stop");
    stop.hidden = true;
    start.hidden = false;
    start.focus();
  } catch (err) {
    status.textContent = err.message;
  }
});

// Program sound. Every strip sends its fader while it moves (at most one request in flight
// and one every SEND_MS, the last position always sent), so the change is on air at once; the
// room's state is read back every POLL_MS for the meters, and for the faders nobody is moving.
const SEND_MS = 80;
const POLL_MS = 250;
const RETRY_MS = 3000;
const HOLD_MS = 1500; // after a local change, the poll leaves that strip's controls alone
const METER_FLOOR = -60;
const desk = document.getElementById("sound-desk");
const soundStatus = document.getElementById("sound-status");
const strips = new Map();

function formatDb(db) {
  return formatDecibels(db); // the language's decimal sign: "−3,5 dB" in az, tr, ru
}

class Strip {
  constructor(el) {
    this.el = el;
    this.id = el.dataset.strip;
    this.fader = el.querySelector(".strip-fader");
    this.gainText = el.querySelector(".strip-gain");
    this.mute = el.querySelector(".strip-mute");
    this.meter = el.querySelector(".strip-meter");
    this.fill = el.querySelector(".strip-meter-fill");
    this.peakMark = el.querySelector(".strip-meter-peak");
    this.levelText = el.querySelector(".strip-level");
    this.micOff = el.querySelector(".strip-mic-off");
    this.error = el.querySelector(".strip-error");
    this.pending = null;
    this.inflight = false;
    this.timer = null;
    this.lastSent = 0;
    this.touched = 0;
    this.dragging = false;
    this.shown = METER_FLOOR; // the meter's bar, with a falling release between readings
    this.signal = false;
    this.target = METER_FLOOR;
    this.peak = METER_FLOOR;
    this.peakAt = 0;
    this.fader.addEventListener("input", () => {
      this.showGain(Number(this.fader.value));
      this.send({ gain_db: Number(this.fader.value) });
    });
    this.fader.addEventListener("dblclick", () => {
      this.fader.value = "0";
      this.showGain(0);
      this.send({ gain_db: 0 });
    });
    this.fader.addEventListener("pointerdown", () => { this.dragging = true; });
    this.fader.addEventListener("pointerup", () => { this.dragging = false; });
    this.fader.addEventListener("pointercancel", () => { this.dragging = false; });
    this.mute.addEventListener("click", () => {
      const muted = this.mute.getAttribute("aria-pressed") !== "true";
      this.showMuted(muted);
      this.send({ muted });
    });
  }

  showGain(db) {
    this.gainText.textContent = formatDb(db);
  }

  showMuted(muted) {
    this.mute.setAttribute("aria-pressed", String(muted));
    this.el.classList.toggle("is-muted", muted);
  }

  busy() {
    return this.dragging || this.pending || this.inflight || performance.now() - this.touched < HOLD_MS;
  }

  send(change) {
    this.pending = { ...this.pending, ...change };
    this.touched = performance.now();
    this.pump();
  }

  async pump() {
    if (this.inflight || !this.pending || this.timer) return;
    const wait = SEND_MS - (performance.now() - this.lastSent);
    if (wait > 0) {
      this.timer = setTimeout(() => { this.timer = null; this.pump(); }, wait);
      return;
    }
    const body = { studio: this.id, ...this.pending };
    this.pending = null;
    this.inflight = true;
    this.lastSent = performance.now();
    try {
      const data = await call("program/audio", body);
      this.error.hidden = true;
      this.el.classList.remove("has-error");
      if (!this.pending) this.state(data.audio[this.id], !this.dragging);
    } catch (err) {
      this.error.textContent = err.message;
      this.error.hidden = false;
      this.el.classList.add("has-error");
      this.touched = 0; // the next reading puts the controls back where the room is
    } finally {
      this.inflight = false;
      this.touched = performance.now();
      this.pump();
    }
  }

  // What the room says: the controls (unless someone is moving them) and the meter.
  state(audio, controls) {
    if (!audio) return;
    if (controls || !this.busy()) {
      this.fader.value = String(audio.gain_db);
      this.showGain(audio.gain_db);
      this.showMuted(audio.muted);
    }
    // The meter shows what the studio puts on air: its level after the automatic and the
    // producer's gain; while muted, the level it would have (dimmed), so a studio that starts
    // talking is seen before it is opened.
    const level = audio.level_dbfs;
    this.signal = level !== null && level !== undefined;
    this.target = this.signal ? level + (audio.auto_db || 0) + Number(this.fader.value) : METER_FLOOR;
    this.el.classList.toggle("no-signal", !this.signal);
    // The studio's own cough key: why it is silent, said on its strip.
    this.micOff.hidden = !audio.mic_off;
    this.el.classList.toggle("is-mic-off", !!audio.mic_off);
  }

  // The readout and the meter's value for assistive technology say what the bar shows (its
  // falling release included), never a reading the bar has not reached: one source of truth.
  showLevel() {
    const db = Math.round(this.shown);
    const text = !this.signal
      ? desk.dataset.noSignal
      : db < METER_FLOOR ? `< ${METER_FLOOR} dBFS` : `${db} dBFS`;
    if (this.levelText.textContent !== text) this.levelText.textContent = text;
    this.meter.setAttribute("aria-valuenow", String(Math.max(METER_FLOOR, Math.min(0, db))));
    this.meter.setAttribute("aria-valuetext", text);
  }

  // One animation frame of the meter: up at once, down at 20 dB a second, the peak held 1.5 s.
  animate(now, dt) {
    this.shown = this.target >= this.shown ? this.target : Math.max(this.target, this.shown - 20 * dt);
    if (this.shown >= this.peak || now - this.peakAt > 1500) {
      this.peak = this.shown;
      this.peakAt = now;
    }
    const pct = (db) => Math.max(0, Math.min(100, ((db - METER_FLOOR) / -METER_FLOOR) * 100));
    this.fill.style.clipPath = `inset(${100 - pct(this.shown)}% 0 0 0)`;
    this.peakMark.style.bottom = `${pct(this.peak)}%`;
    this.peakMark.classList.toggle("over", this.peak > -3);
    this.showLevel();
  }
}

for (const el of desk.querySelectorAll("[data-strip]")) strips.set(el.dataset.strip, new Strip(el));

// The room's program as the controls show it; the studio picker only on load, since the
// producer picks a studio there before pressing solo or pip.
function showProgram(program, picker) {
  for (const b of panel.querySelectorAll("[data-layout]")) {
    b.classList.toggle("btn-primary", b.dataset.layout === program.layout);
    b.setAttribute("aria-pressed", String(b.dataset.layout === program.layout));
  }
  if (picker && program.studio) studio.value = program.studio;
  start.hidden = program.recording;
  stop.hidden = !program.recording;
}

let first = true;
async function poll() {
  try {
    const response = await fetch(`/api/bookings/${booking}/program`, {
      headers: { Accept: "application/json" },
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(data.error ? data.error.message : `HTTP ${response.status}`);
    const program = data.program;
    showProgram(program, first);
    first = false;
    for (const [id, strip] of strips) strip.state(program.audio[id], false);
    soundStatus.textContent = "";
    desk.classList.remove("is-offline");
  } catch (err) {
    soundStatus.textContent = err.message;
    desk.classList.add("is-offline");
    for (const strip of strips.values()) {
      strip.target = METER_FLOOR;
      strip.signal = false;
    }
    setTimeout(poll, RETRY_MS); // the room has closed, or the session ended: ask less often
    return;
  }
  setTimeout(poll, document.hidden ? RETRY_MS : POLL_MS);
}
poll();

let last = performance.now();
function frame(now) {
  const dt = Math.min(0.25, (now - last) / 1000);
  last = now;
  for (const strip of strips.values()) strip.animate(now, dt);
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);
