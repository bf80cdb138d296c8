package trace

import (
	"io"
	"strings"
	"time"
)

// Text writes the trace as a ladder diagram for a terminal: time flows
// down, one column per host, each segment an arrow from sender to
// receiver drawn when it is sent. A segment's arrival gets a line of its
// own only when something happened at the receiver in between (segments
// crossing, a delayed copy), so an ordinary exchange reads as one arrow.
// States, timers and the applications' calls are written beside their
// host's line; the rule behind each is on the right, cut to fit o.Width.
func Text(w io.Writer, events []Event, o Options) error {
	p := newTextPainter(newLadder(events, o))
	p.header()
	for i := range p.l.ev {
		p.event(i)
	}
	p.footer()
	_, err := io.WriteString(w, p.b.String())
	return err
}

// ANSI SGR styles, used only with Options.Color.
const (
	sBold   = "1"
	sDim    = "2"
	sItalic = "3"
	sRed    = "1;31"
	sLost   = "31"
	sApp    = "32"
	sTimer  = "33"
	sDup    = "33"
)

var hostSGR = []string{"34", "35", "36", "32", "33"}

func stateSGR(state string) string {
	switch phase(state) {
	case "open":
		return "1;36"
	case "estab":
		return "1;32"
	case "active", "passive":
		return "1;33"
	case "tw":
		return "1;35"
	}
	return sBold
}

type cell struct {
	s     string // one character; "" is the right half of a wide one
	style string
}

// grid is one line of output being painted, a cell per column.
type grid []cell

func newGrid(w int) grid {
	g := make(grid, w)
	for i := range g {
		g[i].s = " "
	}
	return g
}

// put paints s from column x, clipped at both edges; it returns the
// column after s.
func (g grid) put(x int, s, style string) int {
	for _, r := range s {
		w := runeWidth(r)
		if w == 0 {
			continue
		}
		if x < 0 {
			x += w
			continue
		}
		if x+w > len(g) {
			break
		}
		g.split(x)
		if w == 2 {
			g.split(x + 1)
		}
		g[x] = cell{string(r), style}
		if w == 2 {
			g[x+1] = cell{"", style}
		}
		x += w
	}
	return x
}

// split blanks the other half of a wide character about to be half
// overwritten at x.
func (g grid) split(x int) {
	if g[x].s == "" && x > 0 {
		g[x-1] = cell{" ", ""}
	}
	if x+1 < len(g) && g[x+1].s == "" {
		g[x+1] = cell{" ", ""}
	}
}

func (g grid) String(color bool) string {
	end := len(g)
	for end > 0 && g[end-1].s == " " {
		end--
	}
	var b strings.Builder
	cur := ""
	for _, c := range g[:end] {
		if color && c.style != cur && c.s != "" {
			if cur != "" {
				b.WriteString("\x1b[0m")
			}
			if c.style != "" {
				b.WriteString("\x1b[" + c.style + "m")
			}
			cur = c.style
		}
		b.WriteString(c.s)
	}
	if color && cur != "" {
		b.WriteString("\x1b[0m")
	}
	return b.String()
}

type textPainter struct {
	l *ladder
	o *Options
	b strings.Builder

	tw     int   // width of the time column
	xs     []int // each host's line
	cx, cw int   // the cause column

	st        []string      // each host's state, for its line
	lastT     time.Duration // time of the last line written
	wrote     bool
	lastCause []string     // per host: the cause last written at lastT
	merged    map[int]bool // drops written on their send's row
}

func newTextPainter(l *ladder) *textPainter {
	p := &textPainter{l: l, o: &l.o, merged: map[int]bool{}}
	W := l.o.Width
	p.tw = max(textWidth(p.o.ui("time")), len(fmtTime(l.end)))
	x0 := p.tw + 2
	n := len(l.hosts)
	lanes := (W - x0) * 55 / 100
	if n > 2 {
		lanes = (W - x0) * 70 / 100
	}
	p.cw = W - x0 - lanes - 2
	if p.cw < 12 {
		lanes, p.cw = W-x0-1, 0
	}
	last := x0 + lanes
	p.cx = last + 2
	p.xs = make([]int, n)
	for c := range p.xs {
		if n > 1 {
			p.xs[c] = x0 + c*(last-x0)/(n-1)
		} else {
			p.xs[c] = x0
		}
	}
	p.st = append([]string(nil), l.initial...)
	p.lastCause = make([]string, n)
	return p
}

func (p *textPainter) emit(g grid) {
	p.b.WriteString(g.String(p.o.Color))
	p.b.WriteByte('\n')
}

