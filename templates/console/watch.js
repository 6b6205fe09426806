// The dashboard's live counts: each Server-Sent Event carries the counts' fragment, rendered
// and escaped by the server like the page itself. The screen-reader announcement follows
// only every tenth percent, a pause and the end, not every event.
(function () {
  "use strict";
  var region = document.getElementById("progress");
  var live = document.getElementById("progress-live");
  if (!region || !live || !window.EventSource) {
    return;
  }
  var lastStep = -1;
  var lastPaused = false;
  var source = new EventSource(region.getAttribute("data-events"));
  source.addEventListener("progress", function (event) {
    var data;
    try {
      data = JSON.parse(event.data);
    } catch (ignored) {
      return;
    }
    region.innerHTML = data.html;
    var step = Math.floor(data.percent / 10);
    var paused = Boolean(data.progress && data.progress.paused);
    if (step !== lastStep || paused !== lastPaused) {
      var summary = region.querySelector(".summary");
      live.textContent = summary ? summary.textContent : "";
      lastStep = step;
      lastPaused = paused;
    }
  });
})();
