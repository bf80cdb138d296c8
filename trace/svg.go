package trace

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SVG writes the trace as a ladder diagram: a vertical timeline per host,
// coloured by the host's state, each segment an arrow slanting from its
// sending to its arrival, lost segments ending in a cross where the
// network dropped them. State changes, timers and the applications' calls
// are labelled beside their host's timeline; hovering any of them shows
// the rule (cause) behind it. Events at one instant are stacked, and the
// time scale is compressed: a long quiet stretch such as TIME-WAIT's 2MSL
// is drawn as a short break marked with its length, so the exchange that
// matters stays readable.
func SVG(w io.Writer, events []Event, o Options) error {
	var b strings.Builder
	newSVGLadder(newLadder(events, o), false).draw(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

// Geometry of the SVG ladder, in px.
const (
	svgAxis   = 78.0  // time axis, left
	svgZone   = 270.0 // labels beside an outer timeline
	svgSpan   = 430.0 // between two timelines
	svgRow    = 23.0  // one event's row
	svgMargin = 22.0
	svgGapH   = 58.0 // a compressed quiet stretch
	svgFont   = `system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif`
	svgMono   = `ui-monospace, "SF Mono", Menlo, Consolas, "Noto Sans Mono CJK SC", monospace`
)

// Colours: one per host for its segments, and one per state phase.
var (
	hostColor = []string{"#2563eb", "#db2777", "#059669", "#d97706", "#7c3aed"}
	hostTint  = []string{"#eff6ff", "#fdf2f8", "#ecfdf5", "#fffbeb", "#f5f3ff"}
)

type phaseColor struct{ band, tint, ink string }

var phaseColors = map[string]phaseColor{
	"closed":  {"#cbd5e1", "#f8fafc", "#475569"},
	"listen":  {"#94a3b8", "#f1f5f9", "#334155"},
	"open":    {"#38bdf8", "#e0f2fe", "#075985"},
	"estab":   {"#22c55e", "#dcfce7", "#166534"},
	"active":  {"#f59e0b", "#fef3c7", "#92400e"},
	"passive": {"#14b8a6", "#ccfbf1", "#115e59"},
	"tw":      {"#8b5cf6", "#ede9fe", "#5b21b6"},
}

const (
	colLost  = "#dc2626"
	colDup   = "#d97706"
	colTimer = "#b45309"
	colApp   = "#15803d"
	colMuted = "#64748b"
)

type gapMark struct {
	y0, y1 float64
	d      time.Duration
}

type svgLadder struct {
	l      *ladder
	o      *Options
	inHTML bool // ids and data attributes for the report's script; no header

	x         []float64
	w, h      float64
	head      float64   // bottom of the header
	top, bot  float64   // the timelines' extent
	rowY      []float64 // each event's row centre; -1 without a row
	groupY    []float64 // first row of each instant, for the axis
	groupT    []time.Duration
	gaps      []gapMark
	frac      []float64 // where along an arrow its label sits
	legendTop float64
}

func newSVGLadder(l *ladder, inHTML bool) *svgLadder {
	s := &svgLadder{l: l, o: &l.o, inHTML: inHTML}
	n := len(l.hosts)
	s.x = make([]float64, n)
	for c := range s.x {
		s.x[c] = svgAxis + svgZone + float64(c)*svgSpan
	}
	last := svgAxis + svgZone
	if n > 0 {
		last = s.x[n-1]
	}
	s.w = last + svgZone + svgMargin
	s.layoutHeader()
	s.layoutRows()
	s.layoutLabels()
	return s
}

func (s *svgLadder) descLines() []string {
	if s.inHTML || s.o.Description == "" {
		return nil
	}
	return wrapPx(s.o.Description, s.w-2*svgMargin, 13.5)
}

func (s *svgLadder) layoutHeader() {
	y := svgMargin
	if !s.inHTML {
		if s.o.Title != "" {
			y += 30
		}
		y += 19 * float64(len(s.descLines()))
		if s.o.Title != "" || s.o.Description != "" {
			y += 14
		}
	}
	s.head = y
	s.top = y + 50 + 34 // host boxes, then the initial states
}

// gapPx is how far apart two instants are drawn: about logarithmic in
// the time between them (10 ms and 1 s both stay readable), and a fixed
// break for quiet stretches of 3 s or more.
func gapPx(d time.Duration) (px float64, broken bool) {
	if d <= 0 {
		return 0, false
	}
	if d >= 3*time.Second {
		return svgGapH, true
	}
	ms := float64(d) / float64(time.Millisecond)
	return math.Min(22*math.Log2(1+ms/4), 100), false
}

// rowHost is the column an event's row belongs to: the receiver's for
// an arrival, the sender's for a segment leaving.
func (s *svgLadder) rowHost(i int) (int, bool) {
	l := s.l
	e := &l.ev[i]
	if l.lostWith(i) {
		return 0, false // drawn by its send's arrow
	}
	if e.Event == KindDrop && !e.Refused() && l.origin[i] >= 0 {
		c, ok := l.col[e.Peer]
		return c, ok
	}
	c, ok := l.col[e.Host]
	return c, ok
}

func (s *svgLadder) layoutRows() {
	l := s.l
	n := len(l.hosts)
	s.rowY = make([]float64, len(l.ev))
	rowIdx := make([]int, len(l.ev))
	y := s.top + 8
	for i := 0; i < len(l.ev); {
		t := l.ev[i].T
		j := i
		for j < len(l.ev) && l.ev[j].T == t {
			j++
		}
		k := make([]int, max(n, 1))
		for m := i; m < j; m++ {
			s.rowY[m], rowIdx[m] = -1, -1
			e := &l.ev[m]
			if e.Event == KindNote && !e.HostNote() {
				top := 0
				for _, v := range k {
					top = max(top, v)
				}
				rowIdx[m] = top
				for c := range k {
					k[c] = top + 1
				}
				continue
			}
			c, ok := s.rowHost(m)
			if !ok {
				continue
			}
			if o := l.origin[m]; o >= i && rowIdx[o] >= 0 {
				k[c] = max(k[c], rowIdx[o]+1)
			}
			rowIdx[m] = k[c]
			k[c]++
		}
		rows := 0
		for _, v := range k {
			rows = max(rows, v)
		}
		for m := i; m < j; m++ {
			if rowIdx[m] >= 0 {
				s.rowY[m] = y + float64(rowIdx[m])*svgRow + svgRow/2
			}
		}
		s.groupY = append(s.groupY, y+svgRow/2)
		s.groupT = append(s.groupT, t)
		used := float64(rows)*svgRow + 8
		if j < len(l.ev) {
			adv, broken := gapPx(l.ev[j].T - t)
			if broken {
				s.gaps = append(s.gaps, gapMark{y + used, y + used + svgGapH, l.ev[j].T - t})
				y += used + svgGapH
			} else {
				y += math.Max(used, adv)
			}
		} else {
			y += used
		}
		i = j
	}
	s.bot = y + 14
	s.legendTop = s.bot + 40
	s.h = s.flowLegend(nil, false) + 4
}

// layoutLabels places each arrow's label: at the middle, or nearer its
// sender when an arrow the other way crosses it (both sides sending at
// once), so the two labels do not overprint.
func (s *svgLadder) layoutLabels() {
	l := s.l
	s.frac = make([]float64, len(l.ev))
	type span struct {
		i      int
		dir    int
		y0, y1 float64
	}
	var spans []span
	for i := range l.ev {
		s.frac[i] = 0.5
		if x0, y0, x1, y1, ok := s.arrow(i); ok {
			d := 1
			if x1 < x0 {
				d = -1
			}
			spans = append(spans, span{i, d, y0, y1})
		}
	}
	slices.SortStableFunc(spans, func(p, q span) int { return cmp.Compare(p.y0, q.y0) })
	for a := range spans {
		for b := a + 1; b < len(spans) && spans[b].y0 < spans[a].y1; b++ {
			if spans[a].dir != spans[b].dir {
				s.frac[spans[a].i], s.frac[spans[b].i] = 0.3, 0.3
			}
		}
	}
}

// arrow returns where the arrow for event i starts and ends, if it has
// one: a send or duplicate to its arrival, a segment lost by the network
// part of the way, an arrival whose sending was not recorded from a
// little way off.
func (s *svgLadder) arrow(i int) (x0, y0, x1, y1 float64, ok bool) {
	l := s.l
	e := &l.ev[i]
	if s.rowY[i] < 0 {
		return
	}
	switch {
	case e.Event == KindSend || e.Event == KindDup:
		cs, ok1 := l.col[e.Host]
		cr, ok2 := l.col[e.Peer]
		if !ok1 || !ok2 || cs == cr {
			return
		}
		x0, y0, x1 = s.x[cs], s.rowY[i], s.x[cr]
		switch a := l.arrival[i]; {
		case l.lostOnTheWay(i): // part of the way, as a drop with no send
			return x0, y0, x0 + 0.58*(x1-x0), y0 + 1.2*svgRow, true
		case a >= 0 && s.rowY[a] >= 0:
			y1 = s.rowY[a]
		case e.Delay > 0: // still in flight when the trace ends
			y1 = math.Max(s.yAt(e.T+e.Delay), y0+svgRow)
		default:
			y1 = y0 + 2*svgRow
		}
		return x0, y0, x1, y1, true
	case e.Event == KindDrop && !e.Refused() && l.origin[i] < 0:
		cs, ok1 := l.col[e.Host]
		cr, ok2 := l.col[e.Peer]
		if !ok1 || !ok2 || cs == cr {
			return
		}
		x0, y0 = s.x[cs], s.rowY[i]
		return x0, y0, x0 + 0.58*(s.x[cr]-x0), y0 + 1.2*svgRow, true
	case e.Event == KindRecv && l.origin[i] < 0:
		cs, ok1 := l.col[e.Peer]
		cr, ok2 := l.col[e.Host]
		if !ok1 || !ok2 || cs == cr {
			return
		}
		x1, y1 = s.x[cr], s.rowY[i]
		return x1 + 0.3*(s.x[cs]-x1), y1 - svgRow, x1, y1, true
	}
	return
}

// yAt is where time t is drawn: at the first instant drawn at or after
// it, or at the end of the timelines.
func (s *svgLadder) yAt(t time.Duration) float64 {
	k, _ := slices.BinarySearch(s.groupT, t)
	if k < len(s.groupY) {
		return s.groupY[k]
	}
	return s.bot - 4
}

// side is -1 when host c's labels go left of its timeline (the first
// host), else +1.
func (s *svgLadder) side(c int) float64 {
	if c == 0 && len(s.x) > 1 {
		return -1
	}
	return 1
}

func (s *svgLadder) draw(b *strings.Builder) {
	o := s.o
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s" font-family="%s" font-size="12" role="img"`,
		num(s.w), num(s.h), num(s.w), num(s.h), esc(svgFont))
	if s.inHTML {
		b.WriteString(` class="lad" id="ladder"`)
	}
	b.WriteString(">\n")
	title := o.Title
	if title == "" {
		title = o.ui("ladder")
	}
	fmt.Fprintf(b, "<title>%s</title>\n", esc(title))
	b.WriteString(`<style>
.lad-seg text{font-family:` + esc(svgMono) + `;font-size:11.5px;paint-order:stroke;stroke:#fff;stroke-width:4px;stroke-linejoin:round}
.lad-lbl{font-size:12px}
.lad-ref{font-size:10.5px;fill:#94a3b8}
.lad-axis{font-size:11px;fill:#64748b;font-variant-numeric:tabular-nums}
.lad-hit{cursor:help}
.lad-hit:hover .lad-line{stroke-width:3.2px}
.lad-on .lad-line{stroke-width:3.6px}
.lad-on text{font-weight:700}
</style>
`)
	fmt.Fprintf(b, `<rect width="%s" height="%s" fill="#ffffff"/>`+"\n", num(s.w), num(s.h))
	s.drawHeader(b)
	s.drawAxis(b)
	s.drawBands(b)
	s.drawGaps(b)
	s.drawHosts(b)
	for i := range s.l.ev {
		s.drawEvent(b, i)
	}
	s.drawLegend(b)
	b.WriteString("</svg>\n")
}

func (s *svgLadder) drawHeader(b *strings.Builder) {
	o := s.o
	if s.inHTML {
		return
	}
	y := svgMargin
	if o.Title != "" {
		y += 22
		fmt.Fprintf(b, `<text x="%s" y="%s" font-size="21" font-weight="700" fill="#0f172a">%s</text>`+"\n", num(svgMargin), num(y), esc(o.Title))
		y += 8
	}
	for _, line := range s.descLines() {
		y += 19
		fmt.Fprintf(b, `<text x="%s" y="%s" font-size="13.5" fill="#475569">%s</text>`+"\n", num(svgMargin), num(y), esc(line))
	}
}

func (s *svgLadder) drawHosts(b *strings.Builder) {
	l := s.l
	y := s.head
	for c, h := range l.hosts {
		x := s.x[c]
		col, tint := hostColor[c%len(hostColor)], hostTint[c%len(hostTint)]
		fmt.Fprintf(b, `<g><rect x="%s" y="%s" width="140" height="48" rx="10" fill="%s" stroke="%s" stroke-width="1.5"/>`,
			num(x-70), num(y), tint, col)
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle" font-size="18" font-weight="700" fill="%s">%s</text>`,
			num(x), num(y+22), col, esc(h))
		if a := l.addr[c]; a != "" {
			fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle" font-size="11" fill="%s">%s</text>`, num(x), num(y+39), colMuted, esc(a))
		}
		b.WriteString("</g>\n")
		s.pill(b, c, s.top-12, l.initial[c], "", -1)
	}
}

