// Starling live updates: follows the page's stream (body[data-stream]) with EventSource,
// offers new posts behind a "Show N new posts" button, replaces edited ones, removes deleted ones
// and keeps the notification badge current. It also sends a post's favourite, boost and
// bookmark buttons without leaving the page, and counts the characters left while
// composing. Pages work fully without it: every button is a form that posts and comes
// back (303). EventSource reconnects by itself and sends Last-Event-ID, so nothing is
// missed or shown twice.
(function () {
  "use strict";

  // A post's buttons: post the form, put the answered HTML in the post's place.
  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (!form.hasAttribute || !form.hasAttribute("data-action") || !window.fetch) return;
    e.preventDefault();
    var article = form.closest("article");
    fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-Starling-Fragment": "1", "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(new FormData(form)).toString()
    }).then(function (res) {
      if (!res.ok) throw new Error(String(res.status));
      return res.text();
    }).then(function (html) {
      var tpl = document.createElement("template");
      tpl.innerHTML = html; // rendered and escaped by the server's templates
      var node = tpl.content.firstElementChild;
      if (node && article) {
        if (article.id !== node.id) node.id = article.id; // a boost stays where it is listed
        article.replaceWith(node);
      }
    }).catch(function () {
      form.submit(); // the plain form, which shows the server's answer
    });
  });

  // Characters left: the text and the content warning count together, in code points.
  var counted = document.querySelectorAll("[data-counter]");
  function count() {
    var outputs = {};
    counted.forEach(function (el) {
      var id = el.getAttribute("data-counter");
      outputs[id] = (outputs[id] || 0) + Array.from(el.value).length;
    });
    Object.keys(outputs).forEach(function (id) {
      var out = document.getElementById(id);
      if (!out) return;
      var left = Number(out.getAttribute("data-max")) - outputs[id];
      out.textContent = left + " characters left";
      out.classList.toggle("over", left < 0);
    });
  }
  counted.forEach(function (el) { el.addEventListener("input", count); });
  if (counted.length) count();

  // Relative times ("now", "5m", "3h", "Jan 2") as the server writes them, kept current
  // while the page stays open.
  var months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  function ago(t) {
    var s = (Date.now() - t.getTime()) / 1000;
    if (s < 60) return "now";
    if (s < 3600) return Math.floor(s / 60) + "m";
    if (s < 86400) return Math.floor(s / 3600) + "h";
    var day = months[t.getUTCMonth()] + " " + t.getUTCDate();
    return t.getUTCFullYear() === new Date().getUTCFullYear() ? day : day + ", " + t.getUTCFullYear();
  }
  function refreshTimes() {
    document.querySelectorAll(".post .time time[datetime]").forEach(function (el) {
      var t = new Date(el.getAttribute("datetime"));
      if (!isNaN(t)) el.textContent = ago(t);
    });
  }
  setInterval(refreshTimes, 15000);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) refreshTimes();
  });

  var stream = document.body.getAttribute("data-stream");
  if (!stream || !window.EventSource) return;
  var timeline = document.getElementById("timeline");
  var source = new EventSource("/events?stream=" + encodeURIComponent(stream));

  // New posts wait behind a "N new posts" button instead of pushing the page down under
  // the reader; the count is announced politely, and the button shows them and moves the
  // focus to the newest.
  var pending = []; // newest first
  var newPosts = document.getElementById("new-posts");
  var liveStatus = document.getElementById("live-status");
  function pendingChanged() {
    if (!newPosts) return;
    var n = pending.length;
    var label = n === 1 ? "1 new post" : n + " new posts";
    newPosts.textContent = "Show " + label;
    newPosts.hidden = n === 0;
    if (liveStatus) liveStatus.textContent = n === 0 ? "" : label;
  }
  if (newPosts) newPosts.addEventListener("click", function () {
    var first = null;
    for (var i = pending.length - 1; i >= 0; i--) {
      var node = pending[i];
      node.classList.add("fresh");
      node.setAttribute("tabindex", "-1");
      timeline.insertBefore(node, timeline.firstElementChild);
      first = node;
    }
    pending = [];
    var empty = timeline.querySelector(".empty");
    if (empty) empty.remove();
    pendingChanged();
    if (first) first.focus();
  });

  function fragment(html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html; // rendered and escaped by the server's templates
    return tpl.content.firstElementChild;
  }

  source.addEventListener("post", function (e) {
    var msg = JSON.parse(e.data);
    var existing = document.getElementById("post-" + msg.id);
    if (msg.edited) {
      var edited = fragment(msg.html);
      if (existing && edited) existing.replaceWith(edited);
      return;
    }
    if (!timeline || !newPosts || stream === "notifications" || existing) return;
    var node = fragment(msg.html);
    if (!node) return;
    pending = pending.filter(function (p) { return p.id !== node.id; });
    pending.unshift(node);
    pendingChanged();
  });

  source.addEventListener("delete", function (e) {
    var msg = JSON.parse(e.data);
    var node = document.getElementById("post-" + msg.id);
    if (node) node.remove();
    var before = pending.length;
    pending = pending.filter(function (p) { return p.id !== "post-" + msg.id; });
    if (pending.length !== before) pendingChanged();
  });

  source.addEventListener("notification", function (e) {
    var msg = JSON.parse(e.data);
    var badge = document.getElementById("unread");
    if (!badge) return;
    badge.textContent = String(msg.unread);
    badge.setAttribute("aria-label", msg.unread + " unread");
    badge.hidden = msg.unread === 0;
  });

  // The server's log no longer reaches back to where this page was: start over.
  source.addEventListener("reset", function () {
    source.close();
    window.location.reload();
  });
})();
