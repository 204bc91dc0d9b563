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

  // A live update does not replace a row while one of its buttons waits for its answer: the
  // answer is a row rendered after the action, and would otherwise land in a row no longer in
  // the page. (Live rows settle at once, hx-swap "settle:0ms", so a click never meets a button
  // htmx has not wired yet.)
  document.addEventListener("htmx:sseBeforeMessage", function (e) {
    if (e.target.querySelector && e.target.querySelector(".htmx-request")) {
      e.preventDefault();
    }
  });

  // Relative times ("in 3 s", "2 min ago") stay true between renders. An element with data-at
  // (the instant) and data-now (the server's time when it was rendered) is written again every
  // second, by the rules of shared/humanize's Relative, in the page's language. The server's
  // clock, not the browser's, is the reference: data-now plus the time since the element came.
  var words = {
    en: {justNow: "just now", future: "in %s", past: "%s ago", second: "s", minute: "min", hour: "h",
      day: "day", days: "days", year: "year", years: "years"},
    vi: {justNow: "vừa xong", future: "sau %s", past: "%s trước", second: "giây", minute: "phút", hour: "giờ",
      day: "ngày", days: "ngày", year: "năm", years: "năm"}
  };
  function relative(ms, lang) {
    var l = /^vi(?:$|[-_])/i.test(lang || "") ? words.vi : words.en;
    var d = Math.abs(ms);
    if (d < 1000) {
      return l.justNow;
    }
    function count(unit) { return Math.round(d / unit); }
    function plural(n, one, many) { return n === 1 ? "1 " + one : n + " " + many; }
    var amount;
    if (count(1e3) < 60) {
      amount = count(1e3) + " " + l.second;
    } else if (count(6e4) < 60) {
      amount = count(6e4) + " " + l.minute;
    } else if (count(36e5) < 24) {
      amount = count(36e5) + " " + l.hour;
    } else if (count(864e5) < 365) {
      amount = plural(count(864e5), l.day, l.days);
    } else {
      amount = plural(count(365 * 864e5), l.year, l.years);
    }
    return (ms > 0 ? l.future : l.past).replace("%s", amount);
  }
  window.vecron = {relative: relative};

  var arrived = new WeakMap();
  function stamp(root) {
    var now = Date.now();
    (root.querySelectorAll ? root.querySelectorAll("[data-at][data-now]") : []).forEach(function (el) {
      if (!arrived.has(el)) {
        arrived.set(el, now);
      }
    });
  }
  function refresh() {
    if (document.hidden) {
      return;
    }
    var lang = document.documentElement.lang;
    var now = Date.now();
    document.querySelectorAll("[data-at][data-now]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("data-at"));
      var rendered = Date.parse(el.getAttribute("data-now"));
      if (isNaN(at) || isNaN(rendered)) {
        return;
      }
      if (!arrived.has(el)) {
        arrived.set(el, now);
      }
      var text = relative(at - (rendered + now - arrived.get(el)), lang);
      if (el.textContent !== text) {
        el.textContent = text;
      }
    });
  }
  stamp(document);
  document.addEventListener("htmx:load", function (e) { stamp(e.detail.elt); });
  window.setInterval(refresh, 1000);
})();
