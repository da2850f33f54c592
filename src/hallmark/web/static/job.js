// The job page follows its job live: it polls the job's progress and updates the page in
// place, and reloads once when the job ends or a new sample image arrives, so that the
// finished page (images, publish form) comes from the server.
(function () {
  "use strict";
  const status = document.getElementById("job");
  if (!status) return;
  const url = status.dataset.progress;
  const shownSamples = document.querySelectorAll(".thumbs img").length;
  const text = (id, value) => {
    const element = document.getElementById(id);
    if (element) element.textContent = value;
  };

  async function poll() {
    let progress;
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      progress = await response.json();
    } catch (error) {
      setTimeout(poll, 5000); // the server is busy or restarting: try again a little later
      return;
    }
    text("job-state", progress.state);
    text("job-step", progress.step);
    text("job-total", progress.total);
    const bar = document.getElementById("progress");
    if (bar) {
      bar.value = progress.percent;
      bar.textContent = progress.percent + "%";
    }
    const parts = [];
    if (progress.loss !== null) parts.push("loss " + progress.loss.toFixed(4));
    if (progress.eta_seconds) parts.push("about " + Math.round(progress.eta_seconds) + " s left");
    text("job-meta", parts.join(" · "));
    if (!progress.running || progress.samples > shownSamples) {
      window.location.reload();
      return;
    }
    setTimeout(poll, 1500);
  }

  setTimeout(poll, 1500);
})();
