// Live conversions in the booking form: the wall-clock time being typed, read in the form's
// zone, as each selected studio's clock shows it ("= 17:00 Baku · 14:00 Rome"). Plain Intl
// with the zones' IANA names; the labels come from the page (the server names zones the same
// way everywhere), and the server stays the judge of what is stored (web/pages/forms.py).

const form = document.querySelector("form.booking-form");
const zoneSelect = form && form.querySelector("#zone");
const outputs = form ? [...form.querySelectorAll("[data-conversion-for]")] : [];

const formatters = new Map();

function formatter(zone) {
  if (!formatters.has(zone)) {
    formatters.set(zone, new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit",
    }));
  }
  return formatters.get(zone);
}

// The wall clock of `zone` at the instant `ms`: {year, month, day, hour, minute}.
function wallClock(ms, zone) {
  const out = {};
  for (const { type, value } of formatter(zone).formatToParts(new Date(ms))) {
    if (type !== "literal") out[type] = Number(value);
  }
  if (out.hour === 24) out.hour = 0; // older engines write midnight as 24 under h23
  return out;
}

function asUTC(w) {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute);
}

// The instant at which `zone`'s clock reads `text` ("2026-12-07T17:00"), or null when the text
// is incomplete or the zone skips that time (clocks going forward): the server then explains.
export function instantOf(text, zone) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(text || "");
  if (!m) return null;
  const naive = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]);
  try {
    // The zone's offset near that time, then once more at the result (a switch in between).
    let guess = naive - (asUTC(wallClock(naive, zone)) - naive);
    guess = naive - (asUTC(wallClock(guess, zone)) - guess);
    return asUTC(wallClock(guess, zone)) === naive ? guess : null;
  } catch {
    return null; // a zone this browser does not know
  }
}

const pad = (n) => String(n).padStart(2, "0");

// "17:00 Baku", and the weekday when that clock is already on another day ("01:00 Tokyo (Thu)").
function clockText(ms, zone, label, typedDay) {
  const w = wallClock(ms, zone);
  let text = `${pad(w.hour)}:${pad(w.minute)} ${label}`;
  if (w.day !== typedDay) {
    const weekday = new Intl.DateTimeFormat(document.documentElement.lang || "en", {
      weekday: "short", timeZone: zone,
    }).format(new Date(ms));
    text += ` (${weekday})`;
  }
  return text;
}

// The selected studios' zones, each once, in the order the studios are listed.
function studioZones() {
  const zones = new Map();
  for (const box of form.querySelectorAll("input[name=studios][data-zone]:checked")) {
    if (!zones.has(box.dataset.zone)) zones.set(box.dataset.zone, box.dataset.zoneLabel);
  }
  return zones;
}

function update() {
  const zone = zoneSelect.value;
  const zones = studioZones();
  for (const out of outputs) {
    const text = form.querySelector(`#${out.dataset.conversionFor}`).value;
    const ms = instantOf(text, zone);
    if (ms === null || zones.size === 0) {
      out.hidden = true;
      out.textContent = "";
      continue;
    }
    const typedDay = Number(text.slice(8, 10));
    const parts = [...zones].map(([z, label]) => clockText(ms, z, label, typedDay));
    out.textContent = `= ${parts.join(" · ")}`;
    out.hidden = false;
  }
}

if (form && zoneSelect && outputs.length) {
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
}
