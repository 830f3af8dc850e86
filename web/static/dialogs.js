// Confirmations before irreversible steps (decline, cancel): each opener is a small GET form
// (?ask=<dialog id>), so that without scripts the server shows the dialog open in the page;
// with them it opens here as a modal dialog (focus inside, Escape or "Back" closes it, and the
// focus goes back to the button that opened it).

const openedBy = new Map();

for (const opener of document.querySelectorAll("form[data-opens]")) {
  opener.addEventListener("submit", (event) => {
    const dialog = document.getElementById(opener.dataset.opens);
    if (!dialog || typeof dialog.showModal !== "function") return; // the server opens it
    event.preventDefault();
    openedBy.set(dialog, opener.querySelector("button"));
    if (!dialog.open) dialog.showModal();
  });
}

for (const dialog of document.querySelectorAll("dialog.confirm-dialog")) {
  for (const back of dialog.querySelectorAll("[data-close]")) {
    back.addEventListener("click", (event) => {
      event.preventDefault();
      dialog.close();
    });
  }
  dialog.addEventListener("close", () => {
    const button = openedBy.get(dialog) || document.querySelector(`form[data-opens="${dialog.id}"] button`);
    if (button) button.focus();
  });
  // The server opened it (a reason it refused): the same modal dialog, what was typed kept.
  if (dialog.open && typeof dialog.showModal === "function") {
    dialog.removeAttribute("open"); // not close(): its "close" event would move the focus
    dialog.showModal();
    const invalid = dialog.querySelector("[aria-invalid=true]");
    if (invalid) invalid.focus();
  }
}
