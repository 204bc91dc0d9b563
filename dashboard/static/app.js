// vecron dashboard: the little behaviour HTMX does not give. No inline script, no eval: the
// Content-Security-Policy allows scripts from this origin only.
(function () {
  "use strict";
  // A refusal swapped into the flash region is read out (aria-live) and stays until the next
  // successful request replaces or clears it.
  document.addEventListener("htmx:afterRequest", function (e) {
    var flash = document.getElementById("flash");
    if (flash && e.detail.successful && e.detail.target !== flash) {
      flash.textContent = "";
    }
  });
  // The network is down or the server did not answer: say so instead of doing nothing.
  document.addEventListener("htmx:sendError", function () {
    var flash = document.getElementById("flash");
    if (flash) {
      var p = document.createElement("p");
      p.className = "problem";
      p.setAttribute("role", "alert");
      p.textContent = document.documentElement.lang === "vi"
        ? "Không kết nối được máy chủ."
        : "The server could not be reached.";
      flash.replaceChildren(p);
    }
  });
})();
