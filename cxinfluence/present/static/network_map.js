// Draws a cxinfluence buying-center map. The data arrive as JSON in
// <script id="cx-data">; every customer string is placed with textContent,
// never innerHTML, so names and comments are always shown as text.
(function () {
  "use strict";
  var spec = JSON.parse(document.getElementById("cx-data").textContent);

  function tooltip(rows) {
    var box = document.createElement("div");
    box.className = "cx-tip";
    rows.forEach(function (row, i) {
      var line = document.createElement("div");
      if (i === 0) { line.className = "cx-tip-head"; }
      if (row[0]) {
        var key = document.createElement("span");
        key.className = "cx-k";
        key.textContent = row[0] + ": ";
        line.appendChild(key);
      }
      line.appendChild(document.createTextNode(row[1]));
      box.appendChild(line);
    });
    return box;
  }

  [spec.nodes, spec.edges].forEach(function (items) {
    items.forEach(function (item) {
      if (item.tip) { item.title = tooltip(item.tip); }
      delete item.tip;
    });
  });

  var container = document.getElementById("cx-map");
  var network = new vis.Network(
    container,
    { nodes: new vis.DataSet(spec.nodes), edges: new vis.DataSet(spec.edges) },
    spec.options
  );
  network.once("afterDrawing", function () { container.setAttribute("data-drawn", "true"); });
  network.once("stabilizationIterationsDone", function () {
    container.setAttribute("data-stable", "true");
  });
  // Exposed for inspection from the browser console and the browser tests.
  window.cxNetwork = network;
})();