// drawAxis writes the time of each instant on the left, with a faint
// guide across the ladder.
func (s *svgLadder) drawAxis(b *strings.Builder) {
	last := -100.0
	for k, y := range s.groupY {
		if y-last < 14 {
			continue
		}
		last = y
		fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#f1f5f9"/>`, num(svgAxis-4), num(y), num(s.w-svgMargin), num(y))
		fmt.Fprintf(b, `<text class="lad-axis" x="%s" y="%s" text-anchor="end">%s</text>`+"\n", num(svgAxis-10), num(y+4), fmtTime(s.groupT[k]))
	}
	fmt.Fprintf(b, `<text class="lad-axis" x="%s" y="%s" text-anchor="end" font-weight="600">%s</text>`+"\n", num(svgAxis-10), num(s.top-8), esc(s.o.ui("time")))
}

// drawBands draws each host's timeline in the colour of its state.
func (s *svgLadder) drawBands(b *strings.Builder) {
	l := s.l
	for c := range l.hosts {
		x := s.x[c]
		state, from := l.initial[c], s.top
		band := func(to float64) {
			if to <= from {
				return
			}
			fmt.Fprintf(b, `<g><title>%s: %s</title>`, esc(l.hosts[c]), esc(state))
			if p := phase(state); p == "closed" {
				fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2" stroke-dasharray="3 4"/>`,
					num(x), num(from), num(x), num(to), phaseColors[p].band)
			} else {
				fmt.Fprintf(b, `<rect x="%s" y="%s" width="8" height="%s" rx="4" fill="%s"/>`,
					num(x-4), num(from), num(to-from), phaseColors[p].band)
			}
			b.WriteString("</g>\n")
		}
		for i := range l.ev {
			e := &l.ev[i]
			if e.Event != KindState || l.col[e.Host] != c || s.rowY[i] < 0 {
				continue
			}
			band(s.rowY[i])
			state, from = e.To, s.rowY[i]
		}
		band(s.bot)
	}
}

