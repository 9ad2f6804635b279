// Starling live updates: follows the page's stream (body[data-stream]) with EventSource,
// puts new posts at the top of the timeline, removes deleted ones and keeps the
// notification badge current. Pages work fully without it. EventSource reconnects by
// itself and sends Last-Event-ID, so nothing is missed or shown twice.
(function () {
  "use strict";
  var stream = document.body.getAttribute("data-stream");
  if (!stream || !window.EventSource) return;
  var timeline = document.getElementById("timeline");
  var source = new EventSource("/events?stream=" + encodeURIComponent(stream));

  source.addEventListener("post", function (e) {
    if (!timeline || stream === "notifications") return;
    var msg = JSON.parse(e.data);
    if (document.getElementById("post-" + msg.id)) return;
    var tpl = document.createElement("template");
    tpl.innerHTML = msg.html; // rendered and escaped by the server's templates
    var empty = timeline.querySelector(".empty");
    if (empty) empty.remove();
    var node = tpl.content.firstElementChild;
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
