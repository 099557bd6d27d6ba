// Plain SVG charts for the flock dashboard: lines and bars, no library.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

function niceMax(value) {
  if (!(value > 0)) return 1;
  const step = Math.pow(10, Math.floor(Math.log10(value)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= value) return m * step;
  return 10 * step;
}

function fmtTick(v) {
  if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(1) + "M";
  if (Math.abs(v) >= 1e3) return (v / 1e3).toFixed(v >= 1e4 ? 0 : 1) + "k";
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

// Frame with axes; returns {svg, x(i), y(v), plot:{left,top,width,height}}.
function frame(labels, yMax, opts) {
  const width = opts.width || 460, height = opts.height || 220;
  const left = 52, right = 12, top = 12, bottom = 34;
  const svg = svgEl("svg", {viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img"});
  if (opts.title) svg.appendChild(svgEl("title", {}, opts.title));
  const pw = width - left - right, ph = height - top - bottom;
  const n = Math.max(labels.length, 1);
  const x = opts.bars
    ? (i) => left + (i + 0.5) * (pw / n)
    : (i) => left + (n === 1 ? pw / 2 : (i * pw) / (n - 1));
  const yMin = opts.yMin || 0;
  const y = (v) => top + ph - ((v - yMin) / (yMax - yMin || 1)) * ph;
  for (let k = 0; k <= 4; k++) {
    const v = yMin + ((yMax - yMin) * k) / 4;
    svg.appendChild(svgEl("line", {x1: left, x2: left + pw, y1: y(v), y2: y(v), class: "grid"}));
    svg.appendChild(svgEl("text", {x: left - 6, y: y(v) + 4, class: "tick", "text-anchor": "end"},
      fmtTick(v)));
  }
  const every = Math.ceil(labels.length / 12);
  labels.forEach((label, i) => {
    if (i % every) return;
    svg.appendChild(svgEl("text", {x: x(i), y: top + ph + 16, class: "tick", "text-anchor": "middle"},
      label));
  });
  if (opts.xLabel) {
    svg.appendChild(svgEl("text", {x: left + pw / 2, y: height - 3, class: "axis",
      "text-anchor": "middle"}, opts.xLabel));
  }
  if (opts.yLabel) {
    svg.appendChild(svgEl("text", {x: 12, y: top + ph / 2, class: "axis", "text-anchor": "middle",
      transform: `rotate(-90 12 ${top + ph / 2})`}, opts.yLabel));
  }
  return {svg, x, y, plot: {left, top, width: pw, height: ph}};
}

// series: [{name, cls, values: [number|null]}] over labels.
function lineChart(labels, series, opts) {
  opts = opts || {};
  let max = opts.yMax;
  if (max === undefined) {
    max = 0;
    for (const s of series) for (const v of s.values) if (v !== null && v > max) max = v;
    max = niceMax(max);
  }
  const f = frame(labels, max, opts);
  for (const s of series) {
    const pts = s.values.map((v, i) => (v === null ? null : [f.x(i), f.y(v)])).filter(Boolean);
    if (!pts.length) continue;
    const g = svgEl("g", {class: "series " + (s.cls || "")});
    g.appendChild(svgEl("title", {}, s.name));
    g.appendChild(svgEl("polyline", {points: pts.map((p) => p.join(",")).join(" ")}));
    for (const [px, py] of pts) g.appendChild(svgEl("circle", {cx: px, cy: py, r: 2.5}));
    f.svg.appendChild(g);
  }
  return f.svg;
}

function barChart(labels, values, opts) {
  opts = Object.assign({bars: true}, opts || {});
  const max = niceMax(Math.max(0, ...values));
  const f = frame(labels, max, opts);
  const w = (f.plot.width / Math.max(labels.length, 1)) * 0.7;
  values.forEach((v, i) => {
    const rect = svgEl("rect", {x: f.x(i) - w / 2, y: f.y(v), width: w,
      height: Math.max(0, f.y(0) - f.y(v)), class: "bar"});
    rect.appendChild(svgEl("title", {}, `${labels[i]}: ${v.toLocaleString()}`));
    f.svg.appendChild(rect);
  });
  return f.svg;
}

window.flockCharts = {lineChart, barChart};
