// The booking page's live outputs: add one (checked by the API, errors by field), start, stop
// and remove, and each output's state, bitrate and last error kept true while the page is open.
import { formatBitrate } from "./numbers.js";
const card = document.getElementById("outputs");
const booking = card.dataset.booking;
const form = document.getElementById("add-output");
const status = document.getElementById("output-status");
const POLL_MS = 2000;

async function api(method, path, body) {
  const response = await fetch(`/api/bookings/${booking}/${path}`, {
    method,
    headers: { "Content-Type": "application/json", "X-CSRF-Token": card.dataset.csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return {};
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(data.error ? data.error.message : `HTTP ${response.status}`);
    error.fields = (data.error && data.error.fields) || {};
    throw error;
  }
  return data;
}

// Only the fields of the chosen kind are shown (and sent).
function showFieldsOf(kind) {
  for (const field of form.querySelectorAll("[data-for]")) {
    field.hidden = !field.dataset.for.split(" ").includes(kind);
  }
}

if (form) {
  const kind = form.elements.kind;
  showFieldsOf(kind.value);
  kind.addEventListener("change", () => showFieldsOf(kind.value));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    for (const p of form.querySelectorAll("[data-field-error]")) p.hidden = true;
    const body = { kind: kind.value, name: form.elements.name.value };
    for (const name of ["url", "key", "passphrase", "latency_ms"]) {
      const input = form.elements[name];
      if (input.closest("[data-for]").hidden || input.value.trim() === "") continue;
      body[name] = name === "latency_ms" ? Number(input.value) : input.value.trim();
    }
    status.textContent = "…";
    try {
      await api("POST", "outputs", body);
      window.location.reload();
    } catch (err) {
      status.textContent = err.message;
      for (const [name, problem] of Object.entries(err.fields || {})) {
        const p = form.querySelector(`[data-field-error="${name}"]`);
        if (p) {
          p.textContent = problem;
          p.hidden = false;
        }
      }
    }
  });
}

for (const button of card.querySelectorAll("[data-output-action]")) {
  button.addEventListener("click", async () => {
    const row = button.closest("[data-output]");
    const id = row.dataset.output;
    const action = button.dataset.outputAction;
    if (button.dataset.confirm && !window.confirm(button.dataset.confirm)) return;
    try {
      if (action === "remove") {
        await api("DELETE", `outputs/${id}`);
        row.remove();
      } else {
        const data = await api("POST", `outputs/${id}/${action}`);
        show(row, data.output);
      }
    } catch (err) {
      const error = row.querySelector("[data-error]");
      error.textContent = err.message;
      error.hidden = false;
    }
  });
}

const stateText = JSON.parse(card.dataset.stateNames || "{}"); // in the page's language

function show(row, output) {
  const pill = row.querySelector("[data-state]");
  pill.className = `pill output-state state-${output.state}`;
  pill.textContent = stateText[output.state] || output.state;
  const error = row.querySelector("[data-error]");
  error.textContent = output.last_error || "";
  error.hidden = !output.last_error;
  row.querySelector("[data-bitrate]").textContent =
    output.bitrate_kbps ? formatBitrate(output.bitrate_kbps) : "–";
}

async function poll() {
  try {
    const data = await api("GET", "outputs");
    for (const output of data.outputs) {
      const row = card.querySelector(`[data-output="${output.id}"]`);
      if (row) show(row, output);
    }
  } catch {
    // The next poll tries again; the last states stay on screen meanwhile.
  }
  setTimeout(poll, POLL_MS);
}
if (card.querySelector("[data-output]")) setTimeout(poll, POLL_MS);
