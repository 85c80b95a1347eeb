/**
 * The stylesheet and the in-page script of the HTML report (report-html.ts). Kept as strings:
 * the page must be one self-contained file. The script reads the JSON embedded in
 * `<script id="kvsh-data">` (format described in report-html.ts) and draws a key's timeline on
 * a canvas only once its section is opened; one tooltip element is shared by all of them.
 *
 * The script is plain ES2017 written for the browser; it must contain no backquote and no
 * dollar-brace, since it lives in a template literal here.
 */

export const REPORT_CSS = `
:root {
  color-scheme: light dark;
  --bg: #f7f8fa; --panel: #ffffff; --fg: #1b2430; --muted: #5b6675; --line: #dde2e8; --grid: #e9edf2;
  --zebra: #f3f5f8; --ok: #79b8f3; --fail: #f5ab45; --info: #f2a2cb; --bar-text: #10202f;
  --prefix: #1e3a5f; --stuck: #d92626; --rej: #b5179e; --good: #17803d; --bad: #c81e1e; --unk: #b7791f;
  --skip: #7b8794; --chip: #eef1f5; --accent: #2563eb;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #14181d; --panel: #1b2027; --fg: #e3e8ee; --muted: #9aa5b1; --line: #2d343d; --grid: #262c34;
    --zebra: #1f252c; --prefix: #dbe7f5; --chip: #252b33; --good: #3fb96b; --bad: #f05252; --unk: #e3a33b;
    --accent: #6ea8fe;
  }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 14px/1.45 ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.92em; }
header.top { background: var(--panel); border-bottom: 1px solid var(--line); padding: 16px 24px 12px; }
.headline { display: flex; align-items: center; gap: 14px; flex-wrap: wrap; }
h1 { font-size: 19px; margin: 0; font-weight: 600; }
h2 { font-size: 15px; margin: 0 0 8px; font-weight: 600; }
.verdict { font-weight: 700; letter-spacing: 0.04em; padding: 3px 12px; border-radius: 4px; color: #fff; font-size: 14px; }
.v-ok { background: var(--good); } .v-bad { background: var(--bad); } .v-unknown { background: var(--unk); }
.facts { display: flex; flex-wrap: wrap; gap: 4px 28px; margin: 10px 0 0; }
.facts div { display: flex; gap: 6px; align-items: baseline; }
.facts dt { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.03em; }
.facts dd { margin: 0; font-weight: 500; }
main { padding: 16px 24px 40px; }
.index { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 12px 14px; margin-bottom: 16px; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 18px; font-size: 12px; color: var(--muted); margin-bottom: 10px; }
.legend span.item { display: inline-flex; align-items: center; gap: 6px; }
.sw { display: inline-block; width: 26px; height: 11px; border-radius: 2px; }
.sw.ok { background: var(--ok); } .sw.fail { background: var(--fail); }
.sw.info { background: linear-gradient(90deg, var(--info) 40%, transparent), repeating-linear-gradient(135deg, var(--info) 0 2px, transparent 2px 5px); }
.sw.prefix { background: var(--ok); outline: 2px solid var(--prefix); outline-offset: -1px; }
.sw.stuck { background: var(--ok); outline: 2.5px solid var(--stuck); }
.sw.rej { background: var(--ok); outline: 2px dashed var(--rej); }
.sw.fault { background: rgba(245, 158, 11, 0.25); border-left: 2px solid #d97706; border-right: 2px solid #d97706; }
.sw.marker { width: 3px; background: #64748b; }
.sw.leader { background: rgba(37, 99, 235, 0.3); height: 8px; }
.key-tools { display: flex; gap: 10px; align-items: center; margin-bottom: 8px; font-size: 13px; color: var(--muted); }
.key-tools input { font: inherit; padding: 3px 8px; border: 1px solid var(--line); border-radius: 4px; background: var(--panel); color: var(--fg); width: 220px; }
.key-index { display: flex; flex-wrap: wrap; gap: 6px; max-height: 168px; overflow: auto; }
.chip { display: inline-flex; align-items: center; gap: 6px; max-width: 280px; border: 1px solid var(--line); background: var(--chip); color: var(--fg); border-radius: 12px; padding: 2px 10px 2px 8px; font: inherit; font-size: 12.5px; cursor: pointer; }
.chip:hover { border-color: var(--accent); }
.chip .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.chip .count { color: var(--muted); font-size: 11px; }
.dot { width: 9px; height: 9px; border-radius: 50%; flex: none; }
.d-not-linearizable { background: var(--bad); } .d-unknown { background: var(--unk); } .d-linearizable { background: var(--good); } .d-skipped { background: var(--skip); }
details.key { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; margin-bottom: 12px; }
details.key > summary { cursor: pointer; padding: 9px 14px; display: flex; align-items: center; gap: 10px; flex-wrap: wrap; list-style: none; }
details.key > summary::-webkit-details-marker { display: none; }
details.key > summary::before { content: "\\25B8"; color: var(--muted); width: 10px; }
details.key[open] > summary::before { content: "\\25BE"; }
details.key[open] > summary { border-bottom: 1px solid var(--line); }
.kname { font-weight: 600; max-width: 46ch; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.badge { font-size: 11.5px; font-weight: 700; padding: 1px 8px; border-radius: 3px; color: #fff; text-transform: uppercase; letter-spacing: 0.03em; }
.b-not-linearizable { background: var(--bad); } .b-unknown { background: var(--unk); } .b-linearizable { background: var(--good); } .b-skipped { background: var(--skip); }
.stats { color: var(--muted); font-size: 12.5px; }
.kbody { padding: 10px 14px 12px; }
.note { margin: 0 0 10px; padding: 8px 12px; border-radius: 4px; background: var(--zebra); border-left: 4px solid var(--skip); font-size: 13.5px; }
.note.bad { border-left-color: var(--bad); background: rgba(217, 38, 38, 0.07); }
.note.good { border-left-color: var(--good); }
.note.unk { border-left-color: var(--unk); }
.note .op { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; background: var(--panel); border: 1px solid var(--line); border-radius: 3px; padding: 0 4px; overflow-wrap: anywhere; }
.note button.op { cursor: pointer; color: var(--fg); }
.note button.op:hover { border-color: var(--accent); }
.note ul { margin: 4px 0 0; padding-left: 20px; }
.note .why { color: var(--muted); }
.toolbar { display: flex; align-items: center; gap: 6px; margin-bottom: 6px; font-size: 12.5px; color: var(--muted); flex-wrap: wrap; }
.toolbar button { font: inherit; padding: 1px 9px; border: 1px solid var(--line); background: var(--chip); color: var(--fg); border-radius: 4px; cursor: pointer; min-width: 28px; }
.toolbar button:hover { border-color: var(--accent); }
.toolbar label { display: inline-flex; gap: 4px; align-items: center; margin-left: 8px; }
.toolbar .hint { margin-left: auto; }
.scroller { overflow-x: auto; overflow-y: hidden; border: 1px solid var(--line); border-radius: 4px; }
.scroller canvas { position: sticky; left: 0; display: block; }
.tip { position: fixed; z-index: 10; max-width: 540px; background: var(--panel); color: var(--fg); border: 1px solid var(--line); border-radius: 6px; box-shadow: 0 6px 24px rgba(0, 0, 0, 0.18); padding: 8px 11px; font-size: 12.5px; pointer-events: none; overflow-wrap: anywhere; }
.tip.pinned { pointer-events: auto; border-color: var(--accent); user-select: text; }
.tip .pin { color: var(--muted); font-size: 11px; margin-top: 6px; }
.tip .t { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-weight: 600; margin-bottom: 4px; }
.tip .r { margin-top: 2px; }
.tip .k { color: var(--muted); }
.tip .sep { border-top: 1px solid var(--line); margin: 6px 0 4px; }
.tip .s-ok { color: #1f6fb8; } .tip .s-fail { color: #b7650b; } .tip .s-info { color: #b0407a; }
.tip .bad { color: var(--stuck); font-weight: 600; } .tip .rej { color: var(--rej); font-weight: 600; }
.tip .val { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.empty { color: var(--muted); font-style: italic; }
`;