// asciiFold spells the symbols of the words in ASCII, for dumb terminals.
var asciiFold = strings.NewReplacer("§", "Sec.", "→", "->", "←", "<-", "✗", "X", "…", "...", "⏱", "timer:", "·", ".", "—", "-", "–", "-", "“", `"`, "”", `"`, "’", "'", "⋯", "...", "»", ">>")

// fold makes s ASCII where the options ask for it.
func (p *textPainter) fold(s string) string {
	if p.o.ASCII {
		return asciiFold.Replace(s)
	}
	return s
}

func (p *textPainter) glyph(ascii, uni string) string {
	if p.o.ASCII {
		return ascii
	}
	return uni
}

// row starts a line with every host's line drawn as its state has it:
// dotted while there is no connection, heavy while ESTABLISHED.
func (p *textPainter) row() grid {
	g := newGrid(p.o.Width)
	for c, x := range p.xs {
		switch phase(p.st[c]) {
		case "closed", "listen":
			g.put(x, p.glyph(":", "┆"), sDim)
		case "estab":
			g.put(x, p.glyph("|", "┃"), "")
		default:
			g.put(x, p.glyph("|", "│"), "")
		}
	}
	return g
}

// stamp writes the time, once for all the lines at one instant.
func (p *textPainter) stamp(g grid, t time.Duration) {
	if p.wrote && t == p.lastT {
		return
	}
	if p.wrote && t != p.lastT {
		for c := range p.lastCause {
			p.lastCause[c] = ""
		}
	}
	s := fmtTime(t)
	g.put(p.tw-len(s), s, "")
	p.lastT, p.wrote = t, true
}

// cause writes the rule behind a line, unless the same host's last line
// at this instant already showed it.
// causeShows reports whether cause would write text for host c.
func (p *textPainter) causeShows(c int, text string) bool {
	return p.cw != 0 && text != "" && (c < 0 || p.lastCause[c] != text)
}

func (p *textPainter) cause(g grid, c int, text, style string) {
	if !p.causeShows(c, text) {
		return
	}
	if c >= 0 {
		p.lastCause[c] = text
	}
	if style == "" {
		style = sDim
	}
	g.put(p.cx, truncate(p.fold(text), p.cw, p.o.ASCII), style)
}

// laneRoom returns how many columns there are beside host c's line.
func (p *textPainter) laneRoom(c int) int {
	n := len(p.xs)
	switch {
	case n == 1:
		return p.cx - p.xs[0] - 4
	case c < n-1:
		return p.xs[c+1] - p.xs[c] - 3
	}
	return p.xs[c] - p.xs[c-1] - 3
}

// lane writes s beside host c's line: to the right of it, or to the left
// of the last host's, pointing inwards.
func (p *textPainter) lane(g grid, c int, s, style string) {
	s = truncate(p.fold(s), p.laneRoom(c), p.o.ASCII)
	if n := len(p.xs); n > 1 && c == n-1 {
		g.put(p.xs[c]-1-textWidth(s), s, style)
	} else {
		g.put(p.xs[c]+2, s, style)
	}
}

// laneState writes "FROM → TO" beside host c's line, TO in its colour,
// or only "→ TO" where there is no room for both.
func (p *textPainter) laneState(g grid, c int, e *Event) {
	from := stateText(e, p.o.ASCII)
	from = from[:len(from)-len(e.To)]
	if textWidth(from)+textWidth(e.To) > p.laneRoom(c) {
		from = p.glyph("-> ", "→ ")
	}
	w := textWidth(from) + textWidth(e.To)
	x := p.xs[c] + 2
	if n := len(p.xs); n > 1 && c == n-1 {
		x = p.xs[c] - 1 - w
	}
	x = g.put(x, from, "")
	g.put(x, e.To, stateSGR(e.To))
}

func (p *textPainter) header() {
	o, W := p.o, p.o.Width
	if o.Title != "" {
		g := newGrid(W)
		g.put(0, truncate(p.fold(o.Title), W, o.ASCII), sBold)
		p.emit(g)
	}
	if o.Description != "" {
		for _, line := range wrap(p.fold(o.Description), W) {
			g := newGrid(W)
			g.put(0, line, "")
			p.emit(g)
		}
	}
	if o.Title != "" || o.Description != "" {
		p.b.WriteByte('\n')
	}
	names, states := newGrid(W), newGrid(W)
	names.put(p.tw-textWidth(o.ui("time")), o.ui("time"), sDim)
	for c, h := range p.l.hosts {
		label := h
		if a := p.l.addr[c]; a != "" {
			label = h + " " + a
			if c == len(p.xs)-1 && c > 0 {
				label = a + " " + h
			}
		}
		p.edge(names, c, label, sBold+";"+hostSGR[c%len(hostSGR)])
		p.edge(states, c, p.l.initial[c], stateSGR(p.l.initial[c]))
	}
	p.emit(names)
	p.emit(states)
}

