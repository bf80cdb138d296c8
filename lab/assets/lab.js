// synack lab: the page. It keeps the experiment in the URL, asks the
// server to run it (/api/run), and steps through the run it gets back.
(function () {
  "use strict";

  var T = {
    en: {
      lab: "lab", case: "Case", about: "What happens, and why", predict: "Predict: hide what comes next and guess it",
      pin: "Pin this run to compare", unpin: "Unpin", pinned: "Pinned", keys: "Keys: ← → step, space play/pause, Home/End.",
      states: "States", timers: "Running timers", faults: "Faults",
      "faults.hint": "Click a segment in the sequence diagram to lose, duplicate or delay it; click a host's box to crash it. The run replays at once.",
      "crash.a": "Crash A now", "crash.b": "Crash B now", cut: "Cut the link now for",
      ladder: "Sequence diagram", fig5: "State diagram — RFC 9293 Figure 5", settings: "Settings",
      events: "Every event, with its rule", "col.time": "Time (s)", "col.host": "Host", "col.event": "Event",
      "col.details": "Details", "col.cause": "Rule", export: "Export and share", "x.html": "HTML report",
      share: "Link to this experiment", first: "First", back: "Step back", play: "Play", pause: "Pause", fwd: "Step forward", last: "Last",
      step: "step %d of %d", start: "start", none: "none", nofaults: "No faults yet: the case as written.",
      undo: "Undo", clear: "Remove all faults", lose: "Lose", dup: "Duplicate", delay: "Delay by", cancel: "Cancel",
      crash: "Crash %s at %s s", restart: "restart after", goto: "Go to this event",
      packet: "Packet %d", left: "%s s left of %s", ok: "✓ The run shows what the case must show.",
      differs: "With these faults or settings the run differs from what the case shows by default:",
      notes: "", explorer: "Explorer case: faults go into its schedule (the token); settings are the explorer's own.",
      quizState: "What comes next? %s leaves %s. Into which state?", quizSend: "What comes next? %s sends a segment. With which flags?",
      right: "Right.", wrong: "Not quite: it is %s.", score: "Score: %d of %d", ms: "Simulated and drawn in %s ms.",
      loading: "Running…", notApplied: "not applied", crashHost: "Crash %s…",
      cutAt: "Cut the link at %s s for %s", vsnone: "no faults",
      "aria.time": "Time", "aria.toolbar": "Step through time", "aria.scrub": "Step", "aria.now": "Now",
      "aria.run": "This run", "aria.pinned": "Pinned run", "aria.cutFor": "how long", "aria.langs": "Language",
      restartHint: "empty: no restart", actual: "Actual size", fit: "Fit to width",
      swipe: "Swipe sideways inside the diagram to see all of it."
    },
    zh: {
      lab: "实验室", case: "案例", about: "发生了什么，为什么", predict: "预测模式：隐藏后续事件，先猜一猜",
      pin: "固定此次运行以便对比", unpin: "取消固定", pinned: "已固定", keys: "按键：← → 单步，空格 播放/暂停，Home/End。",
      states: "状态", timers: "运行中的计时器", faults: "故障",
      "faults.hint": "点击时序图中的报文段，可让它丢失、重复或延迟；点击主机方框可让它崩溃。运行会立即重放。",
      "crash.a": "现在让 A 崩溃", "crash.b": "现在让 B 崩溃", cut: "现在切断链路，持续",
      ladder: "时序图", fig5: "状态转换图 — RFC 9293 图 5", settings: "参数设置",
      events: "全部事件及其规则", "col.time": "时间(秒)", "col.host": "主机", "col.event": "事件",
      "col.details": "详情", "col.cause": "规则", export: "导出与分享", "x.html": "HTML 报告",
      share: "本实验的链接", first: "开头", back: "后退一步", play: "播放", pause: "暂停", fwd: "前进一步", last: "结尾",
      step: "第 %d 步，共 %d 步", start: "开始", none: "无", nofaults: "尚未添加故障：按案例原样运行。",
      undo: "撤销", clear: "移除全部故障", lose: "丢失", dup: "重复", delay: "延迟", cancel: "取消",
      crash: "在 %2$s 秒让 %1$s 崩溃", restart: "多久之后重启", goto: "跳到此事件",
      packet: "第 %d 个分组", left: "剩余 %s 秒（共 %s）", ok: "✓ 运行结果与案例的预期一致。",
      differs: "在这些故障或设置下，运行结果与案例默认展示的不同：",
      notes: "", explorer: "探索器案例：故障写入它的调度（令牌）；参数使用探索器自己的设置。",
      quizState: "接下来会怎样？%s 将离开 %s。进入哪个状态？", quizSend: "接下来会怎样？%s 将发送一个报文段。带哪些标志？",
      right: "答对了。", wrong: "不对：应是 %s。", score: "得分：%d / %d", ms: "模拟与绘制用时 %s 毫秒。",
      loading: "运行中…", notApplied: "未生效", crashHost: "让 %s 崩溃…",
      cutAt: "在 %s 秒切断链路，持续 %s", vsnone: "无故障",
      "aria.time": "时间", "aria.toolbar": "逐步查看", "aria.scrub": "步骤", "aria.now": "当前",
      "aria.run": "本次运行", "aria.pinned": "固定的运行", "aria.cutFor": "持续时间", "aria.langs": "语言",
      restartHint: "留空：不重启", actual: "原始大小", fit: "适应宽度", swipe: "在图中左右滑动可查看全图。",
      "timer:retransmit": "重传计时器", "timer:syn-retry": "SYN 重传计时器", "timer:time-wait": "2MSL 计时器",
      "timer:fin-wait-2": "FIN-WAIT-2 计时器", "timer:keepalive": "保活计时器", "timer:persist": "坚持计时器",
      "timer:delayed-ack": "延迟确认计时器", "timer:user-timeout": "用户超时计时器", "timer:loss-probe": "尾部丢失探测计时器",
      "timer:reorder": "RACK 重排序计时器"
    }
  };
  var hostColor = ["#2563eb", "#db2777", "#059669", "#d97706", "#7c3aed"];

  var $ = function (id) { return document.getElementById(id); };
  var state = {
    lang: "en", query: "", vs: "", mode: "", step: null,
    run: null, cur: -1, playing: false, answered: {}, score: [0, 0],
    cases: null, settings: [], seq: 0
  };

  function t(key) {
    var s = (T[state.lang] || T.en)[key];
    if (s === undefined) s = T.en[key];
    if (s === undefined) s = key;
    var args = Array.prototype.slice.call(arguments, 1), n = 0;
    return s.replace(/%(\d\$)?[sd]/g, function (m, pos) {
      if (pos) return String(args[parseInt(pos, 10) - 1]);
      return String(args[n++]);
    });
  }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function secs(ns) { return (ns / 1e9).toFixed(3); }
  function fmtLeft(ns) {
    var s = ns / 1e9;
    if (s >= 120) return Math.round(s) + "";
    return s.toFixed(s < 10 ? 3 : 1);
  }

  // ---- URL: the experiment, and the page's own state ----
  function readURL() {
    var q = new URLSearchParams(location.search);
    state.lang = q.get("lang") === "zh" ? "zh" : "en";
    state.vs = q.get("vs") || "";
    state.mode = q.get("mode") === "predict" ? "predict" : "";
    state.step = q.has("step") ? parseInt(q.get("step"), 10) : null;
    ["lang", "vs", "mode", "step"].forEach(function (k) { q.delete(k); });
    state.query = q.toString();
  }
  function pageQuery() {
    var s = state.query;
    if (state.lang === "zh") s += "&lang=zh";
    if (state.mode) s += "&mode=" + state.mode;
    if (state.vs) s += "&vs=" + encodeURIComponent(state.vs);
    if (state.run && state.cur !== state.run.events.length - 1) s += "&step=" + state.cur;
    return s;
  }
  function writeURL() {
    var url = location.pathname + "?" + pageQuery();
    if (url !== location.pathname + location.search) history.replaceState(null, "", url);
    $("share").href = url;
  }

  // ---- talking to the server ----
  function api(path) {
    return fetch(path).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(body.error || ("HTTP " + r.status));
        return body;
      }, function () { throw new Error("HTTP " + r.status); });
    });
  }
  function showError(msg) {
    var e = $("error");
    e.textContent = msg || "";
    e.hidden = !msg;
  }

  function loadCases() {
    return api("/api/cases?lang=" + state.lang).then(function (c) {
      state.cases = c;
      state.settings = c.settings;
      if (!document.getElementById("report-css")) {
        var st = el("style", { id: "report-css" });
        st.textContent = c.css;
        document.head.insertBefore(st, document.head.firstChild);
      }
      fillPicker();
      buildSettings();
    });
  }

  function fillPicker() {
    var sel = $("case");
    sel.textContent = "";
    state.cases.groups.forEach(function (g) {
      var og = el("optgroup", { label: g.title });
      g.cases.forEach(function (c) {
        var o = el("option", { value: c.query, title: c.summary }, c.name);
        og.appendChild(o);
      });
      sel.appendChild(og);
    });
    selectCurrent();
  }
  function selectCurrent() {
    var sel = $("case"), q = new URLSearchParams(state.query);
    var key = q.has("replay") ? "replay=" + encodeURIComponent((q.get("replay") || "").split(":")[0] + ":0:") : "case=" + encodeURIComponent(q.get("case") || "");
    for (var i = 0; i < sel.options.length; i++) {
      if (sel.options[i].value === key) { sel.selectedIndex = i; return; }
    }
    // an explorer token with a schedule: its case is the one picked
    for (var j = 0; j < sel.options.length; j++) {
      var v = decodeURIComponent(sel.options[j].value);
      if (q.has("replay") && v.indexOf("replay=" + (q.get("replay") || "").split(":")[0] + ":") === 0) { sel.selectedIndex = j; return; }
    }
  }

  // run asks for the current experiment and shows it; keepStep keeps the
  // time position (a fault added at some step).
  function run(keepStep) {
    var seq = ++state.seq;
    var path = "/api/run?" + state.query + (state.lang === "zh" ? "&lang=zh" : "") + (state.vs ? "&vs=" + encodeURIComponent(state.vs) : "");
    $("timing").textContent = t("loading");
    return api(path).then(function (r) {
      if (seq !== state.seq) return;
      showError("");
      var old = state.run, oldCur = state.cur;
      state.run = r;
      state.query = r.query;
      state.answered = {};
      render();
      restoreFocus();
      var n = r.events.length;
      if (state.step !== null && !isNaN(state.step)) {
        setStep(Math.max(-1, Math.min(n - 1, state.step)));
        state.step = null;
      } else if (keepStep && old && oldCur < old.events.length - 1) {
        setStep(Math.min(n - 1, oldCur));
      } else {
        setStep(state.mode === "predict" ? -1 : n - 1);
      }
    }, function (err) {
      if (seq !== state.seq) return;
      showError(err.message);
      $("timing").textContent = "";
    });
  }

  // ---- drawing a run ----
  function render() {
    var r = state.run;
    $("title").textContent = r.name;
    $("summary").textContent = r.summary;
    $("doc").textContent = r.doc;
    verdict($("verdict"), r);
    $("ladder-box").innerHTML = r.ladder;
    $("fig5-box").innerHTML = r.fig5;
    // Figure 5's numbered steps: our tooltip on hover, a tap goes there
    var fs = $("fig5-box").querySelectorAll("[data-ev]");
    for (var f = 0; f < fs.length; f++) {
      var ft = fs[f].querySelector("title");
      if (ft) { fs[f].setAttribute("data-tip", ft.textContent); ft.parentNode.removeChild(ft); }
    }
    $("events").tBodies[0].innerHTML = r.rows;
    prepareLadder($("ladder-box"), r);
    // a segment's row offers the same faults as its arrow, where the
    // ladder is crowded or narrow
    var trs = $("events").tBodies[0].rows;
    for (var k = 0; k < trs.length; k++) {
      var ev = r.events[+trs[k].getAttribute("data-ev")];
      if (ev && ev.fault) { trs[k].tabIndex = 0; trs[k].classList.add("faultable"); }
    }
    renderFaults();
    renderSettings();
    renderVS();
    exportLinks();
    $("timing").textContent = t("ms", r.ms.toFixed(1));
    $("scrub").max = String(r.events.length - 1);
    var exp = r.explorer;
    ["crash-a", "crash-b", "cut", "cut-for"].forEach(function (id) { $(id).disabled = exp; });
    zoomNeeded();
    selectCurrent();
  }

  function verdict(box, r) {
    box.textContent = "";
    box.className = "verdict " + (r.ok ? "ok" : "bad");
    if (r.ok) box.appendChild(document.createTextNode(t("ok")));
    else {
      box.appendChild(document.createTextNode(t("differs")));
      var ul = el("ul");
      r.failures.forEach(function (f) { ul.appendChild(el("li", {}, f)); });
      box.appendChild(ul);
    }
    if (r.notes.length) {
      var nl = el("ul", { class: "hint" });
      r.notes.forEach(function (n) { nl.appendChild(el("li", {}, n)); });
      box.appendChild(nl);
    }
  }

  // prepareLadder indexes the ladder's events, moves their titles into a
  // tooltip of our own (a title cannot be tapped), and makes the hosts'
  // boxes buttons.
  function prepareLadder(box, r) {
    var gs = box.querySelectorAll("[data-ev]");
    for (var i = 0; i < gs.length; i++) {
      var title = gs[i].querySelector("title");
      if (title) { gs[i].setAttribute("data-tip", title.textContent); title.parentNode.removeChild(title); }
      var ev = r.events[+gs[i].getAttribute("data-ev")];
      if (ev && ev.fault) { gs[i].setAttribute("tabindex", "0"); gs[i].setAttribute("role", "button"); }
    }
    var svg = box.querySelector("svg");
    if (!svg) return;
    var rects = svg.querySelectorAll("g > rect[width='140'][height='48']");
    for (var k = 0; k < rects.length; k++) {
      var g = rects[k].parentNode, name = (g.querySelector("text") || {}).textContent;
      if (r.hosts.indexOf(name) < 0) continue;
      g.setAttribute("class", "lab-host");
      g.setAttribute("data-host", name);
      g.setAttribute("tabindex", "0");
      g.setAttribute("role", "button");
      g.setAttribute("aria-label", t("crashHost", name));
    }
    var line = document.createElementNS("http://www.w3.org/2000/svg", "line");
    line.setAttribute("class", "nowline");
    line.setAttribute("x1", "8");
    line.setAttribute("x2", svg.viewBox.baseVal ? String(svg.viewBox.baseVal.width - 8) : "1000");
    line.setAttribute("y1", "-10"); line.setAttribute("y2", "-10");
    line.id = "nowline";
    // Predict mode's curtain: everything below now — the hosts' state
    // bands, the times, the events — is what comes next.
    var vb = svg.viewBox.baseVal, cur = document.createElementNS("http://www.w3.org/2000/svg", "rect");
    cur.id = "curtain";
    cur.setAttribute("x", "0");
    cur.setAttribute("width", vb ? String(vb.width) : "2000");
    cur.setAttribute("fill", "#ffffff");
    cur.setAttribute("y", "0"); cur.setAttribute("height", "0");
    cur.setAttribute("data-h", vb ? String(vb.height) : "10000");
    svg.appendChild(cur);
    svg.appendChild(line);
  }

  function renderFaults() {
    var ul = $("fault-list"), r = state.run;
    ul.textContent = "";
    if (!r.faults.length) { ul.appendChild(el("li", { class: "hint" }, t("nofaults"))); return; }
    r.faults.forEach(function (f) {
      var li = el("li", f.applied ? {} : { class: "not-applied" });
      var what = el("span", {}, f.text);
      if (!f.applied) what.appendChild(el("b", {}, " — " + t("notApplied")));
      if (f.note) what.appendChild(el("span", { class: "fault-note" }, f.note));
      li.appendChild(what);
      var b = el("button", { type: "button", "aria-label": t("undo") + ": " + f.text }, t("undo"));
      b.addEventListener("click", function () { state.query = f.undo; state.refocus = "#fault-list button"; writeAndRun(true); });
      li.appendChild(b);
      ul.appendChild(li);
    });
    if (r.faults.length > 1) {
      var li = el("li"), b = el("button", { type: "button" }, t("clear"));
      b.addEventListener("click", function () {
        var q = new URLSearchParams(state.query);
        q.delete("fault");
        if (q.has("replay")) q.set("replay", q.get("replay").split(":")[0] + ":0:");
        state.query = q.toString();
        writeAndRun(true);
      });
      li.appendChild(b);
      ul.appendChild(li);
    }
  }

  function buildSettings() {
    var form = $("settings");
    form.textContent = "";
    state.settings.forEach(function (s) {
      var lab = el("label", { "data-set": s.name, title: s.name });
      lab.appendChild(el("span", {}, s.label + (s.kind === "dur" || s.kind === "int" || s.kind === "float" ? " (" + s.def + ")" : "")));
      var inp;
      if (s.choices) {
        inp = el("select", { name: s.name });
        s.choices.forEach(function (c) { inp.appendChild(el("option", { value: c.value }, c.text)); });
      } else {
        inp = el("input", { name: s.name, inputmode: s.kind === "dur" ? "text" : "decimal", autocomplete: "off" });
      }
      inp.addEventListener("change", function () { changeSetting(s, inp.value.trim()); });
      lab.appendChild(inp);
      form.appendChild(lab);
    });
  }
  function renderSettings() {
    var r = state.run;
    $("settings-note").textContent = r.explorer ? t("explorer") : "";
    var q = new URLSearchParams(r.query);
    state.settings.forEach(function (s) {
      var lab = document.querySelector("[data-set='" + s.name + "']");
      if (!lab) return;
      var inp = lab.querySelector("input,select"), set = q.has(s.name);
      if (inp.tagName === "SELECT") inp.value = r.settings[s.name];
      else { inp.value = set ? r.settings[s.name] : ""; inp.placeholder = s.def; }
      inp.disabled = r.explorer;
      lab.classList.toggle("changed", set);
    });
  }
  function changeSetting(s, v) {
    var q = new URLSearchParams(state.query);
    if (v === "") q.delete(s.name); else q.set(s.name, v);
    state.query = q.toString();
    writeAndRun(true);
  }

  function renderVS() {
    var r = state.run, vs = r.vs, box = $("run-vs");
    $("views").classList.toggle("two", !!vs);
    box.hidden = !vs;
    $("pin").setAttribute("aria-pressed", vs ? "true" : "false");
    if (!vs) { $("vs-ladder-box").textContent = ""; $("vs-fig5-box").textContent = ""; return; }
    $("vs-title").textContent = vs.name;
    $("vs-faults").textContent = vs.faults.length ? vs.faults.map(function (f) { return f.text; }).join("; ") : t("vsnone");
    verdict($("vs-verdict"), vs);
    $("vs-ladder-box").innerHTML = vs.ladder;
    $("vs-fig5-box").innerHTML = vs.fig5;
  }

  function exportLinks() {
    var q = state.query + (state.lang === "zh" ? "&lang=zh" : "");
    ["pcap", "svg", "json", "html"].forEach(function (f) {
      var a = $("x-" + f);
      a.href = "/api/export?format=" + f + "&" + q;
    });
  }

  // ---- stepping ----
  function setStep(i) {
    var r = state.run;
    if (!r) return;
    state.cur = i;
    $("scrub").value = String(i);
    var n = r.events.length;
    $("clock").textContent = "t = " + (i >= 0 ? secs(r.events[i].t) : "0.000") + " s · " + (i >= 0 ? t("step", i + 1, n) : t("start"));
    document.body.classList.toggle("predict", state.mode === "predict");
    // the ladder and the table
    var gs = $("ladder-box").querySelectorAll("[data-ev]");
    for (var k = 0; k < gs.length; k++) {
      var j = +gs[k].getAttribute("data-ev");
      gs[k].classList.toggle("future", j > i);
      gs[k].classList.toggle("lab-now", j === i);
    }
    var rows = $("events").tBodies[0].rows;
    for (var m = 0; m < rows.length; m++) {
      var jr = +rows[m].getAttribute("data-ev");
      rows[m].classList.toggle("future", jr > i);
      rows[m].classList.toggle("now", jr === i);
    }
    var y = -10;
    for (var q = i; q >= 0; q--) if (r.events[q].y >= 0) { y = r.events[q].y; break; }
    var line = document.getElementById("nowline");
    if (line) { line.setAttribute("y1", String(y)); line.setAttribute("y2", String(y)); }
    var curtain = document.getElementById("curtain");
    if (curtain) {
      var top = y;
      if (i < 0) for (var f = 0; f < r.events.length; f++) if (r.events[f].y >= 0) { top = r.events[f].y - 10; break; }
      top += i < 0 ? 0 : 7;
      var h = state.mode === "predict" ? Math.max(0, +curtain.getAttribute("data-h") - top) : 0;
      curtain.setAttribute("y", String(top));
      curtain.setAttribute("height", String(h));
    }
    lightStates(i);
    describe(i);
    showTimers(i, 0);
    writeURL();
  }

  // statesAt are each host's states after event i, and whether it has
  // been past the opening (its CLOSED is then the lower one of Figure 5).
  function statesAt(i) {
    var r = state.run, st = r.initial.slice(), late = r.hosts.map(function () { return false; });
    for (var k = 0; k <= i; k++) {
      st = r.events[k].states;
      st.forEach(function (s, c) { if (s !== "CLOSED" && s !== "LISTEN" && s !== "SYN-SENT") late[c] = true; });
    }
    return { st: st, late: late };
  }

  function lightStates(i) {
    var r = state.run, fig = $("fig5-box").querySelector("svg");
    var s = statesAt(i);
    var ul = $("states");
    ul.textContent = "";
    r.hosts.forEach(function (h, c) {
      var li = el("li");
      li.appendChild(el("b", { style: "color:" + hostColor[c % hostColor.length] }, h));
      li.appendChild(document.createTextNode(" " + s.st[c]));
      ul.appendChild(li);
    });
    if (!fig) return;
    var olds = fig.querySelectorAll(".lab-ring");
    for (var k = 0; k < olds.length; k++) olds[k].parentNode.removeChild(olds[k]);
    var steps = fig.querySelectorAll(".fig5-step");
    for (var m = 0; m < steps.length; m++) steps[m].classList.toggle("future", +steps[m].getAttribute("data-ev") > i);
    r.hosts.forEach(function (h, c) {
      var nodes = fig.querySelectorAll(".fig5-node[data-state='" + s.st[c] + "']");
      var node = nodes.length > 1 && s.late[c] ? nodes[1] : nodes[0];
      if (!node) return;
      var rect = node.querySelector("rect");
      var ring = document.createElementNS("http://www.w3.org/2000/svg", "rect");
      var pad = 4 + 5 * c;
      ring.setAttribute("class", "lab-ring");
      ring.setAttribute("x", String(+rect.getAttribute("x") - pad));
      ring.setAttribute("y", String(+rect.getAttribute("y") - pad));
      ring.setAttribute("width", String(+rect.getAttribute("width") + 2 * pad));
      ring.setAttribute("height", String(+rect.getAttribute("height") + 2 * pad));
      ring.setAttribute("rx", "13");
      ring.setAttribute("fill", "none");
      ring.setAttribute("stroke", hostColor[c % hostColor.length]);
      ring.setAttribute("stroke-width", "3.5");
      node.appendChild(ring);
    });
  }

  function describe(i) {
    var box = $("event-text"), r = state.run;
    box.textContent = i >= 0 ? r.events[i].tip : r.name;
  }

  // showTimers lists the timers armed after event i, extra ns later.
  function showTimers(i, extra) {
    var r = state.run, ul = $("timers");
    ul.textContent = "";
    var ts = i >= 0 ? r.events[i].timers : [];
    if (!ts.length) { ul.appendChild(el("li", { class: "hint" }, t("none"))); return; }
    ts.forEach(function (tm) {
      var left = Math.max(0, tm.left - extra);
      var li = el("li");
      var c = r.hosts.indexOf(tm.host);
      li.appendChild(el("b", { style: "color:" + hostColor[(c < 0 ? 0 : c) % hostColor.length] }, tm.host));
      var name = state.lang === "zh" && T.zh["timer:" + tm.timer] ? T.zh["timer:" + tm.timer] + "（" + tm.timer + "）" : tm.timer;
      li.appendChild(document.createTextNode(" " + name + " — " + t("left", fmtLeft(left), fmtLeft(tm.total))));
      var bar = el("span", { class: "barline", role: "presentation" }), fill = el("i");
      fill.style.width = (tm.total > 0 ? 100 * left / tm.total : 0).toFixed(1) + "%";
      bar.appendChild(fill);
      li.appendChild(bar);
      ul.appendChild(li);
    });
  }

  // forward moves one event on; in predict mode it asks first.
  function forward() {
    var r = state.run;
    if (!r || state.cur >= r.events.length - 1) { stop(); return false; }
    var j = state.cur + 1, ev = r.events[j];
    if (state.mode === "predict" && ev.choices && !state.answered[j]) {
      stop();
      ask(j);
      return false;
    }
    setStep(j);
    return true;
  }

  function ask(j) {
    var ev = state.run.events[j], box = $("quiz");
    box.textContent = "";
    box.hidden = false;
    var q = ev.kind === "state" ? t("quizState", ev.host, ev.from) : t("quizSend", ev.host);
    box.appendChild(el("p", {}, q));
    var row = el("div", { class: "bar" });
    ev.choices.forEach(function (c) {
      var b = el("button", { type: "button" }, c);
      b.addEventListener("click", function () { answer(j, c); });
      row.appendChild(b);
    });
    box.appendChild(row);
    var first = row.querySelector("button");
    if (first) first.focus();
  }

  function answer(j, c) {
    var ev = state.run.events[j], box = $("quiz");
    state.answered[j] = true;
    var good = c === ev.answer;
    state.score[1]++;
    if (good) state.score[0]++;
    box.textContent = "";
    box.appendChild(el("p", { class: good ? "right" : "wrong" }, good ? t("right") : t("wrong", ev.answer)));
    box.appendChild(el("p", {}, ev.tip));
    box.appendChild(el("p", { class: "hint" }, t("score", state.score[0], state.score[1])));
    setStep(j);
    $("fwd").focus();
  }

  // ---- playing: one event every so often, the clock and the timers
  // running in between ----
  var raf = 0, stepStart = 0;
  function play() {
    if (!state.run) return;
    if (state.cur >= state.run.events.length - 1) setStep(-1);
    state.playing = true;
    $("play-text").textContent = t("pause");
    $("play").setAttribute("aria-label", t("pause"));
    stepStart = performance.now();
    raf = requestAnimationFrame(tick);
  }
  function stop() {
    state.playing = false;
    cancelAnimationFrame(raf);
    $("play-text").textContent = t("play");
    $("play").setAttribute("aria-label", t("play"));
  }
  var stepMs = 700;
  function tick(now) {
    if (!state.playing) return;
    var r = state.run, i = state.cur;
    if (i >= r.events.length - 1) { stop(); return; }
    var f = Math.min(1, (now - stepStart) / stepMs);
    var t0 = i >= 0 ? r.events[i].t : 0, t1 = r.events[i + 1].t;
    var extra = (t1 - t0) * f;
    $("clock").textContent = "t = " + secs(t0 + extra) + " s · " + (i >= 0 ? t("step", i + 1, r.events.length) : t("start"));
    showTimers(i, extra);
    if (f >= 1) {
      if (!forward()) return;
      stepStart = now;
    }
    raf = requestAnimationFrame(tick);
  }

  // ---- faults ----
  function addFault(f) {
    state.refocus = refocusFor(menuFor);
    closeMenu();
    state.query += "&fault=" + encodeURIComponent(f);
    writeAndRun(true);
  }
  // refocusFor names the element to focus once the run is drawn again in
  // place of el, which the new drawing replaces: the same event or host.
  function refocusFor(el) {
    if (!el || !el.getAttribute) return null;
    var box = el.closest("#events") ? "#events" : "#ladder-box";
    if (el.hasAttribute("data-ev")) return box + " [data-ev='" + el.getAttribute("data-ev") + "'][tabindex]";
    if (el.hasAttribute("data-host")) return "#ladder-box .lab-host[data-host='" + el.getAttribute("data-host") + "']";
    return null;
  }
  function restoreFocus() {
    var sel = state.refocus;
    state.refocus = null;
    if (!sel) return;
    var e = document.querySelector(sel) || document.querySelector("#fault-list button") || $("faults-h");
    if (e) e.focus({ preventScroll: false });
  }
  function writeAndRun(keep) {
    writeURL();
    run(keep);
  }
  function nowT() {
    var r = state.run;
    return state.cur >= 0 ? r.events[state.cur].t : 0;
  }
  function durOf(ns) {
    var ms = Math.round(ns / 1e6);
    return ms + "ms";
  }

  var menuFor = null, opener = null;
  // act wraps a menu button's action: a click the keyboard made while the
  // key that opened the menu is still down is not the learner's choice.
  function act(f) {
    return function (e) { if (opener && e.detail === 0) return; f(e); };
  }
  function closeMenu() {
    $("menu").hidden = true;
    if (menuFor && menuFor.focus) menuFor.focus();
    menuFor = null;
  }
  function openMenu(target, build) {
    var m = $("menu");
    m.textContent = "";
    build(m);
    m.hidden = false;
    var b = target.getBoundingClientRect();
    var x = Math.min(window.scrollX + b.left, window.scrollX + document.documentElement.clientWidth - m.offsetWidth - 8);
    m.style.left = Math.max(8, x) + "px";
    m.style.top = (window.scrollY + b.bottom + 6) + "px";
    menuFor = target;
    var first = m.querySelector("button");
    if (first) first.focus();
  }
  function segmentMenu(g, i) {
    var ev = state.run.events[i];
    openMenu(g, function (m) {
      m.appendChild(el("p", { class: "menu-tip" }, t("packet", ev.packet) + " · " + ev.tip));
      var row = el("div", { class: "row" });
      var lose = el("button", { type: "button", class: "primary", "data-act": "lose" }, t("lose"));
      lose.addEventListener("click", act(function () { addFault("lose:" + ev.packet); }));
      var dup = el("button", { type: "button", "data-act": "dup" }, t("dup"));
      dup.addEventListener("click", act(function () { addFault("dup:" + ev.packet); }));
      row.appendChild(lose); row.appendChild(dup);
      m.appendChild(row);
      var row2 = el("div", { class: "row" });
      var d = el("input", { value: state.run.explorer ? "" : "500ms", "aria-label": t("delay") });
      var delay = el("button", { type: "button", "data-act": "delay" }, t("delay"));
      var doDelay = function () { addFault("delay:" + ev.packet + ":" + (d.value.trim() || "500ms")); };
      delay.addEventListener("click", act(doDelay));
      d.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); doDelay(); } });
      row2.appendChild(delay);
      if (!state.run.explorer) row2.appendChild(d);
      m.appendChild(row2);
      var row3 = el("div", { class: "row" });
      var go = el("button", { type: "button" }, t("goto"));
      go.addEventListener("click", act(function () { closeMenu(); setStep(i); }));
      var c = el("button", { type: "button" }, t("cancel"));
      c.addEventListener("click", act(closeMenu));
      row3.appendChild(go); row3.appendChild(c);
      m.appendChild(row3);
    });
  }
  function crashMenu(target, host) {
    if (state.run.explorer) return;
    var at = nowT();
    openMenu(target, function (m) {
      var b = el("button", { type: "button", class: "primary", "data-act": "crash" }, t("crash", host, secs(at)));
      var ref = el("input", { placeholder: "10s", "aria-label": t("restart") + " (" + t("restartHint") + ")", title: t("restartHint") });
      var crash = function () {
        var f = "crash:" + host + ":" + durOf(at);
        if (ref.value.trim()) f += ":" + ref.value.trim();
        addFault(f);
      };
      b.addEventListener("click", act(crash));
      ref.addEventListener("keydown", function (e) { if (e.key === "Enter") { e.preventDefault(); crash(); } });
      var c = el("button", { type: "button" }, t("cancel"));
      c.addEventListener("click", act(closeMenu));
      var row = el("div", { class: "row" });
      row.appendChild(b); row.appendChild(c);
      m.appendChild(row);
      var row2 = el("label", { class: "row" });
      row2.appendChild(el("span", {}, t("restart")));
      row2.appendChild(ref);
      m.appendChild(row2);
      m.appendChild(el("p", { class: "hint" }, t("restartHint")));
    });
  }

  // ---- events ----
  function findEv(node) {
    while (node && node.getAttribute) {
      if (node.hasAttribute("data-ev")) return node;
      node = node.parentNode;
    }
    return null;
  }
  function findHost(node) {
    while (node && node.getAttribute) {
      if (node.hasAttribute("data-host") && node.classList && node.classList.contains("lab-host")) return node;
      node = node.parentNode;
    }
    return null;
  }
  function ladderActivate(target) {
    var h = findHost(target);
    if (h) { crashMenu(h, h.getAttribute("data-host")); return; }
    var g = findEv(target);
    if (!g) return;
    var i = +g.getAttribute("data-ev"), ev = state.run.events[i];
    if (state.mode === "predict" && i > state.cur) return;
    if (ev && ev.fault) segmentMenu(g, i);
    else {
      setStep(i);
      if (ev && ev.nofault) $("event-text").appendChild(el("p", { class: "nofault" }, ev.nofault));
    }
  }

  function bind() {
    $("settings").addEventListener("submit", function (e) { e.preventDefault(); });
    var zs = document.querySelectorAll("button.zoom");
    for (var z = 0; z < zs.length; z++) zs[z].addEventListener("click", function () { state.zoomChosen = true; setZoom(!state.actual); });
    $("ladder-box").addEventListener("click", function (e) { ladderActivate(e.target); });
    $("ladder-box").addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { opener = e.key; e.preventDefault(); e.stopPropagation(); ladderActivate(e.target); }
    });
    // The key that opened a menu, until it is released: held (or
    // repeating), it must not also press the menu's first button.
    document.addEventListener("keyup", function (e) { if (e.key === opener) opener = null; });
    $("events").addEventListener("click", function (e) { ladderActivate(e.target); });
    $("fig5-box").addEventListener("click", function (e) {
      var g = findEv(e.target);
      if (g && !(state.mode === "predict" && +g.getAttribute("data-ev") > state.cur)) { stop(); setStep(+g.getAttribute("data-ev")); }
    });
    $("events").addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { opener = e.key; e.preventDefault(); e.stopPropagation(); ladderActivate(e.target); }
    });
    $("first").addEventListener("click", function () { stop(); setStep(-1); });
    $("back").addEventListener("click", function () { stop(); if (state.cur > -1) setStep(state.cur - 1); });
    $("fwd").addEventListener("click", function () { stop(); forward(); });
    $("last").addEventListener("click", function () {
      stop();
      if (state.mode === "predict") { while (forward()) { /* asks at the next question */ } return; }
      setStep(state.run.events.length - 1);
    });
    $("play").addEventListener("click", function () { if (state.playing) stop(); else play(); });
    $("scrub").addEventListener("input", function () {
      stop();
      var v = +$("scrub").value;
      if (state.mode === "predict" && v > state.cur) { $("scrub").value = String(state.cur); forward(); return; }
      setStep(v);
    });
    $("predict").addEventListener("change", function () {
      state.mode = $("predict").checked ? "predict" : "";
      $("quiz").hidden = true;
      state.answered = {};
      setStep(state.mode === "predict" ? -1 : state.run.events.length - 1);
    });
    $("pin").addEventListener("click", function () {
      state.vs = state.vs ? "" : state.query;
      writeAndRun(true);
    });
    $("unpin").addEventListener("click", function () { state.vs = ""; writeAndRun(true); });
    $("case").addEventListener("change", function () {
      var v = $("case").value, q = new URLSearchParams(state.query), nq = new URLSearchParams(v);
      // settings go with the learner from case to case; faults do not
      if (!nq.has("replay")) {
        q.forEach(function (val, k) { if (k !== "case" && k !== "replay" && k !== "fault") nq.set(k, val); });
      }
      state.query = nq.toString();
      stop();
      $("quiz").hidden = true;
      writeAndRun(false);
    });
    ["en", "zh"].forEach(function (l) {
      $("lang-" + l).addEventListener("click", function () { setLang(l); });
    });
    $("crash-a").addEventListener("click", function () { addFault("crash:A:" + durOf(nowT())); });
    $("crash-b").addEventListener("click", function () { addFault("crash:B:" + durOf(nowT())); });
    $("cut").addEventListener("click", function () { addFault("partition:" + durOf(nowT()) + ":" + ($("cut-for").value.trim() || "3s")); });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && !$("menu").hidden) { closeMenu(); return; }
      var tag = (e.target.tagName || "").toLowerCase();
      if (tag === "input" || tag === "select" || tag === "textarea" || e.altKey || e.ctrlKey || e.metaKey) return;
      if (!$("menu").hidden) return;
      if (tag === "button" && (e.key === " " || e.key === "Enter")) return;
      switch (e.key) {
        case "ArrowRight": e.preventDefault(); stop(); forward(); break;
        case "ArrowLeft": e.preventDefault(); stop(); if (state.cur > -1) setStep(state.cur - 1); break;
        case " ": e.preventDefault(); if (state.playing) stop(); else play(); break;
        case "Home": e.preventDefault(); stop(); setStep(-1); break;
        case "End": e.preventDefault(); $("last").click(); break;
      }
    });
    document.addEventListener("click", function (e) {
      var m = $("menu");
      if (!m.hidden && !m.contains(e.target) && !findEv(e.target) && !findHost(e.target)) closeMenu();
    });
    // our tooltip: the rule behind an event, on hover
    var tip = $("tip");
    document.addEventListener("mouseover", function (e) {
      var g = findEv(e.target), text = g && g.getAttribute("data-tip");
      if (text) { tip.textContent = text; tip.hidden = false; } else tip.hidden = true;
    });
    document.addEventListener("mousemove", function (e) {
      if (tip.hidden) return;
      var x = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
      var y = e.clientY + 18;
      if (y + tip.offsetHeight > window.innerHeight - 8) y = e.clientY - tip.offsetHeight - 12;
      tip.style.left = Math.max(8, x) + "px";
      tip.style.top = Math.max(8, y) + "px";
    });
  }

  // Diagrams fit their box, or show at their own size and scroll inside
  // it: at phone width their own size is the readable one.
  function setZoom(actual) {
    state.actual = actual;
    document.body.classList.toggle("actual", actual);
    ["ladder-box", "fig5-box", "vs-ladder-box", "vs-fig5-box"].forEach(function (id) { $(id).classList.toggle("actual", actual); });
    var zs = document.querySelectorAll("button.zoom");
    for (var i = 0; i < zs.length; i++) {
      zs[i].textContent = t(actual ? "fit" : "actual");
      zs[i].setAttribute("aria-pressed", actual ? "true" : "false");
    }
  }

  // zoomNeeded shows a diagram's zoom button only where fitting it makes
  // it smaller than its own size.
  function zoomNeeded() {
    var zs = document.querySelectorAll("button.zoom");
    for (var i = 0; i < zs.length; i++) {
      var box = zs[i].closest(".card").querySelector(".scroll"), svg = box && box.querySelector("svg");
      var w = svg && svg.viewBox && svg.viewBox.baseVal ? svg.viewBox.baseVal.width : 0;
      zs[i].hidden = !(w > box.clientWidth + 1);
    }
  }

  function setLang(l) {
    state.lang = l;
    translate();
    writeURL();
    loadCases().then(function () { run(true); }, function (err) { showError(err.message); });
  }

  function translate() {
    document.documentElement.lang = state.lang === "zh" ? "zh-CN" : "en";
    document.title = "synack " + t("lab");
    var ts = document.querySelectorAll("[data-t]");
    for (var i = 0; i < ts.length; i++) ts[i].textContent = t(ts[i].getAttribute("data-t"));
    var tl = document.querySelectorAll("[data-tl]");
    for (var j = 0; j < tl.length; j++) tl[j].setAttribute("aria-label", t(tl[j].getAttribute("data-tl")));
    setZoom(state.actual);
    $("lang-en").setAttribute("aria-pressed", state.lang === "en" ? "true" : "false");
    $("lang-zh").setAttribute("aria-pressed", state.lang === "zh" ? "true" : "false");
    $("predict").checked = state.mode === "predict";
  }

  function start() {
    // until the learner chooses, the diagrams follow the width
    var narrow = window.matchMedia("(max-width: 520px)");
    state.actual = narrow.matches;
    narrow.addEventListener("change", function (e) { if (!state.zoomChosen) setZoom(e.matches); });
    window.addEventListener("resize", zoomNeeded);
    readURL();
    if (!state.query) state.query = "case=close-four-way";
    translate();
    bind();
    loadCases().then(function () { return run(false); }, function (err) { showError(err.message); });
  }
  start();
})();