export const REPORT_CLIENT_JS = String.raw`
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('kvsh-data').textContent);
  var FN = ['get', 'put', 'cas', 'delete', 'append'];
  var STATUS = ['ok', 'fail', 'info'];
  var VERDICT = { 'not-linearizable': 'not linearizable', unknown: 'unknown', linearizable: 'linearizable', skipped: 'skipped' };
  var MAX_CANVAS = 32000, G = 78, AX = 22, LEADER_H = 18, FAULT_H = 16, LH = 20, BAR = 14, PAD_R = 16;
  var KIND_COLORS = { partition: '#d97706', pause: '#7c3aed', kill: '#dc2626', crash: '#dc2626', stop: '#dc2626',
    restart: '#16a34a', start: '#0891b2', delay: '#0d9488', heal: '#16a34a', resume: '#16a34a' };
  var NODE_COLORS = ['#2563eb', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#c026d3', '#65a30d', '#be123c'];
  var tip = document.getElementById('tip');
  var hasLeader = D.ann.ld.length > 0;
  var faults = layoutFaults();
  var headerH = AX + (hasLeader ? LEADER_H : 0) + faults.lanes * FAULT_H;

  // ---------- text
  function valOf(c) { return c === -2 ? null : D.vals[c]; }
  function showState(s, max) {
    if (s === null || s === undefined) return 'absent';
    var j = JSON.stringify(s);
    max = max || 2000;
    if (j.length <= max) return j;
    var h = Math.floor(max / 2) - 10;
    return j.slice(0, h) + ' \u2026[' + (j.length - 2 * h) + ' chars]\u2026 ' + j.slice(j.length - h);
  }
  function showVal(c) { return c === -1 ? '' : showState(valOf(c)); }
  function opText(o, key) {
    var f = o[5], s = o[4], k = key === undefined ? '' : ' ' + key;
    var out = s === 2 ? ' ?' : s === 1 ? ' \u2192 fail' : '';
    if (f === 0) return 'get' + k + (s === 0 ? ' \u2192 ' + showVal(o[6]) : out);
    if (f === 1 || f === 4) return FN[f] + k + ' ' + showVal(o[6]) + out;
    if (f === 3) return 'delete' + k + out;
    return 'cas' + k + ' ' + showVal(o[7]) + '\u2192' + showVal(o[6]) + out;
  }
  function fmtNs(ns) {
    var a = Math.abs(ns), d, u;
    if (ns === 0) return '0';
    if (a >= 1e9) { d = 1e9; u = ' s'; } else if (a >= 1e6) { d = 1e6; u = ' ms'; } else if (a >= 1e3) { d = 1e3; u = ' \u00b5s'; } else return Math.round(ns) + ' ns';
    var x = ns / d, ax = Math.abs(x);
    return x.toFixed(ax >= 100 ? 1 : ax >= 10 ? 2 : 3) + u;
  }
  function fmtT(units) { return fmtNs(units * D.unit); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function plural(n, w) { return n.toLocaleString('en-US') + ' ' + w + (n === 1 ? '' : 's'); }
  function isInfo(o) { return o[4] === 2; }
  function hardEnd(o) { return o[3] >= 0 ? o[2] + o[3] : o[2]; }
  function kindColor(k) { return KIND_COLORS[k] || '#64748b'; }
  function nodeColor(name) {
    var h = 0;
    for (var i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
    var m = /(\d+)$/.exec(name);
    return NODE_COLORS[(m ? +m[1] : h) % NODE_COLORS.length];
  }
  function ignoredWhy(o) {
    if (o[4] === 1) return 'a failed ' + FN[o[5]] + ' has no effect and says nothing about the value; the checker ignores it';
    return 'an indeterminate read constrains nothing; the checker ignores it';
  }

  // ---------- annotations: fault intervals and markers share lanes in a band under the axis
  function layoutFaults() {
    var items = [];
    D.ann.iv.forEach(function (v) { items.push({ a: v[0], b: v[1], kind: v[2], label: v[3], iv: true }); });
    D.ann.mk.forEach(function (v) { items.push({ a: v[0], b: v[0], kind: v[1], label: v[2], iv: false }); });
    items.sort(function (x, y) { return x.a - y.a; });
    var ends = [];
    items.forEach(function (it) {
      var lane = -1;
      for (var i = 0; i < ends.length; i++) if (ends[i] < it.a) { lane = i; break; }
      if (lane < 0) { if (ends.length < 4) { ends.push(-1); lane = ends.length - 1; } else lane = ends.length - 1; }
      ends[lane] = Math.max(ends[lane], it.b);
      it.lane = lane;
    });
    for (var i = 0; i < items.length; i++) {
      for (var j = i + 1; j < items.length; j++) if (items[j].lane === items[i].lane) { items[i].next = items[j].a; break; }
    }
    return { items: items, lanes: ends.length };
  }

  // ---------- one key's timeline
  function Timeline(kd, body) {
    var self = this;
    this.kd = kd;
    var ops = kd.ops, n = ops.length;
    // Rows: one per client; a client gets extra lanes only when its bars would overlap (an
    // indeterminate op runs to the end of the history, and the client may carry on).
    var byProc = {}, procs = [];
    for (var i = 0; i < n; i++) {
      var p = ops[i][1];
      if (!byProc[p]) { byProc[p] = []; procs.push(p); }
      byProc[p].push(i);
    }
    procs.sort(function (a, b) { return a - b; });
    var lanes = [], rows = [];
    procs.forEach(function (p) {
      var mine = [];
      byProc[p].sort(function (a, b) { return ops[a][2] - ops[b][2] || a - b; });
      byProc[p].forEach(function (i) {
        var o = ops[i], s = o[2], hard = hardEnd(o), soft = isInfo(o) ? Infinity : hard, pick = -1, j;
        for (j = 0; j < mine.length && pick < 0; j++) if (mine[j].hard <= s && mine[j].soft <= s) pick = j;
        if (pick < 0 && mine.length >= 3) for (j = 0; j < mine.length && pick < 0; j++) if (mine[j].hard <= s) pick = j;
        if (pick < 0) { mine.push({ hard: -1, soft: -1, ops: [], tails: [], proc: p }); pick = mine.length - 1; }
        var L = mine[pick];
        L.hard = Math.max(L.hard, hard); L.soft = Math.max(L.soft, soft); L.ops.push(i);
        if (isInfo(o)) L.tails.push(i);
      });
      rows.push({ p: p, first: lanes.length, count: mine.length });
      mine.forEach(function (L) {
        L.maxEnd = new Float64Array(L.ops.length);
        var m = -Infinity;
        L.ops.forEach(function (i, k) { m = Math.max(m, hardEnd(ops[i])); L.maxEnd[k] = m; });
        lanes.push(L);
      });
    });
    this.lanes = lanes; this.rows = rows;
    this.laneOf = new Int32Array(n);
    lanes.forEach(function (L, li) { L.ops.forEach(function (i) { self.laneOf[i] = li; }); });
    // The linearization (or longest prefix) and the value around each step.
    this.linPos = new Int32Array(n).fill(-1);
    this.before = []; this.after = [];
    var cur = null;
    kd.lin.forEach(function (st, k) {
      var b = st.length > 2 ? valOf(st[2]) : cur;
      var a = st[1] === -3 ? b : st[1] === -4 ? (b === null ? '' : b) + valOf(ops[st[0]][6]) : valOf(st[1]);
      self.linPos[st[0]] = k; self.before.push(b); self.after.push(a); cur = a;
    });
    this.rej = {};
    this.stuck = -1;
    if (kd.fail) {
      this.stuck = kd.fail.stuck;
      kd.fail.rej.forEach(function (r) { self.rej[r[0]] = r[1]; });
    }
    this.partial = kd.v !== 'linearizable';
    this.numbers = kd.lin.length > 0 && (this.partial || n <= 300);
    this.hover = -1;
    this.build(body);
  }

  Timeline.prototype.build = function (body) {
    var self = this, kd = this.kd;
    var bar = el('div', 'toolbar');
    function button(text, title, fn) { var b = el('button', '', text); b.type = 'button'; b.title = title; b.onclick = fn; bar.appendChild(b); return b; }
    bar.appendChild(el('span', '', 'Zoom'));
    button('\u2212', 'Zoom out', function () { self.zoomBy(1 / 2, self.viewW() / 2); });
    button('+', 'Zoom in', function () { self.zoomBy(2, self.viewW() / 2); });
    button('Fit', 'Show the whole history', function () { self.fit(); });
    if (kd.fail && (this.stuck >= 0 || kd.fail.rej.length > 0)) button('Show failure', 'Zoom to the operation that could not be placed', function () { self.focusFailure(); });
    if (kd.lin.length > 0) {
      var lab = el('label'), cb = el('input');
      cb.type = 'checkbox'; cb.checked = this.numbers;
      cb.onchange = function () { self.numbers = cb.checked; self.draw(); };
      lab.appendChild(cb); lab.appendChild(document.createTextNode(this.partial ? 'prefix order' : 'linearization order'));
      bar.appendChild(lab);
    }
    bar.appendChild(el('span', 'hint', 'Ctrl+wheel or +/\u2212 to zoom \u00b7 drag or Shift+wheel to scroll \u00b7 hover for details'));
    body.appendChild(bar);
    var sc = this.scroller = el('div', 'scroller');
    var spacer = this.spacer = el('div');
    var cv = this.canvas = el('canvas');
    spacer.appendChild(cv); sc.appendChild(spacer); body.appendChild(sc);
    // Browsers draw no canvas taller than about 32,000 pixels: beyond that, lanes are left out.
    var full = headerH + this.lanes.length * LH + 6;
    this.height = Math.min(full, MAX_CANVAS);
    if (full > MAX_CANVAS) {
      var shown = Math.floor((MAX_CANVAS - headerH - 6) / LH);
      body.insertBefore(el('p', 'note', 'This key has ' + plural(this.lanes.length, 'client lane') + '; only the first ' + shown + ' fit in one drawing and are shown.'), bar);
    }
    spacer.style.height = this.height + 'px';
    this.ppu = 0;
    this.resize();
    var pending = false;
    function redraw() { if (!pending) { pending = true; requestAnimationFrame(function () { pending = false; self.draw(); }); } }
    this.redraw = redraw;
    sc.addEventListener('scroll', function () { if (!pinned) hideTip(); redraw(); });
    sc.addEventListener('wheel', function (e) {
      if (!e.ctrlKey && !e.metaKey) return;
      e.preventDefault();
      self.zoomBy(Math.pow(1.0018, -e.deltaY), e.clientX - cv.getBoundingClientRect().left);
    }, { passive: false });
    var drag = null;
    cv.addEventListener('mousedown', function (e) { drag = { x: e.clientX, sl: sc.scrollLeft }; e.preventDefault(); });
    window.addEventListener('mouseup', function (e) {
      if (!drag) return;
      var click = Math.abs(e.clientX - drag.x) < 3 && e.target === cv;
      drag = null;
      if (!click) return;
      var r = cv.getBoundingClientRect(), i = self.hitOp(e.clientX - r.left, e.clientY - r.top);
      if (pinned && (pinned.i === i && pinned.tl === self || i < 0)) { unpin(); self.pointer(e.clientX - r.left, e.clientY - r.top, e.clientX, e.clientY); }
      else if (i >= 0) self.pin(i);
    });
    cv.addEventListener('mousemove', function (e) {
      if (drag) { sc.scrollLeft = drag.sl - (e.clientX - drag.x); return; }
      var r = cv.getBoundingClientRect();
      self.pointer(e.clientX - r.left, e.clientY - r.top, e.clientX, e.clientY);
    });
    cv.addEventListener('mouseleave', function () { if (pinned) return; hideTip(); if (self.hover >= 0) { self.hover = -1; redraw(); } });
    if (window.ResizeObserver) new ResizeObserver(function () { if (self.viewW() !== self.w) self.resize(); }).observe(sc);
    if (kd.fail) {
      var r = this.failureRange();
      if (r && 3 * (r[1] - r[0]) < 0.5 * D.span) this.focusFailure();
    }
  };

  Timeline.prototype.dpr = function () { return Math.min(window.devicePixelRatio || 1, MAX_CANVAS / this.height); };
  Timeline.prototype.viewW = function () { return Math.max(200, this.scroller.clientWidth); };
  Timeline.prototype.fitPpu = function () { return (this.viewW() - G - PAD_R) / D.span; };
  Timeline.prototype.maxPpu = function () { return Math.max(this.fitPpu(), Math.min(1e7 / D.span, 60)); };

  Timeline.prototype.resize = function () {
    var zoom = this.ppu ? this.ppu / this.fitPpu0 : 1;
    this.w = this.viewW();
    this.fitPpu0 = this.fitPpu();
    var dpr = this.dpr();
    this.canvas.width = Math.round(this.w * dpr); this.canvas.height = Math.round(this.height * dpr);
    this.canvas.style.width = this.w + 'px'; this.canvas.style.height = this.height + 'px';
    this.setPpu(this.fitPpu0 * zoom, 0);
  };

  Timeline.prototype.setPpu = function (ppu, anchorX) {
    var sc = this.scroller;
    var t = this.ppu ? (anchorX - G + sc.scrollLeft) / this.ppu : 0;
    this.ppu = Math.min(this.maxPpu(), Math.max(this.fitPpu(), ppu));
    this.spacer.style.width = Math.ceil(G + D.span * this.ppu + PAD_R) + 'px';
    sc.scrollLeft = t * this.ppu - (anchorX - G);
    this.draw();
  };
  Timeline.prototype.zoomBy = function (f, anchorX) { this.setPpu(this.ppu * f, anchorX); };
  Timeline.prototype.fit = function () { this.setPpu(0, 0); };
  Timeline.prototype.showRange = function (a, b) {
    this.ppu = 0;
    this.setPpu((this.viewW() - G - PAD_R) / Math.max(1e-9, b - a), 0);
    this.scroller.scrollLeft = a * this.ppu;
    this.draw();
  };
  Timeline.prototype.failureRange = function () {
    var ops = this.kd.ops, lin = this.kd.lin, list = this.kd.fail.rej.map(function (r) { return r[0]; });
    if (this.stuck >= 0) list.push(this.stuck);
    if (list.length === 0) return null;
    for (var k = Math.max(0, lin.length - 3); k < lin.length; k++) list.push(lin[k][0]);
    if (list.length === 0) return null;
    var a = Infinity, b = -Infinity;
    list.forEach(function (i) { a = Math.min(a, ops[i][2]); b = Math.max(b, hardEnd(ops[i])); });
    return [a, b];
  };
  Timeline.prototype.focusFailure = function () {
    var r = this.failureRange();
    if (!r) return;
    var pad = Math.max(r[1] - r[0], D.span * 0.06);
    this.showRange(Math.max(0, r[0] - pad), Math.min(D.span, r[1] + pad));
  };
  /** Brings an operation into view and pins its tooltip. */
  Timeline.prototype.reveal = function (i) {
    var o = this.kd.ops[i], a = o[2], b = Math.max(hardEnd(o), a + 1);
    if ((b - a) * this.ppu < 40) { var pad = Math.max((b - a) * 4, D.span * 0.005); this.showRange(Math.max(0, a - pad), Math.min(D.span, b + pad)); }
    else { this.scroller.scrollLeft = (a + b) / 2 * this.ppu - (this.viewW() - G) / 2; this.draw(); }
    var y = headerH + this.laneOf[i] * LH, r = this.canvas.getBoundingClientRect();
    if (r.top + y < 60 || r.top + y > window.innerHeight - 80) window.scrollBy(0, r.top + y - window.innerHeight / 3);
    this.pin(i);
  };
  Timeline.prototype.pin = function (i) {
    pinned = { tl: this, i: i };
    this.hover = i; this.draw();
    placePinned();
  };
  /** Where an operation's bar is on the screen: [left, right, top, bottom] in client pixels. */
  Timeline.prototype.barRect = function (i) {
    var o = this.kd.ops[i], r = this.canvas.getBoundingClientRect(), sl = this.scroller.scrollLeft;
    var x0 = G + o[2] * this.ppu - sl, x1 = Math.max(G + hardEnd(o) * this.ppu - sl, x0 + 2), y = headerH + this.laneOf[i] * LH;
    return [r.left + Math.max(G, x0), r.left + Math.min(this.w, x1), r.top + y, r.top + y + LH];
  };

  // ---------- drawing
  function css() {
    var s = getComputedStyle(document.documentElement), o = {};
    ['bg', 'panel', 'fg', 'muted', 'line', 'grid', 'zebra', 'ok', 'fail', 'info', 'bar-text', 'prefix', 'stuck', 'rej'].forEach(function (k) { o[k] = s.getPropertyValue('--' + k).trim(); });
    return o;
  }
  function transparent(hex) {
    var m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
    return m ? 'rgba(' + parseInt(m[1], 16) + ',' + parseInt(m[2], 16) + ',' + parseInt(m[3], 16) + ',0)' : 'rgba(255,255,255,0)';
  }
  function niceStep(x) {
    var p = Math.pow(10, Math.floor(Math.log10(x))), m = x / p;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
  }
  var hatch = {};
  function hatchPattern(ctx, color) {
    if (hatch[color]) return hatch[color];
    var c = document.createElement('canvas'); c.width = c.height = 8;
    var g = c.getContext('2d');
    g.strokeStyle = color; g.lineWidth = 2; g.globalAlpha = 0.75;
    g.beginPath(); g.moveTo(-2, 10); g.lineTo(10, -2); g.moveTo(-2, 2); g.lineTo(2, -2); g.moveTo(6, 10); g.lineTo(10, 6); g.stroke();
    return (hatch[color] = ctx.createPattern(c, 'repeat'));
  }
  function roundRect(ctx, x, y, w, h, r) {
    ctx.beginPath(); ctx.moveTo(x + r, y); ctx.arcTo(x + w, y, x + w, y + h, r); ctx.arcTo(x + w, y + h, x, y + h, r);
    ctx.arcTo(x, y + h, x, y, r); ctx.arcTo(x, y, x + w, y, r); ctx.closePath();
  }
  /** The text, cut to fit w pixels; cw (a mean character width) makes the first guess. */
  function fitText(ctx, text, w, cw) {
    var max = Math.floor(w / cw);
    if (max <= 1) return '';
    if (text.length > 3 * max) text = text.slice(0, 3 * max);
    if (ctx.measureText(text).width <= w) return text;
    var n = Math.min(text.length - 1, max + 2);
    while (n > 1 && ctx.measureText(text.slice(0, n) + '\u2026').width > w) n--;
    return n > 1 ? text.slice(0, n) + '\u2026' : '';
  }

  Timeline.prototype.draw = function () {
    var ctx = this.canvas.getContext('2d'), C = css(), self = this, kd = this.kd, ops = kd.ops;
    var dpr = this.dpr(), w = this.w, h = this.height, ppu = this.ppu, sl = this.scroller.scrollLeft;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.fillStyle = C.panel; ctx.fillRect(0, 0, w, h);
    function X(t) { return G + t * ppu - sl; }
    var tA = (sl - 2) / ppu, tB = (sl + w - G + 2) / ppu, endX = X(D.span);
    var rowsTop = headerH;
    ctx.font = '11px ui-sans-serif, system-ui, sans-serif';
    var cw = ctx.measureText('get put cas "x 12 3 y" absent').width / 29;
    // Rows: alternate shading per client.
    this.rows.forEach(function (r, k) {
      if (k % 2 === 1) { ctx.fillStyle = C.zebra; ctx.fillRect(G, rowsTop + r.first * LH, w - G, r.count * LH); }
    });
    // Ticks.
    var step = niceStep(90 / ppu * D.unit) / D.unit, first = Math.ceil(tA / step) * step;
    ctx.strokeStyle = C.grid; ctx.lineWidth = 1; ctx.beginPath();
    for (var t = first; t <= tB; t += step) { var x = Math.round(X(t)) + 0.5; ctx.moveTo(x, AX); ctx.lineTo(x, h); }
    ctx.stroke();
    // Fault intervals shaded across every row, markers as lines.
    ctx.save(); ctx.beginPath(); ctx.rect(G, AX, w - G, h - AX); ctx.clip();
    faults.items.forEach(function (it) {
      if (it.b < tA || it.a > tB) return;
      var col = kindColor(it.kind), x0 = X(it.a), x1 = X(it.b), y = AX + (hasLeader ? LEADER_H : 0) + it.lane * FAULT_H;
      if (it.iv) {
        ctx.globalAlpha = 0.09; ctx.fillStyle = col; ctx.fillRect(x0, rowsTop, x1 - x0, h - rowsTop);
        ctx.globalAlpha = 0.28; ctx.fillRect(x0, y + 2, x1 - x0, FAULT_H - 3);
        ctx.globalAlpha = 0.7; ctx.strokeStyle = col; ctx.setLineDash([4, 3]); ctx.beginPath();
        ctx.moveTo(Math.round(x0) + 0.5, y + 2); ctx.lineTo(Math.round(x0) + 0.5, h); ctx.moveTo(Math.round(x1) - 0.5, y + 2); ctx.lineTo(Math.round(x1) - 0.5, h); ctx.stroke();
        ctx.setLineDash([]);
      } else {
        ctx.globalAlpha = 0.8; ctx.strokeStyle = col; ctx.lineWidth = 1.5; ctx.beginPath();
        ctx.moveTo(x0, y + 2); ctx.lineTo(x0, h); ctx.stroke(); ctx.lineWidth = 1;
        ctx.fillStyle = col; ctx.beginPath(); ctx.moveTo(x0 - 4, y + 2); ctx.lineTo(x0 + 4, y + 2); ctx.lineTo(x0, y + 8); ctx.fill();
      }
      ctx.globalAlpha = 1;
    });
    ctx.restore();
    // Operations.
    ctx.save(); ctx.beginPath(); ctx.rect(G, rowsTop, w - G, h - rowsTop); ctx.clip();
    var colors = [C.ok, C.fail, C.info];
    var labels = [], badgeEnd = {};
    this.lanes.forEach(function (L, li) {
      var y = rowsTop + li * LH + (LH - BAR) / 2;
      // Tails of indeterminate operations: the outcome is unknown from completion (or invocation) on.
      L.tails.forEach(function (i) {
        var o = ops[i], x0 = Math.max(X(hardEnd(o)), G - 4), x1 = endX;
        if (x1 < G || x0 > w) return;
        ctx.fillStyle = hatchPattern(ctx, C.info); ctx.fillRect(x0, y + 2, x1 - x0, BAR - 4);
        var g = ctx.createLinearGradient(x0, 0, x0 + 60, 0); g.addColorStop(0, C.info); g.addColorStop(1, transparent(C.info));
        ctx.fillStyle = g; ctx.fillRect(x0, y, Math.min(60, x1 - x0), BAR);
      });
      // First op that can reach the visible range, by the running maximum of the ends.
      var lo = 0, hi = L.ops.length;
      while (lo < hi) { var mid = (lo + hi) >> 1; if (L.maxEnd[mid] < tA) lo = mid + 1; else hi = mid; }
      for (var k = lo; k < L.ops.length; k++) {
        var i = L.ops[k], o = ops[i];
        if (o[2] > tB) break;
        var x0 = X(o[2]), x1 = Math.max(X(hardEnd(o)), x0 + 2);
        ctx.fillStyle = colors[o[4]]; ctx.fillRect(x0, y, x1 - x0, BAR);
        if (x1 - x0 > 16 || i === self.stuck || self.rej[i] !== undefined
          || (self.linPos[i] >= 0 && (self.partial || self.numbers) && x1 - x0 > 2.5)) labels.push([i, x0, x1, y]);
      }
    });
    // Labels, order numbers and the failure marks over the bars.
    var stuckBox = null;
    labels.forEach(function (v) {
      // Text sticks to the left edge when a bar starts before the visible range.
      var i = v[0], x0 = v[1], x1 = v[2], y = v[3], bw = x1 - x0, lx = Math.max(x0, G), tx = lx + 4, pos = self.linPos[i];
      if (pos >= 0 && self.partial) { ctx.strokeStyle = C.prefix; ctx.lineWidth = 1.5; ctx.strokeRect(x0 + 0.75, y + 0.75, bw - 1.5, BAR - 1.5); }
      if (pos >= 0 && self.numbers) {
        var num = String(pos + 1), nw = Math.max(14, ctx.measureText(num).width + 6);
        // Inside a bar wide enough for it, else just left of it (a client is idle before it invokes).
        var inside = x1 - lx >= nw + 8, bx = inside ? lx + 1 : x0 - nw - 1;
        // Badges outside their bar are left out where they would cover the previous one.
        if (!inside && badgeEnd[y] !== undefined && bx < badgeEnd[y] + 1) inside = null;
        if (inside !== null && (inside || self.partial)) {
          badgeEnd[y] = bx + nw;
          ctx.fillStyle = C.prefix; roundRect(ctx, bx, y + 1, nw, BAR - 2, 3); ctx.fill();
          ctx.fillStyle = C.panel; ctx.textAlign = 'center'; ctx.fillText(num, bx + nw / 2, y + BAR - 3.5); ctx.textAlign = 'left';
          if (inside) tx = lx + nw + 4;
        }
      }
      if (self.rej[i] !== undefined && i !== self.stuck) {
        ctx.strokeStyle = C.rej; ctx.lineWidth = 2; ctx.setLineDash([4, 2]); ctx.strokeRect(x0 - 1, y - 1, bw + 2, BAR + 2); ctx.setLineDash([]);
      }
      if (i === self.stuck) stuckBox = [x0, x1, y];
      var room = x1 - tx - 3;
      if (room > cw * 4) {
        var s = fitText(ctx, opText(ops[i]), room, cw);
        ctx.save(); ctx.beginPath(); ctx.rect(tx, y, room, BAR); ctx.clip();
        ctx.fillStyle = '#10202f'; ctx.fillText(s, tx, y + BAR - 3.5); ctx.restore();
      }
    });
    if (this.hover >= 0) {
      var ho = ops[this.hover], hy = rowsTop + this.laneOf[this.hover] * LH + (LH - BAR) / 2, hx = X(ho[2]);
      ctx.strokeStyle = C.fg; ctx.lineWidth = 2; ctx.strokeRect(hx - 1, hy - 1, Math.max(X(hardEnd(ho)), hx + 2) - hx + 2, BAR + 2);
    }
    if (stuckBox) {
      var sx0 = stuckBox[0], sx1 = stuckBox[1], sy = stuckBox[2];
      ctx.strokeStyle = C.stuck; ctx.lineWidth = 3; ctx.strokeRect(sx0 - 2, sy - 2, sx1 - sx0 + 4, BAR + 4);
      ctx.font = 'bold 11px ui-sans-serif, system-ui, sans-serif';
      var tag = 'cannot be placed', tw = ctx.measureText(tag).width + 10, ty = sy - 2 - 15 < rowsTop ? sy + BAR + 3 : sy - 2 - 15;
      ctx.fillStyle = C.stuck; roundRect(ctx, sx0 - 2, ty, tw, 14, 3); ctx.fill();
      ctx.fillStyle = '#fff'; ctx.fillText(tag, sx0 + 3, ty + 10.5);
      ctx.font = '11px ui-sans-serif, system-ui, sans-serif';
    }
    ctx.restore();
    // The band under the axis: leader lane and fault labels.
    ctx.save(); ctx.beginPath(); ctx.rect(G, 0, w - G, rowsTop); ctx.clip();
    if (hasLeader) {
      var ld = D.ann.ld, ly = AX + 2;
      ld.forEach(function (v, k) {
        var a = v[0], b = k + 1 < ld.length ? ld[k + 1][0] : D.span;
        if (b < tA || a > tB) return;
        var x0 = X(a), x1 = Math.max(X(b), x0 + 1);
        if (v[1] === null) { ctx.fillStyle = hatchPattern(ctx, C.line); ctx.fillRect(x0, ly, x1 - x0, LEADER_H - 5); }
        else {
          var col = nodeColor(v[1]);
          ctx.globalAlpha = 0.22; ctx.fillStyle = col; ctx.fillRect(x0, ly, x1 - x0, LEADER_H - 5); ctx.globalAlpha = 1;
          ctx.fillStyle = col; ctx.fillRect(x0, ly, 2, LEADER_H - 5);
          if (x1 - x0 > 24) { ctx.fillStyle = C.fg; ctx.fillText(fitText(ctx, v[1], x1 - x0 - 8, cw), Math.max(x0, G) + 5, ly + 10); }
        }
      });
    }
    faults.items.forEach(function (it) {
      if (it.b < tA || (it.next !== undefined && it.next < tA) || it.a > tB) return;
      var y = AX + (hasLeader ? LEADER_H : 0) + it.lane * FAULT_H, x0 = X(it.a);
      var limit = it.iv ? X(it.b) : it.next !== undefined ? X(it.next) : w;
      var tx = it.iv ? Math.max(x0, G) + 4 : x0 + 6, room = limit - tx - 4;
      if (room < cw * 3) return;
      ctx.fillStyle = kindColor(it.kind); ctx.font = '600 10.5px ui-sans-serif, system-ui, sans-serif';
      ctx.fillText(fitText(ctx, it.label, room, cw), tx, y + 12);
      ctx.font = '11px ui-sans-serif, system-ui, sans-serif';
    });
    ctx.restore();
    // Axis.
    ctx.fillStyle = C.panel; ctx.fillRect(G, 0, w - G, AX);
    ctx.strokeStyle = C.line; ctx.beginPath(); ctx.moveTo(G, AX - 0.5); ctx.lineTo(w, AX - 0.5); ctx.moveTo(G, rowsTop - 0.5); ctx.lineTo(w, rowsTop - 0.5); ctx.stroke();
    var stepNs = step * D.unit, d = stepNs >= 1e9 ? 1e9 : stepNs >= 1e6 ? 1e6 : stepNs >= 1e3 ? 1e3 : 1, unit = d === 1e9 ? 's' : d === 1e6 ? 'ms' : d === 1e3 ? '\u00b5s' : 'ns';
    var dec = Math.max(0, -Math.floor(Math.log10(stepNs / d) + 1e-9));
    ctx.fillStyle = C.muted; ctx.textAlign = 'center';
    var labelled = false;
    for (t = first; t <= tB; t += step) {
      var tx2 = X(t);
      if (tx2 < G + 14 || tx2 > w - 14) continue;
      ctx.fillText((t * D.unit / d).toFixed(dec) + (labelled ? '' : ' ' + unit), tx2, 14);
      labelled = true;
      ctx.fillRect(Math.round(tx2), AX - 4, 1, 4);
    }
    ctx.textAlign = 'left';
    // History end.
    if (endX < w) { ctx.fillStyle = C.line; ctx.fillRect(endX, AX, 1, h - AX); }
    // Gutter: client names and lane captions.
    ctx.fillStyle = C.panel; ctx.fillRect(0, 0, G, h);
    ctx.fillStyle = C.line; ctx.fillRect(G - 1, 0, 1, h);
    ctx.fillStyle = C.muted; ctx.font = '11px ui-sans-serif, system-ui, sans-serif';
    ctx.fillText('time', 8, 14);
    if (hasLeader) ctx.fillText('leader', 8, AX + 12);
    if (faults.lanes > 0) ctx.fillText('faults', 8, AX + (hasLeader ? LEADER_H : 0) + 12);
    ctx.fillStyle = C.fg; ctx.font = '600 11.5px ui-sans-serif, system-ui, sans-serif';
    this.rows.forEach(function (r, k) {
      var y = rowsTop + r.first * LH;
      if (k > 0) { ctx.fillStyle = C.line; ctx.fillRect(0, y, w, 1); ctx.fillStyle = C.fg; }
      ctx.fillText(fitText(ctx, 'client ' + r.p, G - 14, 6.5), 8, y + LH / 2 + 4);
    });
  };

  // ---------- hover
  Timeline.prototype.hitOp = function (x, y) {
    var li = Math.floor((y - headerH) / LH);
    if (li < 0 || li >= this.lanes.length || x < G) return -1;
    var L = this.lanes[li], ops = this.kd.ops, t = (x - G + this.scroller.scrollLeft) / this.ppu, tol = 3 / this.ppu;
    var lo = 0, hi = L.ops.length;
    while (lo < hi) { var mid = (lo + hi) >> 1; if (ops[L.ops[mid]][2] <= t + tol) lo = mid + 1; else hi = mid; }
    for (var k = lo - 1; k >= 0 && L.maxEnd[k] >= t - tol; k--) {
      var o = ops[L.ops[k]];
      if (Math.max(hardEnd(o), o[2] + 2 / this.ppu) >= t - tol) return L.ops[k];
    }
    var best = -1;
    L.tails.forEach(function (i) { if (hardEnd(ops[i]) <= t && (best < 0 || ops[i][2] > ops[best][2])) best = i; });
    return best;
  };

  Timeline.prototype.pointer = function (x, y, cx, cy) {
    if (pinned) return;
    var self = this, i = y >= headerH ? this.hitOp(x, y) : -1;
    if (i !== this.hover) { this.hover = i; this.redraw(); }
    if (i >= 0) { showTip(this.opTip(i), cx, cy); return; }
    var t = (x - G + this.scroller.scrollLeft) / this.ppu, tol = 4 / this.ppu;
    if (x >= G && hasLeader && y >= AX && y < AX + LEADER_H) {
      var ld = D.ann.ld;
      for (var k = ld.length - 1; k >= 0; k--) {
        if (ld[k][0] <= t + tol) {
          var to = k + 1 < ld.length ? ld[k + 1][0] : D.span;
          var box = el('div');
          box.appendChild(el('div', 't', ld[k][1] === null ? 'no leader known' : 'leader: ' + ld[k][1]));
          if (ld[k][2]) box.appendChild(kv('ballot', ld[k][2], 'val'));
          box.appendChild(kv('from', fmtT(ld[k][0]) + ' to ' + fmtT(to) + (k + 1 < ld.length ? '' : ' (end of history)')));
          showTip(box, cx, cy); return;
        }
      }
    }
    var fy = AX + (hasLeader ? LEADER_H : 0);
    if (x >= G && y >= fy && y < headerH) {
      var lane = Math.floor((y - fy) / FAULT_H), hit = null;
      faults.items.forEach(function (it) {
        if (it.lane !== lane || t < it.a - tol) return;
        var end = it.iv ? it.b + tol : Math.min(it.next !== undefined ? it.next : Infinity, it.a + 160 / self.ppu);
        if (t <= end) hit = it;
      });
      if (hit) {
        var b2 = el('div');
        b2.appendChild(el('div', 't', hit.label));
        b2.appendChild(kv(hit.iv ? 'interval' : 'at', hit.iv ? fmtT(hit.a) + ' \u2192 ' + fmtT(hit.b) + ' (' + fmtT(hit.b - hit.a) + ')' : fmtT(hit.a)));
        b2.appendChild(kv('kind', 'nemesis ' + hit.kind + (hit.iv ? '' : ' (no matching end)')));
        showTip(b2, cx, cy); return;
      }
    }
    hideTip();
  };

  function kv(k, v, cls) {
    var r = el('div', 'r');
    r.appendChild(el('span', 'k', k + ': '));
    r.appendChild(el('span', cls || '', v));
    return r;
  }

  Timeline.prototype.opTip = function (i) {
    var kd = this.kd, o = kd.ops[i], box = el('div'), pos = this.linPos[i];
    var title = el('div', 't', opText(o, kd.k) + '  ');
    title.appendChild(el('span', 's-' + STATUS[o[4]], STATUS[o[4]]));
    box.appendChild(title);
    box.appendChild(kv('client', o[1] + ' \u00b7 id ' + o[0] + ' \u00b7 line ' + o[8]));
    box.appendChild(kv('invoked', fmtT(o[2])));
    if (o[3] < 0) box.appendChild(kv('completed', 'never: the outcome is unknown (it may take effect at any later time)'));
    else if (isInfo(o)) box.appendChild(kv('info at', fmtT(o[2] + o[3]) + ' (after ' + fmtT(o[3]) + '): outcome unknown, it may take effect at any later time'));
    else { box.appendChild(kv('completed', fmtT(o[2] + o[3]))); box.appendChild(kv('latency', fmtT(o[3]))); }
    box.appendChild(el('div', 'sep'));
    if (kd.v === 'skipped') { box.appendChild(el('div', 'r', 'Not checked: the verdict was already settled by another key.')); return box; }
    if (pos >= 0) {
      var where = this.partial
        ? (kd.v === 'unknown' ? 'step ' + (pos + 1) + ' of the partial linearization found before the checker stopped' : 'step ' + (pos + 1) + ' of ' + kd.lin.length + ' in the longest linearizable prefix')
        : 'step ' + (pos + 1) + ' of ' + kd.lin.length + ' in the linearization';
      box.appendChild(el('div', 'r', where));
      box.appendChild(kv('value before', showState(this.before[pos], 600), 'val'));
      box.appendChild(kv('value after', showState(this.after[pos], 600), 'val'));
    } else if (kd.ops[i][9] & 1) {
      box.appendChild(el('div', 'r', 'Not in the search: ' + ignoredWhy(o) + '.'));
    } else if (i === this.stuck) {
      box.appendChild(el('div', 'r bad', '\u2716 Cannot be placed after the longest linearizable prefix'));
      box.appendChild(kv('why', kd.fail.reason));
      box.appendChild(kv('value after the prefix', showState(valOf(kd.fail.state), 600), 'val'));
    } else if (this.rej[i] !== undefined) {
      box.appendChild(el('div', 'r rej', 'Illegal here (a candidate to go next after the prefix, rejected)'));
      box.appendChild(kv('why', this.rej[i]));
    } else if (kd.v === 'linearizable') {
      box.appendChild(el('div', 'r', 'Not in the linearization: no visible effect (an indeterminate operation need not take effect).'));
    } else if (kd.v === 'unknown') {
      box.appendChild(el('div', 'r', 'Not placed in the partial linearization found before the checker stopped.'));
    } else {
      box.appendChild(el('div', 'r', 'Not placed in the longest linearizable prefix.'));
    }
    if (pos >= 0 && this.rej[i] !== undefined) box.appendChild(kv('also', this.rej[i]));
    return box;
  };

  function showTip(content, cx, cy) {
    tip.textContent = '';
    tip.appendChild(content);
    tip.hidden = false;
    var r = tip.getBoundingClientRect(), x = cx + 14, y = cy + 16;
    if (x + r.width > window.innerWidth - 8) x = Math.max(8, cx - r.width - 14);
    if (y + r.height > window.innerHeight - 8) y = Math.max(8, cy - r.height - 12);
    tip.style.left = x + 'px'; tip.style.top = y + 'px';
  }
  function hideTip() { if (!pinned) tip.hidden = true; }
  var pinned = null;
  function placePinned() {
    if (!pinned) return;
    var b = pinned.tl.barRect(pinned.i);
    var box = pinned.tl.opTip(pinned.i);
    box.appendChild(el('div', 'pin', 'Pinned: click the operation again or press Esc to close.'));
    showTip(box, b[0], b[3] - 12);
    tip.classList.add('pinned');
  }
  function unpin() {
    if (!pinned) return;
    var tl = pinned.tl;
    pinned = null; tip.classList.remove('pinned'); hideTip();
    tl.hover = -1; tl.draw();
  }
  window.addEventListener('keydown', function (e) { if (e.key === 'Escape') unpin(); });
  window.addEventListener('scroll', function () { if (pinned) placePinned(); }, true);
  window.addEventListener('resize', function () { if (pinned) placePinned(); });

  // ---------- the page: legend, key index, one lazily drawn section per key
  function legend() {
    var box = document.getElementById('legend');
    var items = [['ok', 'ok'], ['fail', 'fail'], ['info', 'info / no completion (outcome unknown to the end)']];
    if (D.keys.some(function (k) { return k.fail; })) items.push(['prefix', 'in the longest linearizable prefix (numbered)'], ['stuck', 'cannot be placed'], ['rej', 'illegal here (rejected candidate)']);
    if (D.ann.iv.length) items.push(['fault', 'fault interval']);
    if (D.ann.mk.length) items.push(['marker', 'nemesis event']);
    if (hasLeader) items.push(['leader', 'leader']);
    items.forEach(function (it) {
      var s = el('span', 'item');
      s.appendChild(el('span', 'sw ' + it[0])); s.appendChild(document.createTextNode(it[1]));
      box.appendChild(s);
    });
  }

  function section(kd, idx) {
    var d = el('details', 'key');
    d.id = 'key-' + idx;
    var sum = el('summary');
    sum.appendChild(el('span', 'badge b-' + kd.v, VERDICT[kd.v]));
    var name = el('span', 'kname mono', kd.k === '' ? '(empty key)' : kd.k); name.title = kd.k;
    sum.appendChild(name);
    var procs = {};
    kd.ops.forEach(function (o) { procs[o[1]] = 1; });
    var stats = [plural(kd.n, 'operation'), plural(Object.keys(procs).length, 'client'), kd.ind + ' indeterminate'];
    if (kd.v !== 'skipped') stats.push(plural(kd.configs, 'configuration') + ' explored');
    if (kd.ms !== undefined) stats.push('checked in ' + kd.ms + ' ms');
    sum.appendChild(el('span', 'stats', stats.join(' \u00b7 ')));
    d.appendChild(sum);
    var body = el('div', 'kbody');
    d.appendChild(body);
    var tl = null, built = false;
    d.timeline = function () {
      if (!built) {
        built = true;
        body.appendChild(note(kd, function (i) { if (tl) tl.reveal(i); }));
        if (kd.ops.length === 0) body.appendChild(el('p', 'empty', 'No operations.'));
        else tl = new Timeline(kd, body);
      }
      return tl;
    };
    d.addEventListener('toggle', function () { if (d.open) d.timeline(); });
    return d;
  }

  function note(kd, reveal) {
    var n = el('div', 'note');
    function opButton(i) {
      var b = el('button', 'op', opText(kd.ops[i], kd.k).slice(0, 300));
      b.type = 'button'; b.title = 'Show it on the timeline';
      b.onclick = function () { reveal(i); };
      return b;
    }
    function text(s) { n.appendChild(document.createTextNode(s)); }
    if (kd.v === 'skipped') { text('Not checked: verdict already settled by another key. The operations are shown without linearization information.'); return n; }
    if (kd.v === 'linearizable') {
      n.className = 'note good';
      text('Linearizable: the checker found a linearization of ' + plural(kd.lin.length, 'operation') + (kd.ops.length <= 300 ? ' (numbered in order on the timeline)' : ' (tick “linearization order” to number them on the timeline)') + '. Hover an operation to see the value before and after it; click it to pin the details. Indeterminate operations left out of it had no visible effect.');
      return n;
    }
    if (kd.v === 'unknown') {
      n.className = 'note unk';
      text('Unknown: the checker stopped (time limit) before settling this key. Shown: the partial linearization it had found (' + plural(kd.lin.length, 'operation') + ').');
      return n;
    }
    n.className = 'note bad';
    var f = kd.fail;
    var head = el('div');
    head.appendChild(el('strong', '', 'Not linearizable. '));
    head.appendChild(document.createTextNode('The longest linearizable prefix has ' + plural(kd.lin.length, 'operation') + ' (outlined and numbered); after it the value is '));
    head.appendChild(el('span', 'op', showState(valOf(f.state), 300)));
    head.appendChild(document.createTextNode('. '));
    n.appendChild(head);
    var line = el('div');
    if (f.stuck >= 0) {
      line.appendChild(document.createTextNode('Next, '));
      line.appendChild(opButton(f.stuck));
      var o = kd.ops[f.stuck];
      line.appendChild(document.createTextNode(' (client ' + o[1] + ', id ' + o[0] + ') cannot be placed: '));
    }
    line.appendChild(el('strong', '', f.reason.slice(0, 1200)));
    n.appendChild(line);
    var rej = f.rej.filter(function (r) { return r[0] !== f.stuck; });
    if (rej.length > 0) {
      var lab = el('div', '', 'Every other candidate to go next was rejected too:');
      var ul = el('ul');
      rej.slice(0, 12).forEach(function (r) {
        var li = el('li');
        li.appendChild(opButton(r[0]));
        li.appendChild(el('span', 'why', ' \u2014 ' + r[1].slice(0, 600)));
        ul.appendChild(li);
      });
      if (rej.length > 12) ul.appendChild(el('li', 'why', (rej.length - 12) + ' more (hover the dashed operations)'));
      n.appendChild(lab); n.appendChild(ul);
    }
    return n;
  }

  legend();
  var index = document.getElementById('key-index'), host = document.getElementById('keys');
  var sections = [], chips = [];
  D.keys.forEach(function (kd, i) {
    var s = section(kd, i);
    host.appendChild(s); sections.push(s);
    var c = el('button', 'chip');
    c.type = 'button'; c.title = kd.k + ': ' + VERDICT[kd.v];
    c.appendChild(el('span', 'dot d-' + kd.v));
    c.appendChild(el('span', 'name mono', kd.k === '' ? '(empty key)' : kd.k));
    c.appendChild(el('span', 'count', String(kd.n)));
    c.onclick = function () { s.open = true; s.scrollIntoView({ block: 'start' }); };
    index.appendChild(c); chips.push(c);
  });
  if (D.keys.length > 12) {
    var tools = el('div', 'key-tools'), inp = el('input');
    inp.type = 'search'; inp.placeholder = 'Filter keys';
    tools.appendChild(inp);
    tools.appendChild(el('span', '', 'failing keys first \u00b7 click a key to open its timeline'));
    index.parentNode.insertBefore(tools, index);
    inp.addEventListener('input', function () {
      var q = inp.value.toLowerCase();
      D.keys.forEach(function (kd, i) { var hide = q !== '' && kd.k.toLowerCase().indexOf(q) < 0; chips[i].hidden = hide; sections[i].hidden = hide; });
    });
  }
  // A link to report.html#op=ID opens that operation's key and pins its tooltip.
  function followHash() {
    var m = /^#op=(\d+)$/.exec(location.hash);
    if (!m) return false;
    var id = +m[1];
    for (var k = 0; k < D.keys.length; k++) {
      var ops = D.keys[k].ops;
      for (var i = 0; i < ops.length; i++) {
        if (ops[i][0] !== id) continue;
        sections[k].open = true;
        var tl = sections[k].timeline();
        if (tl) { unpin(); tl.reveal(i); }
        return true;
      }
    }
    return false;
  }
  if (sections.length > 0) { sections[0].open = true; sections[0].timeline(); }
  followHash();
  window.addEventListener('hashchange', followHash);
  window.addEventListener('blur', hideTip);
})();
`;
