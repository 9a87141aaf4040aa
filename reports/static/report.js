// The variants explorer: sort by any column, filter by text. Builds rows with
// textContent only, so data from the export is never parsed as HTML.
(function () {
  "use strict";
  var source = document.getElementById("vdata");
  var table = document.getElementById("vtable");
  var filter = document.getElementById("vfilter");
  var all = document.getElementById("vall");  // <details>: closed, the top 15 only
  if (!source || !table || !filter) { return; }
  var rows = JSON.parse(source.textContent);
  var body = table.tBodies[0];
  var sortKey = "rank", ascending = true;
  var numeric = { rank: 1, tickets: 1, share: 1, steps: 1, lead_s: 1 };

  function cell(tr, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) { td.className = cls; }
    tr.appendChild(td);
  }

  function render() {
    var needle = filter.value.trim().toLowerCase();
    var shown = rows.filter(function (r) {
      return !needle || r.path.toLowerCase().indexOf(needle) >= 0 || r.stream.toLowerCase().indexOf(needle) >= 0;
    });
    shown.sort(function (a, b) {
      var x = a[sortKey], y = b[sortKey];
      var c = numeric[sortKey] ? x - y : String(x).localeCompare(String(y));
      return ascending ? c : -c;
    });
    var fragment = document.createDocumentFragment();
    var limit = (needle || !all || all.open) ? 500 : 15;
    shown.slice(0, limit).forEach(function (r) {
      var tr = document.createElement("tr");
      cell(tr, String(r.rank), "r");
      cell(tr, r.tickets.toLocaleString("en"), "r");
      cell(tr, (r.share * 100).toFixed(1) + "%", "r");
      cell(tr, String(r.steps), "r");
      cell(tr, r.lead, "r");
      cell(tr, r.stream);
      cell(tr, r.path, "path");
      fragment.appendChild(tr);
    });
    while (body.firstChild) { body.removeChild(body.firstChild); }
    body.appendChild(fragment);
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      th.classList.remove("sorted-asc", "sorted-desc");
      if (th.getAttribute("data-key") === sortKey) { th.classList.add(ascending ? "sorted-asc" : "sorted-desc"); }
    });
  }

  Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
    th.addEventListener("click", function () {
      var key = th.getAttribute("data-key");
      if (key === sortKey) { ascending = !ascending; } else { sortKey = key; ascending = !numeric[key]; if (key === "rank") { ascending = true; } }
      render();
    });
  });
  filter.addEventListener("input", render);
  if (all) { all.addEventListener("toggle", render); }
  render();
})();


// The process map's sliders, as in Disco: activities (the most frequent first; each step has its own layout) and
// paths (the most frequent first; every shown activity keeps its strongest way in and out). Only hides elements.
(function () {
  "use strict";
  var acts = document.getElementById("pm-acts");
  var paths = document.getElementById("pm-paths");
  if (!acts || !paths) { return; }
  var levels = Array.prototype.slice.call(document.querySelectorAll(".pm-level"));
  var counts = acts.getAttribute("data-levels").split(",");
  var total = counts[counts.length - 1];
  var actsOut = document.getElementById("pm-acts-out");
  var pathsOut = document.getElementById("pm-paths-out");

  function render() {
    var i = Number(acts.value), p = Number(paths.value) / 100;
    levels.forEach(function (level, j) { level.classList.toggle("pm-off", j !== i); });
    Array.prototype.forEach.call(levels[i].querySelectorAll("[data-q]"), function (el) {
      var on = el.getAttribute("data-keep") === "1" || Number(el.getAttribute("data-q")) < p;
      el.classList.toggle("pm-off", !on);
    });
    actsOut.textContent = counts[i] + " of " + total;
    pathsOut.textContent = Math.round(p * 100) + "%";
  }

  acts.addEventListener("input", render);
  paths.addEventListener("input", render);
  render();
})();