// edge writes s starting at host c's line, or ending at it for the last.
func (p *textPainter) edge(g grid, c int, s, style string) {
	if c == len(p.xs)-1 && c > 0 {
		g.put(p.xs[c]+1-textWidth(s), s, style)
	} else {
		g.put(p.xs[c], s, style)
	}
}

func (p *textPainter) footer() {
	g := newGrid(p.o.Width)
	g.put(p.tw-textWidth(p.o.ui("final")), p.o.ui("final"), sDim)
	for c := range p.l.hosts {
		p.edge(g, c, p.l.final[c], stateSGR(p.l.final[c]))
	}
	p.emit(g)
}

// gapBefore marks a long quiet stretch (TIME-WAIT's 2MSL) with a line.
func (p *textPainter) gapBefore(t time.Duration) {
	if !p.wrote || t-p.lastT < 5*time.Second || len(p.xs) == 0 {
		return
	}
	g := newGrid(p.o.Width)
	for _, x := range p.xs {
		g.put(x, p.glyph(":", "┆"), sDim)
	}
	s := "~ " + fmtTime(t-p.lastT) + p.o.ui("later") + " ~"
	if !p.o.ASCII {
		s = "⋯ " + fmtTime(t-p.lastT) + p.o.ui("later") + " ⋯"
	}
	first, last := p.xs[0], p.xs[len(p.xs)-1]
	if last == first {
		last = p.cx
	}
	g.put((first+last-textWidth(s))/2+1, s, sDim)
	p.emit(g)
}

// needsArrival reports whether the arrival j of a segment sent at i gets
// a line of its own: when it was not seen leaving, or when the receiver
// did something visible in between, so the arrow alone would mislead.
func (p *textPainter) needsArrival(j int) bool {
	l := p.l
	i := l.origin[j]
	if i < 0 {
		return true
	}
	recv := l.ev[j].Host
	for k := i + 1; k < j; k++ {
		e := &l.ev[k]
		if e.Host != recv {
			continue
		}
		if e.Event == KindRecv && l.origin[k] > i {
			return true // a later segment overtook this one
		}
		if e.Event != KindRecv {
			return true
		}
	}
	return false
}

func (p *textPainter) event(i int) {
	l, o := p.l, p.o
	e := &l.ev[i]
	c, ok := l.col[e.Host]
	if !ok && e.Event != KindNote || !ok && e.HostNote() {
		return
	}
	// An arrival drawn by its send's arrow, and a loss written on its
	// send's row, take no row.
	if e.Event == KindRecv && !p.needsArrival(i) || p.merged[i] {
		if ok {
			p.st[c] = l.after[i]
		}
		return
	}
	p.gapBefore(e.T)
	if ok {
		p.st[c] = l.after[i]
	}
	if e.Event == KindNote && !e.HostNote() {
		p.note(e)
		return
	}
	g := p.row()
	p.stamp(g, e.T)
	switch e.Event {
	case KindSend, KindDup:
		lost := l.lostOnTheWay(i)
		p.arrow(g, e, lost)
		switch {
		case e.Event == KindDup:
			p.cause(g, c, o.tr(e.Cause), sDup)
		case lost && !p.causeShows(c, shortCause(o.tr(e.Cause))):
			// The send's cause would not show (none, or the line above
			// gave it): its row gives the loss, and the drop takes none.
			p.cause(g, -1, o.ui("lost:")+o.tr(l.ev[l.arrival[i]].Cause), sLost)
			p.merged[l.arrival[i]] = true
		default:
			p.cause(g, c, shortCause(o.tr(e.Cause)), "")
		}
	case KindDrop:
		switch {
		case e.Refused():
			p.lane(g, c, p.glyph("X ", "✗ ")+o.ui("refused")+" "+segLabel(e, false), sLost)
			p.cause(g, c, shortCause(o.tr(e.Cause)), "")
		case l.lostWith(i): // under its send's arrow, which gave the send's cause
			p.cause(g, -1, o.ui("lost:")+o.tr(e.Cause), sLost)
		case l.origin[i] >= 0:
			p.arrival(g, i, true)
			p.cause(g, -1, o.ui("lost:")+o.tr(e.Cause), sLost)
		default:
			p.arrow(g, e, true)
			p.cause(g, -1, o.ui("lost:")+o.tr(e.Cause), sLost)
		}
	case KindRecv:
		p.arrival(g, i, false)
		if k := l.origin[i]; k >= 0 {
			p.cause(g, -1, o.ui("arrives")+fmtTime(l.ev[k].T), "")
		}
	case KindState:
		p.laneState(g, c, e)
		p.cause(g, c, shortCause(o.tr(e.Cause)), "")
	case KindTimer:
		p.lane(g, c, p.glyph("timer: ", "⏱ ")+o.timerText(e), sTimer)
	case KindUser:
		style := sApp
		if e.Err != "" && e.Err != "EOF" || e.Call == "error" {
			style = sRed
		}
		p.lane(g, c, o.userText(e), style)
		p.cause(g, c, shortCause(o.tr(e.Cause)), "")
	case KindHost:
		p.lane(g, c, p.glyph("## ", "■ ")+o.tr(e.Text), sRed)
	case KindNote: // a host's note (HostNote)
		p.lane(g, c, p.glyph("~ ", "⟲ ")+o.tr(e.Text), sItalic)
		p.cause(g, c, shortCause(o.tr(e.Cause)), "")
	default:
		p.lane(g, c, e.Event+" "+e.Text, "")
	}
	p.emit(g)
}

