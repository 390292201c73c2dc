// gridhub console: progressive enhancement only; every page works without it.
// 1. The queue refreshes its list every second (new reports appear by themselves).
// 2. An action form's button is disabled once pressed (a double click sends once; the
//    hub refuses a second one anyway: the form carries the event's version).
// 3. A button marked data-print prints the page (the enrollment code's card).
"use strict";
(function () {
  function live() {
    var box = document.getElementById("live");
    if (!box) return;
    var url = box.getAttribute("data-live");
    var last = box.innerHTML;
    var busy = false;
    setInterval(function () {
      if (busy || document.hidden) return;
      busy = true;
      fetch(url, { credentials: "same-origin", cache: "no-store", redirect: "error" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html !== null && html !== last) {
            box.innerHTML = html;
            last = box.innerHTML;
          }
        })
        .catch(function () {})
        .then(function () { busy = false; });
    }, 1000);
  }
  function once() {
    var forms = document.querySelectorAll("form.act");
    for (var i = 0; i < forms.length; i++) {
      forms[i].addEventListener("submit", function (e) {
        var b = e.target.querySelector("button[type=submit]");
        if (b) {
          setTimeout(function () { b.disabled = true; }, 0);
        }
      });
    }
  }
  function print() {
    var b = document.querySelectorAll("button[data-print]");
    for (var i = 0; i < b.length; i++) {
      b[i].addEventListener("click", function () { window.print(); });
    }
  }
  document.addEventListener("DOMContentLoaded", function () { live(); once(); print(); });
})();
