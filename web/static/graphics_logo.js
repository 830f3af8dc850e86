// The admin's program logo on the Studios page: a PNG file PUT as it is (image/png) to
// /api/graphics/logo, or removed; the server checks it (PNG, 1 MB, 1920 x 1080) and says why
// it refuses, which is shown in the status line.
import { answered } from "./answered.js";

const card = document.getElementById("graphics-logo");
const file = card.querySelector("[data-logo-file]");
const preview = card.querySelector("[data-logo-preview]");
const remove = card.querySelector("[data-logo-remove]");
const status = card.querySelector("[data-logo-status]");

async function call(method, body) {
  const headers = { "X-CSRF-Token": card.dataset.csrf };
  if (body) headers["Content-Type"] = "image/png";
  await answered(card.dataset.textOffline, "/api/graphics/logo", { method, headers, body });
}

function shown(present) {
  preview.hidden = !present;
  remove.hidden = !present;
  if (present) preview.src = `/api/graphics/logo?v=${Date.now()}`; // the new picture, not a cached one
}

card.querySelector("[data-logo-upload]").addEventListener("click", async () => {
  const picked = file.files[0];
  if (!picked) {
    status.textContent = card.dataset.textChoose;
    return;
  }
  try {
    await call("PUT", picked);
    shown(true);
    status.textContent = card.dataset.textUploaded;
  } catch (err) {
    status.textContent = err && err.message ? err.message : card.dataset.textOffline;
  }
});

remove.addEventListener("click", async () => {
  try {
    await call("DELETE");
    shown(false);
    status.textContent = card.dataset.textRemoved;
  } catch (err) {
    status.textContent = err && err.message ? err.message : card.dataset.textOffline;
  }
});
