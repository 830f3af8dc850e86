// The control room's program graphics (_control_graphics.html): each studio's lower third shown
// or hidden (with the name and title typed for the chosen language), that language, the clock
// and the logo. Every change is one POST to /api/bookings/{id}/graphics; its answer (what is
// kept, and what the open room shows) redraws the card. The state is read back every POLL_MS,
// so that several producers see each other's changes; a field being typed in is left alone.
// Names and titles are put on the page as text, never as markup.
import { answered } from "./answered.js";

const card = document.getElementById("control-graphics");
const api = `/api/bookings/${card.dataset.booking}/graphics`;
const POLL_MS = 3000;
const status = card.querySelector("[data-graphics-status]");
const language = card.querySelector("[data-graphics-language]");
const clockToggle = card.querySelector("[data-clock-toggle]");
const clockZone = card.querySelector("[data-clock-zone]");
const logoToggle = card.querySelector("[data-logo-toggle]");
const logoCorner = card.querySelector("[data-logo-corner]");
const rows = new Map([...card.querySelectorAll("[data-graphics-studio]")].map((r) => [r.dataset.graphicsStudio, r]));
let busy = false; // a change is on its way: the poll waits for its answer instead

async function send(method, body) {
  const init = { method, headers: {} };
  if (method !== "GET") {
    init.headers["Content-Type"] = "application/json";
    init.headers["X-CSRF-Token"] = card.dataset.csrf;
    init.body = JSON.stringify(body);
  }
  return (await answered(card.dataset.textOffline, api, init)).graphics;
}

function say(text) {
  if (status.textContent !== text) status.textContent = text;
}

function textIn(graphics, studio, lang) {
  return graphics.texts.find((t) => t.studio === studio && t.language === lang);
}

function setField(input, value, placeholder) {
  if (document.activeElement !== input && !input.dataset.dirty) input.value = value;
  input.placeholder = placeholder;
}

function draw(graphics) {
  const lang = graphics.language || language.value;
  if (document.activeElement !== language) language.value = lang;
  for (const lt of graphics.lower_thirds) {
    const row = rows.get(lt.studio);
    if (!row) continue;
    const own = textIn(graphics, lt.studio, lang);
    // A text only in another language shows as the placeholder: typing makes it this one's.
    setField(row.querySelector("[data-lt-name]"), own ? own.name : "", !own && lt.name ? lt.name : row.dataset.namePlaceholder);
    setField(row.querySelector("[data-lt-title]"), own ? own.title : "", !own && lt.title ? lt.title : row.dataset.titlePlaceholder);
    const toggle = row.querySelector("[data-lt-toggle]");
    toggle.setAttribute("aria-pressed", String(lt.visible));
    toggle.textContent = lt.visible ? card.dataset.textHide : card.dataset.textShow;
    toggle.classList.toggle("btn-primary", lt.visible);
  }
  clockToggle.checked = graphics.clock !== null;
  if (graphics.clock !== null && document.activeElement !== clockZone) {
    const option = [...clockZone.options].find(
      (o) => o.value === graphics.clock.zone && o.dataset.label === graphics.clock.label,
    );
    if (option) clockZone.value = option.value;
  }
  logoToggle.checked = graphics.logo.visible;
  logoToggle.disabled = !graphics.logo.available;
  if (document.activeElement !== logoCorner) logoCorner.value = graphics.logo.corner;
}

async function change(body) {
  busy = true;
  try {
    const graphics = await send("POST", body);
    for (const input of card.querySelectorAll("[data-dirty]")) delete input.dataset.dirty;
    draw(graphics);
    say(graphics.on_air === null ? card.dataset.textKept : card.dataset.textOnAir);
  } catch (err) {
    say(err && err.message ? err.message : card.dataset.textOffline);
  } finally {
    busy = false;
  }
}

for (const [studio, row] of rows) {
  const name = row.querySelector("[data-lt-name]");
  const title = row.querySelector("[data-lt-title]");
  row.dataset.namePlaceholder = name.placeholder;
  row.dataset.titlePlaceholder = title.placeholder;
  for (const input of [name, title]) input.addEventListener("input", () => (input.dataset.dirty = "yes"));
  row.querySelector("[data-lt-toggle]").addEventListener("click", (event) => {
    const showing = event.currentTarget.getAttribute("aria-pressed") === "true";
    const body = { studio, visible: !showing };
    if (!showing && name.value.trim()) {
      // Shown with what is typed, kept for the chosen language.
      body.lower_third = { name: name.value, title: title.value };
      body.language = language.value;
    }
    change(body);
  });
}

language.addEventListener("change", () => change({ language: language.value }));

function clockBody() {
  const option = clockZone.selectedOptions[0];
  return clockToggle.checked && option ? { zone: option.value, label: option.dataset.label || "" } : null;
}
clockToggle.addEventListener("change", () => change({ clock: clockBody() }));
clockZone.addEventListener("change", () => {
  if (clockToggle.checked) change({ clock: clockBody() });
});

logoToggle.addEventListener("change", () => change({ logo: { visible: logoToggle.checked, corner: logoCorner.value } }));
logoCorner.addEventListener("change", () => change({ logo: { corner: logoCorner.value } }));

async function poll() {
  if (!busy) {
    try {
      draw(await send("GET"));
    } catch (err) {
      say(err && err.message ? err.message : card.dataset.textOffline);
    }
  }
  setTimeout(poll, POLL_MS);
}
setTimeout(poll, POLL_MS);