// drawGaps breaks the timelines where quiet time was left out.
func (s *svgLadder) drawGaps(b *strings.Builder) {
	for _, g := range s.gaps {
		mid := (g.y0 + g.y1) / 2
		fmt.Fprintf(b, `<rect x="%s" y="%s" width="%s" height="%s" fill="#ffffff"/>`, num(svgAxis-40), num(mid-9), num(s.w-svgAxis+40-svgMargin), "18")
		for _, x := range append([]float64{svgAxis - 22}, s.x...) {
			for _, dy := range []float64{-6, 3} {
				fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#94a3b8" stroke-width="1.5"/>`,
					num(x-9), num(mid+dy+4), num(x+9), num(mid+dy-2))
			}
		}
		label := strings.Replace(s.o.ui("gap"), "%s", fmtTime(g.d), 1)
		cx := svgAxis + svgZone
		if n := len(s.x); n > 1 {
			cx = (s.x[0] + s.x[n-1]) / 2
		}
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle" font-size="12" font-style="italic" fill="%s">⋯ %s ⋯</text>`+"\n",
			num(cx), num(mid+4), colMuted, esc(label))
	}
}

// attrs are an event group's attributes: its index for the report's
// script, and the hover class.
func (s *svgLadder) attrs(i int) string {
	if s.inHTML {
		return fmt.Sprintf(` class="lad-hit" data-ev="%d"`, i)
	}
	return ` class="lad-hit"`
}

