// The compose page's live parts: the audience counts, the SMS counter and the preview,
// asked of the server as the author types (debounced), so that what they show is what
// `update draft` reports and what is sent. Without this script the "Count", "Check" and
// "Preview" buttons show the same.
(function () {
  "use strict";
  var form = document.getElementById("compose");
  if (!form || !window.fetch || !window.URLSearchParams) {
    return;
  }
  var csrf = form.querySelector("input[name=csrf]").value;

  // One request at a time per target; a change while one runs asks again after it.
  function live(url, target, delay) {
    var timer = null;
    var running = false;
    var again = false;
    function ask() {
      if (running) {
        again = true;
        return;
      }
      running = true;
      var body = new URLSearchParams(new FormData(form));
      body.delete("csrf");
      body.delete("do");
      fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "x-csrf-token": csrf, "content-type": "application/x-www-form-urlencoded" },
        body: body.toString()
      })
        .then(function (response) {
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          // The server rendered and escaped the fragment, as it renders the page.
          if (html !== null) {
            target.innerHTML = html;
          }
        })
        .catch(function () {})
        .then(function () {
          running = false;
          if (again) {
            again = false;
            ask();
          }
        });
    }
    return function () {
      clearTimeout(timer);
      timer = setTimeout(ask, delay);
    };
  }

  var counts = live("/console/compose/audience", document.getElementById("audience-counts"), 400);
  var sms = live("/console/compose/sms", document.getElementById("sms-counter"), 600);
  var audiences = document.getElementById("audiences");
  var channels = document.getElementById("channels");
  audiences.addEventListener("input", function () { counts(); sms(); });
  audiences.addEventListener("change", function () { counts(); sms(); });
  channels.addEventListener("change", sms);
  form.addEventListener("input", function (event) {
    var target = event.target;
    if (target.classList.contains("sms-text") || target.id === "sms_gsm7" || target.id === "appointments") {
      sms();
    }
  });
  document.getElementById("sms_gsm7").addEventListener("change", sms);
  // Every field can change what a reader gets: the texts, the audiences, the channels.
  var preview = live("/console/compose/preview", document.getElementById("compose-preview"), 800);
  form.addEventListener("input", preview);
  form.addEventListener("change", preview);
  counts();
  sms();
  preview();
})();
