// Draws a cxinfluence buying-center map. The data arrive as JSON in
// <script id="cx-data">; every customer string is placed with textContent,
// never innerHTML, so names and comments are always shown as text.
//
// Readability: veto holders and the most influential people (node.cx.key) are
// named at the first view, at spec.labelPx screen pixels whatever the zoom;
// everyone else is named once zoomed in (and on hover). People who left are
// hidden until "people who left" is ticked. Search, filters, layout switch and
// the PNG/SVG downloads run in the page: nothing is fetched.
(function () {
  "use strict";
  var spec = JSON.parse(document.getElementById("cx-data").textContent);
  var ALL_LABELS_AT = 0.8;  // zoom scale from which everyone is named

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
  spec.nodes.forEach(function (n) {
    n.cx.fullLabel = n.label;
    n.cx.match = false;
  });

  var state = { role: "", dept: "", mood: "", influence: true, departed: false };
  var nodes = new vis.DataSet(spec.nodes);
  var edges = new vis.DataSet(spec.edges);

  function nodeShown(n) {
    if (!n.cx.active && !state.departed) { return false; }
    if (state.role && n.cx.role !== state.role) { return false; }
    if (state.dept && n.cx.department !== state.dept) { return false; }
    if (state.mood && n.cx.mood !== state.mood) { return false; }
    return true;
  }
  var nodeView = new vis.DataView(nodes, { filter: nodeShown });
  var edgeView = new vis.DataView(edges, {
    filter: function (e) {
      if (!state.influence && e.cx.kind === "influences") { return false; }
      var a = nodes.get(e.from), b = nodes.get(e.to);
      return !!(a && b && nodeShown(a) && nodeShown(b));
    }
  });

  var container = document.getElementById("cx-map");
  var network = new vis.Network(container, { nodes: nodeView, edges: edgeView }, spec.options);

  // ------------------------------------------------------------------ labels
  var lastScale = null;
  var layoutNow = spec.layout;
  function applyLabels(force) {
    var scale = network.getScale();
    if (!force && lastScale !== null && Math.abs(scale - lastScale) < 1e-4) { return; }
    lastScale = scale;
    var size = Math.max(spec.labelPx, spec.labelPx / scale);
    var everyone = scale >= ALL_LABELS_AT;
    var changes = [];
    nodes.forEach(function (n) {
      var named = everyone || n.cx.key || n.cx.match;
      // in the org chart neighbours sit one column apart: first name over last name keeps labels narrow
      var label = named ? (layoutNow === "org" ? n.cx.fullLabel.replace(" ", "\n") : n.cx.fullLabel) : "";
      var font = Math.round(size * 100) / 100;
      if (n.label !== label || n.font.size !== font) {
        changes.push({ id: n.id, label: label, font: Object.assign({}, n.font, { size: font }) });
      }
    });
    if (changes.length) { nodes.update(changes); }
    container.setAttribute("data-labelled", "true");
  }
  network.on("afterDrawing", function () { applyLabels(false); });

  // ------------------------------------------------------------------ filters and search
  function fillSelect(id, key) {
    var select = document.getElementById(id);
    var values = {};
    spec.nodes.forEach(function (n) { if (n.cx[key]) { values[n.cx[key]] = true; } });
    Object.keys(values).sort().forEach(function (v) {
      var opt = document.createElement("option");
      opt.value = v;
      opt.textContent = v;
      select.appendChild(opt);
    });
    select.addEventListener("change", function () {
      state[key === "department" ? "dept" : key] = select.value;
      refresh();
    });
  }
  fillSelect("cx-role", "role");
  fillSelect("cx-dept", "department");
  document.getElementById("cx-mood").addEventListener("change", function (ev) {
    state.mood = ev.target.value;
    refresh();
  });
  document.getElementById("cx-influence").addEventListener("change", function (ev) {
    state.influence = ev.target.checked;
    refresh();
  });
  document.getElementById("cx-departed").addEventListener("change", function (ev) {
    state.departed = ev.target.checked;
    refresh();
  });

  function refresh() {
    nodeView.refresh();
    edgeView.refresh();
    search(document.getElementById("cx-search").value);
    applyLabels(true);
  }

  function search(text) {
    var q = (text || "").trim().toLowerCase();
    var found = [];
    var changes = [];
    nodes.forEach(function (n) {
      var hit = q !== "" && nodeShown(n) &&
        (n.cx.name.toLowerCase().indexOf(q) >= 0 || n.cx.title.toLowerCase().indexOf(q) >= 0);
      if (hit) { found.push(n.id); }
      if (hit !== n.cx.match) {
        var cx = Object.assign({}, n.cx, { match: hit });
        changes.push({ id: n.id, cx: cx });
      }
    });
    if (changes.length) { nodes.update(changes); }
    network.selectNodes(found);
    var out = document.getElementById("cx-found");
    out.textContent = q === "" ? "" : found.length + (found.length === 1 ? " match" : " matches");
    if (found.length) {
      network.fit({ nodes: found, maxZoomLevel: 1.2, animation: false });
    }
    applyLabels(true);
    return found;
  }
  document.getElementById("cx-search").addEventListener("input", function (ev) { search(ev.target.value); });

  // ------------------------------------------------------------------ layout
  function setLayout(name) {
    var layout = spec.layouts[name];
    network.setOptions({ physics: layout.physics, edges: layout.edges });
    if (name === "org") {
      var moves = [];
      nodes.forEach(function (n) { moves.push({ id: n.id, x: n.cx.ox, y: n.cx.oy }); });
      nodes.update(moves);
      nodeView.getIds().forEach(function (id) {
        var n = nodes.get(id);
        network.moveNode(id, n.cx.ox, n.cx.oy);
      });
      network.fit({ animation: false });
    } else {
      network.once("stabilizationIterationsDone", function () { network.fit({ animation: false }); });
      network.stabilize(400);
    }
    layoutNow = name;
    applyLabels(true);
    container.setAttribute("data-layout", name);
  }
  document.getElementById("cx-layout").addEventListener("change", function (ev) { setLayout(ev.target.value); });

  // ------------------------------------------------------------------ export
  function download(blob, name) {
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    window.cxLastExport = { name: name, type: blob.type, size: blob.size };
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 2000);
  }

  function exportPng() {
    var src = container.querySelector("canvas");
    var c = document.createElement("canvas");
    c.width = src.width;
    c.height = src.height;
    var g = c.getContext("2d");
    g.fillStyle = "#ffffff";
    g.fillRect(0, 0, c.width, c.height);
    g.drawImage(src, 0, 0);
    c.toBlob(function (blob) { download(blob, spec.fileStem + ".png"); }, "image/png");
  }

  var NS = "http://www.w3.org/2000/svg";
  function el(tag, attrs, parent) {
    var e = document.createElementNS(NS, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function polygon(x, y, r, pts) {
    return pts.map(function (p) { return (x + p[0] * r).toFixed(1) + "," + (y + p[1] * r).toFixed(1); }).join(" ");
  }
  var SHAPES = {
    triangle: [[0, -1.15], [1, 0.58], [-1, 0.58]],
    triangleDown: [[-1, -0.58], [1, -0.58], [0, 1.15]],
    hexagon: [[-0.5, -0.87], [0.5, -0.87], [1, 0], [0.5, 0.87], [-0.5, 0.87], [-1, 0]],
    star: (function () {
      var pts = [];
      for (var i = 0; i < 10; i++) {
        var r = i % 2 ? 0.45 : 1.1, a = -Math.PI / 2 + i * Math.PI / 5;
        pts.push([r * Math.cos(a), r * Math.sin(a)]);
      }
      return pts;
    })()
  };

  // An SVG of what is on screen now (shown people, shown ties, their current labels).
  function buildSvg() {
    var ids = nodeView.getIds();
    var pos = network.getPositions(ids);
    var x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    ids.forEach(function (id) {
      var b = network.getBoundingBox(id);
      x0 = Math.min(x0, b.left); y0 = Math.min(y0, b.top);
      x1 = Math.max(x1, b.right); y1 = Math.max(y1, b.bottom);
    });
    if (!ids.length) { x0 = y0 = 0; x1 = y1 = 100; }
    var pad = 30, head = 34;
    var svg = el("svg", {
      xmlns: NS, width: Math.round(x1 - x0 + 2 * pad), height: Math.round(y1 - y0 + 2 * pad + head),
      viewBox: [x0 - pad, y0 - pad - head, x1 - x0 + 2 * pad, y1 - y0 + 2 * pad + head].join(" "),
      "font-family": "Helvetica, Arial, sans-serif"
    });
    el("rect", { x: x0 - pad, y: y0 - pad - head, width: x1 - x0 + 2 * pad, height: y1 - y0 + 2 * pad + head,
                 fill: "#ffffff" }, svg);
    var heading = document.querySelector("h2.cx-title");
    var t = el("text", { x: x0 - pad + 8, y: y0 - pad - head + 22, "font-size": 18, "font-weight": "600" }, svg);
    t.textContent = heading ? heading.textContent : document.title;
    var defs = el("defs", {}, svg);
    var markers = {};
    function marker(colour) {
      if (!markers[colour]) {
        var id = "arrow" + Object.keys(markers).length;
        var m = el("marker", { id: id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 6, markerHeight: 6,
                               orient: "auto-start-reverse" }, defs);
        el("path", { d: "M0,0 L10,5 L0,10 z", fill: colour }, m);
        markers[colour] = id;
      }
      return markers[colour];
    }
    var ties = el("g", {}, svg);
    edgeView.get().forEach(function (e) {
      var a = pos[e.from], b = pos[e.to];
      if (!a || !b || e.from === e.to) { return; }
      var dx = b.x - a.x, dy = b.y - a.y, len = Math.sqrt(dx * dx + dy * dy) || 1;
      var rb = (nodes.get(e.to).size || 10) + 3;
      var colour = e.color.color;
      var attrs = { x1: a.x.toFixed(1), y1: a.y.toFixed(1), x2: (b.x - dx / len * rb).toFixed(1),
                    y2: (b.y - dy / len * rb).toFixed(1), stroke: colour, "stroke-width": e.width,
                    "marker-end": "url(#" + marker(colour) + ")" };
      if (e.dashes) { attrs["stroke-dasharray"] = e.dashes.join(" "); }
      el("line", attrs, ties);
    });
    var people = el("g", {}, svg);
    ids.forEach(function (id) {
      var n = nodes.get(id), p = pos[id], r = n.size;
      var attrs = { fill: n.color.background, stroke: n.color.border, "stroke-width": n.borderWidth };
      if (n.shapeProperties && n.shapeProperties.borderDashes) { attrs["stroke-dasharray"] = "4 3"; }
      var shape;
      if (n.shape === "square") {
        shape = el("rect", Object.assign({ x: p.x - r, y: p.y - r, width: 2 * r, height: 2 * r }, attrs), people);
      } else if (SHAPES[n.shape]) {
        shape = el("polygon", Object.assign({ points: polygon(p.x, p.y, r, SHAPES[n.shape]) }, attrs), people);
      } else {
        shape = el("circle", Object.assign({ cx: p.x, cy: p.y, r: r }, attrs), people);
      }
      el("title", {}, shape).textContent = n.cx.fullLabel;
      if (n.label) {
        var size = n.font.size || spec.labelPx;
        var text = el("text", { x: p.x.toFixed(1), y: (p.y + r + size).toFixed(1), "text-anchor": "middle",
                                "font-size": size, fill: n.font.color || "#222222", stroke: "#ffffff",
                                "stroke-width": 3, "paint-order": "stroke" }, people);
        n.label.split("\n").forEach(function (part, k) {
          el("tspan", { x: p.x.toFixed(1), dy: k ? size * 1.15 : 0 }, text).textContent = part;
        });
      }
    });
    return new XMLSerializer().serializeToString(svg);
  }

  function exportSvg() {
    download(new Blob(['<?xml version="1.0" encoding="UTF-8"?>\n' + buildSvg()], { type: "image/svg+xml" }),
             spec.fileStem + ".svg");
  }
  document.getElementById("cx-png").addEventListener("click", exportPng);
  document.getElementById("cx-svg").addEventListener("click", exportSvg);

  network.once("afterDrawing", function () { container.setAttribute("data-drawn", "true"); });
  network.once("stabilizationIterationsDone", function () {
    container.setAttribute("data-stable", "true");
  });
  container.setAttribute("data-layout", spec.layout);
  // Exposed for inspection from the browser console and the browser tests.
  window.cxNetwork = network;
  window.cxMap = {
    nodes: nodes,
    search: search,
    setLayout: setLayout,
    svg: buildSvg,
    // on-screen font size (px) of every person named on the canvas now
    labelPx: function () {
      var scale = network.getScale();
      return nodeView.get().filter(function (n) { return n.label; }).map(function (n) {
        return { id: n.id, px: n.font.size * scale };
      });
    }
  };
})();