// tip is an event's hover text: what happened, when, and the rule.
func (s *svgLadder) tip(i int) string {
	l, o := s.l, s.o
	e := &l.ev[i]
	var t strings.Builder
	t.WriteString(fmtTime(e.T) + " s  ")
	switch e.Event {
	case KindSend, KindDup, KindRecv, KindDrop:
		from, to := e.Host, e.Peer
		if e.Event == KindRecv || e.Refused() {
			from, to = e.Peer, e.Host
		}
		t.WriteString(from + " → " + to)
		t.WriteString("  " + segLabel(e, false) + " win=" + strconv.Itoa(int(e.Win)))
		if e.Opts != "" {
			t.WriteString(" <" + e.Opts + ">")
		}
		switch a := l.arrival[i]; {
		case a >= 0 && l.ev[a].Event == KindDrop:
			t.WriteString("\n" + fmtTime(l.ev[a].T) + " " + o.ui("lost:") + o.tr(l.ev[a].Cause))
		case a >= 0:
			t.WriteString("\n" + o.ui("arrives") + fmtTime(e.T) + " → " + fmtTime(l.ev[a].T))
		}
	case KindState:
		t.WriteString(e.From + " → " + e.To)
	case KindTimer:
		t.WriteString(o.ui("kind:timer") + ": " + o.timerText(e))
	case KindUser:
		t.WriteString(o.userText(e))
	default:
		t.WriteString(o.tr(e.Text))
	}
	if e.Cause != "" {
		t.WriteString("\n" + o.tr(e.Cause))
		if o.Lang == "zh" && o.tr(e.Cause) != e.Cause {
			t.WriteString("\n" + e.Cause)
		}
	}
	if e.Refused() {
		t.WriteString("\n" + o.tr(e.Text))
	}
	return t.String()
}

