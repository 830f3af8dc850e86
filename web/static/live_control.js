// The producer's live controls on the booking page: program layout, solo studio, recording.
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
stop.addEventListener("click", async () => {
  try {
    await call("recording/stop");
    stop.hidden = true;
    start.hidden = false;
  } catch (err) {
    status.textContent = err.message;
  }
});