// note writes narration across the lanes, wrapped to fit.
func (p *textPainter) note(e *Event) {
	first, last := p.tw, p.o.Width
	switch n := len(p.xs); {
	case n == 1:
		first, last = p.xs[0], p.cx-2
	case n > 1:
		first, last = p.xs[0], p.xs[n-1]
	}
	prefix := p.glyph("> ", "» ")
	for k, line := range wrap(p.fold(e.Text), last-first-3-textWidth(prefix)) {
		g := p.row()
		if k == 0 {
			p.stamp(g, e.T)
		}
		if k == 0 {
			line = prefix + line
		} else {
			line = strings.Repeat(" ", textWidth(prefix)) + line
		}
		g.put(first+2, line, sItalic)
		p.emit(g)
	}
}

// arrow draws a segment leaving its sender: to the receiver's line, or,
// when the network lost it, two thirds of the way, ending in a cross.
func (p *textPainter) arrow(g grid, e *Event, lost bool) {
	l, o := p.l, p.o
	s := l.col[e.Host]
	r, ok := l.col[e.Peer]
	if !ok || r == s {
		p.lane(g, s, segLabel(e, true), "")
		return
	}
	xs, xr := p.xs[s], p.xs[r]
	dir := 1
	if xr < xs {
		dir = -1
	}
	style := hostSGR[s%len(hostSGR)]
	body := p.glyph("-", "─")
	if e.Event == KindDup {
		body, style = p.glyph(".", "╌"), sDup
	}
	end := xr - dir // the arrow head
	head := p.glyph(">", "▶")
	if dir < 0 {
		head = p.glyph("<", "◀")
	}
	if lost {
		end = xs + dir*(abs(xr-xs)*2/3)
		head, style = p.glyph("X", "✗"), sLost
	}
	if dir > 0 {
		g.put(xs, p.glyph("+", "├"), style)
	} else {
		g.put(xs, p.glyph("+", "┤"), style)
	}
	for x := xs + dir; dir*(end-x) > 0; x += dir {
		g.put(x, body, style)
	}
	headStyle := style
	if lost {
		headStyle = sRed
	}
	g.put(end, head, headStyle)
	label := segLabel(e, true)
	if e.Event == KindDup {
		label = o.ui("dup") + " " + label
	}
	room := abs(end-xs) - 5
	if textWidth(label) > room {
		label = segLabel(e, false)
	}
	label = " " + truncate(label, room, o.ASCII) + " "
	if dir > 0 {
		g.put(xs+2, label, style)
	} else {
		g.put(xs-1-textWidth(label), label, style)
	}
}

// arrival draws a segment reaching its receiver on a line of its own: a
// short dashed arrow into the receiver's line, ending in a cross when the
// receiver was down.
func (p *textPainter) arrival(g grid, j int, lost bool) {
	l := p.l
	e := &l.ev[j]
	r := l.col[e.Host]
	from := e.Peer
	if lost { // a drop is reported by its sender
		r, from = l.col[e.Peer], e.Host
	}
	s, ok := l.col[from]
	if !ok || s == r {
		p.lane(g, r, segLabel(e, false), "")
		return
	}
	xr, dir := p.xs[r], 1
	if p.xs[s] > xr {
		dir = -1
	}
	style := hostSGR[s%len(hostSGR)]
	arrow := p.glyph("..>", "╌╌▶")
	if dir < 0 {
		arrow = p.glyph("<..", "◀╌╌")
	}
	if lost {
		arrow, style = p.glyph("..X", "╌╌✗"), sLost
		if dir < 0 {
			arrow = p.glyph("X..", "✗╌╌")
		}
	}
	label := segLabel(e, false) + " "
	room := abs(xr-p.xs[s]) - 6
	label = truncate(label, room, p.o.ASCII)
	if dir > 0 {
		g.put(xr-3, arrow, style)
		g.put(xr-4-textWidth(label), label, style)
	} else {
		g.put(xr+1, arrow, style)
		g.put(xr+5, label, style)
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