func (s *svgLadder) drawEvent(b *strings.Builder, i int) {
	l, o := s.l, s.o
	e := &l.ev[i]
	y := s.rowY[i]
	if y < 0 {
		return
	}
	if e.Event == KindNote && !e.HostNote() {
		s.drawNote(b, i)
		return
	}
	c, ok := s.rowHost(i)
	if !ok {
		return
	}
	x, side := s.x[c], s.side(c)
	switch e.Event {
	case KindSend, KindDup:
		s.drawArrow(b, i)
	case KindRecv:
		if l.origin[i] < 0 {
			s.drawArrow(b, i)
		}
	case KindDrop:
		switch {
		case e.Refused():
			fmt.Fprintf(b, `<g%s><title>%s</title>`, s.attrs(i), esc(s.tip(i)))
			cross(b, x, y, 5.5, colLost, 2.6)
			ref, words := splitCause(o.tr(e.Cause))
			s.label(b, x+side*16, y, side, o.ui("refused")+": "+words, colLost, "600", compactRef(ref))
			b.WriteString("</g>\n")
		case l.origin[i] < 0:
			s.drawArrow(b, i)
		}
	case KindState:
		s.pill(b, c, y, e.To, compactRef(firstRef(o.tr(e.Cause))), i)
	case KindTimer:
		fmt.Fprintf(b, `<g%s><title>%s</title>`, s.attrs(i), esc(s.tip(i)))
		fill := "#ffffff"
		weight := "400"
		if e.Action == "fire" {
			fill = "#fde68a"
			if e.Timer != "delayed-ack" {
				weight = "700" // a timer that changes what happens next
			}
		}
		fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="6.5" fill="%s" stroke="%s" stroke-width="1.5"/>`, num(x), num(y), fill, colTimer)
		fmt.Fprintf(b, `<path d="M%s %sv-4M%s %sh3" stroke="%s" stroke-width="1.3" stroke-linecap="round" fill="none"/>`,
			num(x), num(y), num(x), num(y), colTimer)
		s.label(b, x+side*16, y, side, o.timerText(e), colTimer, weight, "")
		b.WriteString("</g>\n")
	case KindUser:
		fmt.Fprintf(b, `<g%s><title>%s</title>`, s.attrs(i), esc(s.tip(i)))
		col, weight := colApp, "500"
		if e.Err != "" && e.Err != "EOF" || e.Call == "error" {
			col, weight = colLost, "700"
		}
		fmt.Fprintf(b, `<rect x="%s" y="%s" width="7" height="7" rx="1.5" fill="%s"/>`, num(x-3.5), num(y-3.5), col)
		s.label(b, x+side*16, y, side, o.userText(e), col, weight, "")
		b.WriteString("</g>\n")
	case KindNote: // a host's note (HostNote)
		fmt.Fprintf(b, `<g%s><title>%s</title>`, s.attrs(i), esc(s.tip(i)))
		fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="4" fill="#fffbeb" stroke="#b45309" stroke-width="1.5"/>`, num(x), num(y))
		s.label(b, x+side*16, y, side, "⟲ "+o.tr(e.Text), "#78350f", "500", compactRef(firstRef(o.tr(e.Cause))))
		b.WriteString("</g>\n")
	case KindHost:
		fmt.Fprintf(b, `<g%s><title>%s</title>`, s.attrs(i), esc(s.tip(i)))
		fmt.Fprintf(b, `<rect x="%s" y="%s" width="28" height="5" rx="2" fill="%s"/>`, num(x-14), num(y-2.5), colLost)
		s.label(b, x+side*20, y, side, "■ "+o.tr(e.Text), colLost, "700", "")
		b.WriteString("</g>\n")
	}
}

