// Starling live updates: follows the page's stream (body[data-stream]) with EventSource,
// puts new posts at the top of the timeline, replaces edited ones, removes deleted ones
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

  var stream = document.body.getAttribute("data-stream");
  if (!stream || !window.EventSource) return;
  var timeline = document.getElementById("timeline");
  var source = new EventSource("/events?stream=" + encodeURIComponent(stream));

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
    if (!timeline || stream === "notifications" || existing) return;
    var empty = timeline.querySelector(".empty");
    if (empty) empty.remove();
    var node = fragment(msg.html);
    if (!node) return;
    node.classList.add("fresh");
    timeline.insertBefore(node, timeline.firstElementChild);
  });

  source.addEventListener("delete", function (e) {
    var msg = JSON.parse(e.data);
    var node = document.getElementById("post-" + msg.id);
    if (node) node.remove();
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
