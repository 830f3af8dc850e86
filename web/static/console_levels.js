// Each partner's sound level on its tile, and who is talking: a meter per partner (also
// given as text, to assistive technology and on screen) and a "talking" mark while a
// partner's level stays above TALKING_DBFS. Read from the partners' received audio, ten
// times a second.

const FLOOR_DBFS = -60;
const TALKING_DBFS = -40;
const TALKING_HOLD_MS = 400; // speech has gaps: the mark stays this long after the last word

let context = null;
const analysers = new Map(); // track id -> { analyser, samples }
const levels = {}; // partner id -> dBFS (for the browser tests: window.telebridge.levels)
const lastLoud = {}; // partner id -> when it was last above TALKING_DBFS

function analyserFor(track) {
  let entry = analysers.get(track.id);
  if (!entry) {
    context ||= new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    const source = context.createMediaStreamSource(new MediaStream([track]));
    source.connect(analyser);
    entry = { analyser, source, samples: new Float32Array(analyser.fftSize) };
    analysers.set(track.id, entry);
  }
  return entry;
}

function levelOf(track) {
  const { analyser, samples } = analyserFor(track);
  analyser.getFloatTimeDomainData(samples);
  let peak = 0;
  for (const s of samples) peak = Math.max(peak, Math.abs(s));
  return peak > 0 ? 20 * Math.log10(peak) : -Infinity;
}

function show(tile, id, db, now) {
  const meter = tile.querySelector(".tile-meter");
  const fill = tile.querySelector(".tile-meter-fill");
  const talking = tile.querySelector(".tile-talking");
  if (!meter || !fill || !talking) return;
  const shown = Math.max(FLOOR_DBFS, Math.min(0, Math.round(db)));
  fill.style.width = `${((shown - FLOOR_DBFS) / -FLOOR_DBFS) * 100}%`;
  meter.setAttribute("aria-valuenow", String(shown));
  const text = db <= FLOOR_DBFS ? `< ${FLOOR_DBFS} dBFS` : `${shown} dBFS`;
  meter.setAttribute("aria-valuetext", text);
  const readout = tile.querySelector(".tile-level"); // the same words on screen
  if (readout && readout.textContent !== text) readout.textContent = text;
  if (db > TALKING_DBFS) lastLoud[id] = now;
  const isTalking = now - (lastLoud[id] || 0) < TALKING_HOLD_MS;
  talking.hidden = !isTalking;
  tile.classList.toggle("is-talking", isTalking);
}

function measure() {
  const now = performance.now();
  const seen = new Set();
  for (const tile of document.querySelectorAll(".tile[data-partner]")) {
    const id = tile.dataset.partner;
    const video = tile.querySelector("video");
    const stream = video && video.srcObject;
    const [track] = stream ? stream.getAudioTracks() : [];
    if (track) seen.add(track.id);
    const db = track && track.readyState === "live" ? levelOf(track) : -Infinity;
    levels[id] = Number.isFinite(db) ? Math.round(db * 10) / 10 : null;
    show(tile, id, db, now);
  }
  // A reconnect brings new tracks: the old ones' analysers go with them.
  for (const [trackId, entry] of analysers) {
    if (!seen.has(trackId)) {
      entry.source.disconnect();
      analysers.delete(trackId);
    }
  }
}

// The join click is the user's gesture that lets the audio context run.
document.getElementById("join").addEventListener("click", () => {
  context ||= new AudioContext();
  context.resume().catch(() => {});
});
if (window.telebridge) window.telebridge.levels = levels;
setInterval(measure, 100);