// firstRef is the RFC reference at the start of a cause, or "".
func firstRef(cause string) string {
	ref, _ := splitCause(cause)
	return ref
}

// compactRef shortens "RFC 9293 §3.10.7.4" to "§3.10.7.4": RFC 9293 is
// the default.
func compactRef(ref string) string {
	return strings.Replace(ref, "RFC 9293 §", "§", 1)
}

// label writes text beside a timeline, pointing away from it, cut to fit
// the zone; ref, if any, follows on the outside in grey, in the same text
// element so the browser, not an estimate, spaces the two.
func (s *svgLadder) label(b *strings.Builder, x, y, side float64, text, fill, weight, ref string) {
	room := svgZone - 34
	if side > 0 && len(s.x) > 1 {
		room = math.Min(room, svgSpan-40)
	}
	if ref != "" {
		room -= estWidth(ref, 10.5) + 10
	}
	size := 12.0
	if weight >= "600" {
		size = 13 // bold runs wider
	}
	text = truncatePx(text, room, size)
	anchor := "start"
	if side < 0 {
		anchor = "end"
	}
	fmt.Fprintf(b, `<text class="lad-lbl" x="%s" y="%s" text-anchor="%s" fill="%s" font-weight="%s">`, num(x), num(y+4), anchor, fill, weight)
	refSpan := `<tspan class="lad-ref" font-weight="400">` + esc(ref) + `</tspan>`
	switch {
	case ref == "":
		b.WriteString(esc(text))
	case side < 0:
		b.WriteString(refSpan + `<tspan dx="8">` + esc(text) + `</tspan>`)
	default:
		b.WriteString(esc(text) + `<tspan dx="8" class="lad-ref" font-weight="400">` + esc(ref) + `</tspan>`)
	}
	b.WriteString("</text>")
}

// pill labels a state beside host c's timeline at y, with a dot on the
// timeline where the state begins and the rule's reference in grey.
func (s *svgLadder) pill(b *strings.Builder, c int, y float64, state, ref string, i int) {
	x, side := s.x[c], s.side(c)
	pc := phaseColors[phase(state)]
	w := estWidth(state, 12)*1.06 + 18
	x0 := x + 15
	if side < 0 {
		x0 = x - 15 - w
	}
	if i >= 0 {
		fmt.Fprintf(b, `<g%s><title>%s</title>`, s.attrs(i), esc(s.tip(i)))
		fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="4.5" fill="#ffffff" stroke="%s" stroke-width="2"/>`, num(x), num(y), pc.band)
	} else {
		fmt.Fprintf(b, `<g><title>%s: %s</title>`, esc(s.l.hosts[c]), esc(state))
	}
	fmt.Fprintf(b, `<rect x="%s" y="%s" width="%s" height="19" rx="9.5" fill="%s" stroke="%s"/>`,
		num(x0), num(y-9.5), num(w), pc.tint, pc.band)
	fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle" font-size="12" font-weight="700" fill="%s">%s</text>`,
		num(x0+w/2), num(y+4), pc.ink, esc(state))
	if ref != "" {
		rx, anchor := x0+w+7, "start"
		if side < 0 {
			rx, anchor = x0-7, "end"
		}
		fmt.Fprintf(b, `<text class="lad-ref" x="%s" y="%s" text-anchor="%s">%s</text>`, num(rx), num(y+4), anchor, esc(ref))
	}
	b.WriteString("</g>\n")
}

func (s *svgLadder) drawNote(b *strings.Builder, i int) {
	e := &s.l.ev[i]
	y := s.rowY[i]
	x0, x1 := svgAxis+20, s.w-svgMargin-10
	text := truncatePx(e.Text, x1-x0-30, 12.5)
	fmt.Fprintf(b, `<g%s><title>%s</title><rect x="%s" y="%s" width="%s" height="19" rx="6" fill="#fffbeb" stroke="#fde68a"/>`,
		s.attrs(i), esc(s.tip(i)), num(x0), num(y-9.5), num(x1-x0))
	fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle" font-size="12.5" font-style="italic" fill="#78350f">%s</text></g>`+"\n",
		num((x0+x1)/2), num(y+4.5), esc(text))
}

