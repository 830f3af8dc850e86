// A partner whose video codec this browser did not negotiate (an encoder sending H.264 to a
// browser that offered only VP8) cannot be shown: its tile says so instead of staying black.
document.addEventListener("telebridge:state", (event) => {
  const unplayable = event.detail.unplayable || {};
  for (const tile of document.querySelectorAll(".tile[data-partner]")) {
    const note = tile.querySelector(".tile-unplayable");
    if (!note) continue;
    const codec = unplayable[tile.dataset.partner];
    note.hidden = !codec;
    tile.dataset.unplayable = codec ? "true" : "false";
    if (codec) {
      const name = tile.querySelector("strong").textContent;
      note.textContent = note.dataset.text.replace("%(studio)s", name).replace("%(codec)s", codec);
    }
  }
});
