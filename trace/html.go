package trace

import (
	"fmt"
	"io"
	"strconv"
	"strings"
)

// HTML writes a report in one self-contained file — it fetches nothing,
// so it opens offline and can be mailed or attached to a bug: the
// scenario's title and description, the SVG ladder, RFC 9293's state
// diagram with the transitions this run took, and a table of every event
// with the rule behind it. Hovering an arrow, a state or a row shows its
// rule and highlights the same event in the other views; clicking jumps
// between them. The page works without its script, which only adds that.
func HTML(w io.Writer, events []Event, o Options) error {
	l := newLadder(events, o)
	o = l.o
	var b strings.Builder
	lang := "en"
	if o.Lang == "zh" {
		lang = "zh-CN"
	}
	title := o.Title
	if title == "" {
		title = o.ui("ladder")
	}
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n", lang)
	b.WriteString(`<meta name="viewport" content="width=device-width, initial-scale=1">` + "\n")
	fmt.Fprintf(&b, "<title>%s — synack</title>\n<style>\n%s</style>\n</head>\n<body>\n", esc(title), htmlCSS)

	b.WriteString("<header>\n")
	fmt.Fprintf(&b, "<h1>%s</h1>\n", esc(title))
	if o.Description != "" {
		fmt.Fprintf(&b, "<p class=\"desc\">%s</p>\n", esc(o.Description))
	}
	var chips []string
	for c, h := range l.hosts {
		chip := fmt.Sprintf(`<span class="host h%d">%s</span>`, c%len(hostColor), esc(h))
		if a := l.addr[c]; a != "" {
			chip += ` <span class="addr">` + esc(a) + `</span>`
		}
		chips = append(chips, chip)
	}
	summary := o.ui("summary")
	summary = strings.Replace(summary, "%d", strconv.Itoa(len(l.ev)), 1)
	summary = strings.Replace(summary, "%s", strings.Join(chips, " "), 1)
	summary = strings.Replace(summary, "%s", fmtTime(l.end), 1)
	fmt.Fprintf(&b, "<p class=\"meta\">%s</p>\n</header>\n<main>\n", summary)

	fmt.Fprintf(&b, "<section class=\"card\" id=\"ladder-card\">\n<h2>%s</h2>\n<p class=\"hint\">%s</p>\n<div class=\"scroll\">\n",
		esc(o.ui("ladder")), esc(o.ui("hover")))
	newSVGLadder(l, true).draw(&b)
	b.WriteString("</div>\n</section>\n")

	fmt.Fprintf(&b, "<section class=\"card\" id=\"fig5-card\">\n<h2>%s</h2>\n<p class=\"hint\">%s</p>\n<div class=\"scroll\">\n",
		esc(o.ui("fig5")), esc(o.ui("fig5.note")))
	fig5(&b, l)
	b.WriteString("</div>\n</section>\n")

	fmt.Fprintf(&b, "<section class=\"card\" id=\"events-card\">\n<h2>%s</h2>\n<div class=\"scroll\">\n<table id=\"events\">\n<thead><tr><th>#</th><th class=\"t\">%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead>\n<tbody>\n",
		esc(o.ui("events")), esc(o.ui("col.time")), esc(o.ui("col.host")), esc(o.ui("col.event")), esc(o.ui("col.details")), esc(o.ui("col.cause")))
	for i := range l.ev {
		htmlRow(&b, l, i)
	}
	b.WriteString("</tbody>\n</table>\n</div>\n</section>\n</main>\n")
	b.WriteString("<div id=\"tip\" role=\"tooltip\" hidden></div>\n<script>\n" + htmlJS + "</script>\n</body>\n</html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// htmlRow writes event i as a row of the table; its title is the rule.
func htmlRow(b *strings.Builder, l *ladder, i int) {
	o := &l.o
	e := &l.ev[i]
	kind := e.Event
	label := o.ui("kind:" + kind)
	if e.Refused() {
		kind, label = "refused", o.ui("refused")
	}
	cause := o.tr(e.Cause)
	tip := cause
	if o.Lang == "zh" && cause != e.Cause {
		tip += "\n" + e.Cause
	}
	fmt.Fprintf(b, `<tr data-ev="%d" class="k-%s"`, i, kind)
	if tip != "" {
		fmt.Fprintf(b, ` title="%s"`, esc(tip))
	}
	host := ""
	if c, ok := l.col[e.Host]; ok {
		host = fmt.Sprintf(`<span class="host h%d">%s</span>`, c%len(hostColor), esc(e.Host))
	}
	fmt.Fprintf(b, `><td class="n">%d</td><td class="t">%s</td><td>%s</td><td><span class="kind k-%s">%s</span></td><td class="d">%s</td><td class="c">`,
		i+1, fmtTime(e.T), host, kind, esc(label), htmlDetails(l, i))
	if ref, words := splitCause(cause); ref != "" {
		fmt.Fprintf(b, `<b>%s</b> %s`, esc(ref), esc(words))
	} else {
		b.WriteString(esc(words))
	}
	b.WriteString("</td></tr>\n")
}

// htmlDetails describes event i for the table.
func htmlDetails(l *ladder, i int) string {
	o := &l.o
	e := &l.ev[i]
	seg := func(from, to string) string {
		s := `<span class="dir">` + esc(from) + " → " + esc(to) + `</span> <code>` + esc(segLabel(e, false)) + " win=" + strconv.Itoa(int(e.Win)) + `</code>`
		if e.Opts != "" {
			s += ` <span class="opts">&lt;` + esc(e.Opts) + `&gt;</span>`
		}
		return s
	}
	switch e.Event {
	case KindSend, KindDup:
		s := seg(e.Host, e.Peer)
		switch a := l.arrival[i]; {
		case a >= 0 && l.ev[a].Event == KindDrop:
			s += ` <span class="bad">→ ✗ ` + fmtTime(l.ev[a].T) + `</span>`
		case a >= 0:
			s += ` <span class="muted">→ ` + fmtTime(l.ev[a].T) + `</span>`
		}
		return s
	case KindRecv:
		return seg(e.Peer, e.Host)
	case KindDrop:
		if e.Refused() {
			return seg(e.Peer, e.Host) + ` <span class="bad">✗</span>`
		}
		return seg(e.Host, e.Peer) + ` <span class="bad">✗ ` + esc(o.ui("lost")) + `</span>`
	case KindState:
		return statePill(e.From) + ` → ` + statePill(e.To)
	case KindTimer:
		return `<span class="clock"></span>` + esc(o.timerText(e))
	case KindUser:
		return `<code>` + esc(o.userCall(e)) + `</code>`
	case KindNote:
		return `<i>` + esc(e.Text) + `</i>`
	}
	return esc(o.tr(e.Text))
}

func statePill(s string) string {
	return `<span class="st p-` + phase(s) + `">` + esc(s) + `</span>`
}

// htmlCSS styles the report; state and host colours match the SVG.
var htmlCSS = func() string {
	var b strings.Builder
	b.WriteString(`:root{color-scheme:light}
*{box-sizing:border-box}
body{margin:0;background:#f6f7fb;color:#0f172a;font:14px/1.5 ` + svgFont + `}
header{padding:28px 40px 6px;max-width:1480px;margin:0 auto}
h1{font-size:27px;line-height:1.2;margin:0 0 8px;letter-spacing:-.01em}
.desc{font-size:15.5px;color:#334155;margin:0 0 10px;max-width:90ch}
.meta{font-size:13px;color:#64748b;margin:0}
.meta .addr{font-family:` + svgMono + `;font-size:12px}
main{padding:14px 40px 48px;max-width:1480px;margin:0 auto;display:grid;gap:22px}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:14px;box-shadow:0 1px 2px rgba(15,23,42,.04),0 6px 20px rgba(15,23,42,.05);padding:18px 22px 20px;min-width:0}
.card h2{font-size:17px;margin:0 0 2px;font-weight:650}
.hint{font-size:12.5px;color:#64748b;margin:0 0 12px}
.scroll{overflow-x:auto}
.card svg{display:block;max-width:100%;height:auto;margin:0 auto}
#fig5{max-width:900px}
table{border-collapse:separate;border-spacing:0;width:100%;font-size:13px}
th{position:sticky;top:0;background:#f1f5f9;text-align:left;font-weight:600;color:#334155;padding:7px 10px;border-bottom:1px solid #e2e8f0;white-space:nowrap}
td{padding:5px 10px;border-bottom:1px solid #f1f5f9;vertical-align:top}
tbody tr:hover,tbody tr.on{background:#eff6ff}
td.n{color:#94a3b8;text-align:right;font-variant-numeric:tabular-nums}
td.t,th.t{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap;color:#475569}
td.d code{font-family:` + svgMono + `;font-size:12.5px}
td.c{color:#475569;font-size:12.5px;max-width:46ch}
td.c b{color:#1e293b;font-weight:600;white-space:nowrap}
.dir{color:#64748b;white-space:nowrap}
.opts{color:#94a3b8;font-size:11.5px}
.muted{color:#94a3b8}
.bad{color:#dc2626;font-weight:700}
.host{display:inline-block;min-width:22px;text-align:center;font-weight:700;border-radius:6px;padding:0 6px;border:1px solid}
.kind{display:inline-block;border-radius:999px;padding:0 9px;font-size:12px;font-weight:600;white-space:nowrap}
.kind.k-send{background:#e0e7ff;color:#3730a3}
.kind.k-recv{background:#f1f5f9;color:#475569}
.kind.k-drop{background:#fee2e2;color:#b91c1c}
.kind.k-refused{background:#fee2e2;color:#b91c1c}
.kind.k-dup{background:#fef3c7;color:#92400e}
.kind.k-state{background:#ede9fe;color:#5b21b6}
.kind.k-timer{background:#ffedd5;color:#9a3412}
.kind.k-user{background:#dcfce7;color:#166534}
.kind.k-note{background:#fef9c3;color:#854d0e}
.kind.k-host{background:#fee2e2;color:#991b1b}
tr.k-recv td.d{color:#64748b}
tr.k-drop td.d,tr.k-refused td.d{color:#991b1b}
.st{display:inline-block;border-radius:999px;padding:0 8px;font-size:12px;font-weight:700;border:1px solid}
#tip{position:fixed;z-index:10;max-width:440px;background:#0f172a;color:#f8fafc;font-size:12.5px;line-height:1.45;padding:8px 11px;border-radius:8px;box-shadow:0 8px 24px rgba(15,23,42,.25);pointer-events:none;white-space:pre-line}
#tip[hidden]{display:none}
.lad-hit{cursor:pointer}
.clock{display:inline-block;width:11px;height:11px;border:1.5px solid #b45309;border-radius:50%;margin-right:6px;vertical-align:-1px;background:linear-gradient(#b45309,#b45309) 4px 1.5px/1.5px 4px no-repeat}
`)
	for c := range hostColor {
		fmt.Fprintf(&b, ".host.h%d{color:%s;background:%s;border-color:%s}\n", c, hostColor[c], hostTint[c], hostColor[c])
	}
	for _, p := range []string{"closed", "listen", "open", "estab", "active", "passive", "tw"} {
		pc := phaseColors[p]
		fmt.Fprintf(&b, ".st.p-%s{color:%s;background:%s;border-color:%s}\n", p, pc.ink, pc.tint, pc.band)
	}
	b.WriteString("@media (max-width:800px){header,main{padding-left:14px;padding-right:14px}}\n")
	return b.String()
}()

// htmlJS links the views: hovering an event in the ladder, the state
// diagram or the table highlights it in all of them and shows its rule;
// clicking jumps to it in the other view. It only reads the page.
const htmlJS = `(function () {
  "use strict";
  var tip = document.getElementById("tip");
  var rows = {}, marks = {};
  var trs = document.querySelectorAll("#events tr[data-ev]");
  for (var i = 0; i < trs.length; i++) rows[trs[i].getAttribute("data-ev")] = trs[i];
  var gs = document.querySelectorAll("svg [data-ev]");
  for (var j = 0; j < gs.length; j++) {
    var g = gs[j], k = g.getAttribute("data-ev");
    (marks[k] = marks[k] || []).push(g);
    var t = g.querySelector("title");
    if (t) { g.setAttribute("data-tip", t.textContent); t.parentNode.removeChild(t); }
  }
  function mark(k, on) {
    if (rows[k]) rows[k].classList.toggle("on", on);
    var m = marks[k] || [];
    for (var i = 0; i < m.length; i++) m[i].classList.toggle("lad-on", on);
  }
  function find(el) {
    while (el && el.getAttribute) {
      if (el.hasAttribute("data-ev")) return el;
      el = el.parentNode;
    }
    return null;
  }
  var cur = null;
  document.addEventListener("mouseover", function (ev) {
    var el = find(ev.target), k = el ? el.getAttribute("data-ev") : null;
    if (k !== cur) {
      if (cur !== null) mark(cur, false);
      cur = k;
      if (k !== null) mark(k, true);
    }
    var text = el ? el.getAttribute("data-tip") : null;
    if (!tip) return;
    if (text) { tip.textContent = text; tip.hidden = false; } else { tip.hidden = true; }
  });
  document.addEventListener("mousemove", function (ev) {
    if (!tip || tip.hidden) return;
    var x = Math.min(ev.clientX + 14, window.innerWidth - tip.offsetWidth - 8);
    var y = ev.clientY + 18;
    if (y + tip.offsetHeight > window.innerHeight - 8) y = ev.clientY - tip.offsetHeight - 12;
    tip.style.left = Math.max(8, x) + "px";
    tip.style.top = Math.max(8, y) + "px";
  });
  document.addEventListener("click", function (ev) {
    var el = find(ev.target);
    if (!el) return;
    var k = el.getAttribute("data-ev");
    var to = el.tagName === "TR" ? (marks[k] || [])[0] : rows[k];
    if (to && to.scrollIntoView) to.scrollIntoView({ block: "center", behavior: "smooth" });
  });
})();
`