// drawArrow draws event i's segment: its line, its head (or a cross
// where it was lost), and its label along the line.
func (s *svgLadder) drawArrow(b *strings.Builder, i int) {
	l, o := s.l, s.o
	e := &l.ev[i]
	x0, y0, x1, y1, ok := s.arrow(i)
	if !ok {
		return
	}
	sender := l.col[e.Host]
	if e.Event == KindRecv {
		sender = l.col[e.Peer]
	}
	col := hostColor[sender%len(hostColor)]
	dash := ""
	lost := e.Event == KindDrop
	late := false // the copy reached a host that was down
	if a := l.arrival[i]; a >= 0 && l.ev[a].Event == KindDrop {
		lost, late = l.lostOnTheWay(i), !l.lostOnTheWay(i)
	}
	if e.Event == KindDup {
		col, dash = colDup, ` stroke-dasharray="7 4"`
	}
	if e.Event == KindRecv {
		dash = ` stroke-dasharray="2 3"`
	}
	fmt.Fprintf(b, `<g class="lad-seg lad-hit"%s><title>%s</title>`, strings.TrimPrefix(s.attrs(i), ` class="lad-hit"`), esc(s.tip(i)))
	dir := 1.0
	if x1 < x0 {
		dir = -1
	}
	sx0 := x0 + dir*6
	ex1 := x1 - dir*6
	if lost {
		ex1 = x1
	}
	ang := math.Atan2(y1-y0, ex1-sx0)
	fmt.Fprintf(b, `<line class="lad-line" x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2"%s/>`,
		num(sx0), num(y0), num(ex1-math.Cos(ang)*6), num(y1-math.Sin(ang)*6), col, dash)
	switch {
	case lost || late:
		cross(b, ex1, y1, 7, colLost, 3)
		reason := o.ui("lost:") + o.tr(e.Cause)
		if a := l.arrival[i]; a >= 0 {
			reason = o.ui("lost:") + o.tr(l.ev[l.arrival[i]].Cause)
		}
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle" font-size="11.5" font-weight="600" fill="%s">%s</text>`,
			num(ex1), num(y1+20), colLost, esc(truncatePx(reason, svgSpan*0.8, 11.5)))
	default:
		// the head: a filled triangle pointing along the line
		hx, hy := ex1, y1
		l1x, l1y := hx-11*math.Cos(ang-0.38), hy-11*math.Sin(ang-0.38)
		l2x, l2y := hx-11*math.Cos(ang+0.38), hy-11*math.Sin(ang+0.38)
		fmt.Fprintf(b, `<path d="M%s %sL%s %sL%s %sZ" fill="%s"/>`, num(hx), num(hy), num(l1x), num(l1y), num(l2x), num(l2y), col)
	}
	// label along the line, upright, above it
	f := s.frac[i]
	if lost {
		f = 0.5
	}
	px, py := sx0+(ex1-sx0)*f, y0+(y1-y0)*f
	deg := math.Atan((y1-y0)/(ex1-sx0)) * 180 / math.Pi
	label := segLabel(e, true)
	if e.Event == KindDup {
		label = o.ui("dup") + " " + label
	}
	label = truncatePx(label, math.Abs(ex1-sx0)*0.9, 11.5)
	fill := col
	fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle" fill="%s" transform="rotate(%s %s %s)">%s</text>`,
		num(px), num(py-6), fill, num(deg), num(px), num(py), esc(label))
	b.WriteString("</g>\n")
}

// cross draws an ✗ centred on (x, y).
func cross(b *strings.Builder, x, y, r float64, col string, w float64) {
	fmt.Fprintf(b, `<path d="M%s %sL%s %sM%s %sL%s %s" stroke="%s" stroke-width="%s" stroke-linecap="round"/>`,
		num(x-r), num(y-r), num(x+r), num(y+r), num(x-r), num(y+r), num(x+r), num(y-r), col, num(w))
}

// legendItem is one entry of the legend: a mark w px wide, then text.
type legendItem struct {
	w    float64
	text string
	mark func(b *strings.Builder, x, y float64)
}

