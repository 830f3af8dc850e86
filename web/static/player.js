// The archive player: switch between the program and each studio's own feed at the same moment.
const player = document.getElementById("player");
for (const button of document.querySelectorAll(".sources .source")) {
  button.addEventListener("click", () => {
    const at = player.currentTime;
    const playing = !player.paused;
    player.src = button.dataset.src;
    player.addEventListener("loadedmetadata", () => {
      player.currentTime = Math.min(at, player.duration || at);
      if (playing) player.play().catch(() => {});
    }, { once: true });
    for (const b of document.querySelectorAll(".sources .source")) b.classList.remove("is-current");
    button.classList.add("is-current");
  });
}