func (s *svgLadder) legendItems() [][]legendItem {
	o := s.o
	var marks []legendItem
	for c, h := range s.l.hosts {
		col := hostColor[c%len(hostColor)]
		marks = append(marks, legendItem{30, h, func(b *strings.Builder, x, y float64) {
			fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2"/><path d="M%s %sl-9 -4v8Z" fill="%s"/>`,
				num(x), num(y), num(x+24), num(y), col, num(x+30), num(y), col)
		}})
	}
	marks = append(marks,
		legendItem{26, o.ui("legend.lost"), func(b *strings.Builder, x, y float64) {
			fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2"/>`, num(x), num(y), num(x+16), num(y), colMuted)
			cross(b, x+21, y, 5, colLost, 2.6)
		}},
		legendItem{30, o.ui("legend.dup"), func(b *strings.Builder, x, y float64) {
			fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2" stroke-dasharray="7 4"/>`, num(x), num(y), num(x+30), num(y), colDup)
		}},
		legendItem{12, o.ui("legend.ref"), func(b *strings.Builder, x, y float64) { cross(b, x+6, y, 5, colLost, 2.6) }},
		legendItem{14, o.ui("legend.tmr"), func(b *strings.Builder, x, y float64) {
			fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="6.5" fill="#fff" stroke="%s" stroke-width="1.5"/>`, num(x+7), num(y), colTimer)
		}},
	)
	var states []legendItem
	for _, ph := range []struct{ p, names string }{
		{"listen", "LISTEN"}, {"open", "SYN-SENT, SYN-RECEIVED"}, {"estab", "ESTABLISHED"},
		{"active", "FIN-WAIT-1, FIN-WAIT-2, CLOSING"}, {"passive", "CLOSE-WAIT, LAST-ACK"}, {"tw", "TIME-WAIT"}, {"closed", "CLOSED"},
	} {
		pc := phaseColors[ph.p]
		closed := ph.p == "closed"
		states = append(states, legendItem{8, ph.names, func(b *strings.Builder, x, y float64) {
			if closed {
				fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2" stroke-dasharray="3 3"/>`, num(x+4), num(y-8), num(x+4), num(y+8), pc.band)
				return
			}
			fmt.Fprintf(b, `<rect x="%s" y="%s" width="8" height="18" rx="4" fill="%s"/>`, num(x), num(y-9), pc.band)
		}})
	}
	return [][]legendItem{marks, states}
}

// flowLegend places the legend's items in lines that fit the width and
// returns each item's position; draw is false to only measure.
func (s *svgLadder) flowLegend(b *strings.Builder, draw bool) float64 {
	y := s.legendTop
	for _, group := range s.legendItems() {
		x := svgAxis
		for _, it := range group {
			adv := it.w + 6 + estWidth(it.text, 12.5) + 24
			if x > svgAxis && x+adv-24 > s.w-svgMargin {
				x, y = svgAxis, y+26
			}
			if draw {
				it.mark(b, x, y)
				fmt.Fprintf(b, `<text x="%s" y="%s" font-size="11.5" fill="#475569">%s</text>`+"\n", num(x+it.w+6), num(y+4), esc(it.text))
			}
			x += adv
		}
		y += 28
	}
	return y
}

// drawLegend explains the marks and the state colours.
func (s *svgLadder) drawLegend(b *strings.Builder) {
	fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="#e2e8f0"/>`+"\n", num(svgMargin), num(s.legendTop-22), num(s.w-svgMargin), num(s.legendTop-22))
	s.flowLegend(b, true)
}

// num formats a coordinate with at most one decimal, the same on every
// run and platform.
func num(v float64) string {
	s := strconv.FormatFloat(math.Round(v*10)/10, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	if s == "-0" {
		s = "0"
	}
	return s
}

var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

// esc escapes text for XML and HTML, attributes included.
func esc(s string) string { return escaper.Replace(s) }

// estWidth estimates how wide s is drawn at size px in a sans-serif
// font: enough to size a pill and to cut a label before it overflows.
func estWidth(s string, size float64) float64 {
	w := 0.0
	for _, r := range s {
		switch {
		case runeWidth(r) == 2:
			w += 1.0
		case r == ' ' || r == '.' || r == ',' || r == ':' || r == 'i' || r == 'l' || r == '|' || r == '\'' || r == '!' || r == 'j' || r == 't' || r == 'f' || r == '(' || r == ')':
			w += 0.3
		case r >= 'A' && r <= 'Z' || r == 'm' || r == 'w' || r == '§':
			w += 0.68
		case r >= '0' && r <= '9':
			w += 0.58
		default:
			w += 0.55
		}
	}
	return w * size
}

// truncatePx cuts s to fit px at size, with an ellipsis.
func truncatePx(s string, px, size float64) string {
	if estWidth(s, size) <= px {
		return s
	}
	rs := []rune(s)
	for len(rs) > 0 && estWidth(string(rs)+"…", size) > px {
		rs = rs[:len(rs)-1]
	}
	return strings.TrimRight(string(rs), " ,") + "…"
}

// wrapPx breaks s into lines about px wide at size.
func wrapPx(s string, px, size float64) []string {
	return wrap(s, int(px/(size*0.55)))
}
