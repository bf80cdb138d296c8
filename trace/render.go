package trace

import (
	"github.com/synack/synack/tcp"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Options say how a trace is drawn. The zero value draws an English
// ladder without colour, 100 columns wide.
type Options struct {
	Hosts []string // column order; default: order of first appearance, but "A" left of "B"
	Color bool     // ANSI colour (the CLI sets it only for a terminal without NO_COLOR)
	ASCII bool     // no box drawing or arrows beyond ASCII, for dumb terminals
	Width int      // columns of the text ladder; default 100
	Lang  string   // "en" (default) or "zh"

	Title, Description string // the scenario's name and description, shown in headers

	// AllTimers shows every timer event. By default only timers firing
	// and the setting of the timers a learner watches (time-wait,
	// syn-retry, keepalive, fin-wait-2, persist, user-timeout) are shown:
	// delayed-ACK and retransmission timers are re-armed on almost every
	// segment and would bury the picture.
	AllTimers bool
}

func (o Options) withDefaults() Options {
	if o.Width <= 0 {
		o.Width = 100
	}
	if o.Lang != "zh" {
		o.Lang = "en"
	}
	return o
}

// tr translates a cause or a recorder's text into the options' language.
func (o *Options) tr(s string) string { return Translate(s, o.Lang) }

// Refused reports whether e is a segment the receiver's TCP turned away
// by one of its rules (the recorder's "refused by X" drop), as opposed to
// one the network lost.
func (e *Event) Refused() bool {
	return e.Event == KindDrop && strings.HasPrefix(e.Text, "refused by ")
}

// HostNote reports whether e is a note of one host's TCP with the rule
// behind it (an undo of a window reduction), drawn in the host's lane,
// rather than the scenario's narration, drawn across the ladder.
func (e *Event) HostNote() bool { return e.Event == KindNote && e.Host != "" && e.Cause != "" }

// watchedTimers are the timers whose setting the default view shows.
var watchedTimers = map[string]bool{
	"time-wait": true, "syn-retry": true, "keepalive": true, "fin-wait-2": true, "persist": true, "user-timeout": true,
}

func (o *Options) shown(e *Event) bool {
	if e.Event != KindTimer || o.AllTimers {
		return true
	}
	switch e.Action {
	case "fire":
		return true
	case "set":
		return watchedTimers[e.Timer]
	}
	return false
}

// ladder is what every renderer draws: the events shown, the hosts in
// column order, and each copy of a segment paired with its arrival.
type ladder struct {
	o     Options
	hosts []string
	col   map[string]int
	addr  []string // each host's address, for headers
	ev    []Event

	// arrival[i], for a send or dup, is the index of the event ending
	// that copy's trip (a recv, or a drop by the network), or -1 while
	// it is still in flight (or was not recorded).
	arrival []int
	// origin[j], for a recv or a drop by the network, is the send or
	// dup it ends, or -1.
	origin []int
	// before[i] and after[i] are the host's state before and after
	// event i; other hosts keep theirs.
	before, after  []string
	initial, final []string
	end            time.Duration
}

func newLadder(events []Event, o Options) *ladder {
	o = o.withDefaults()
	l := &ladder{o: o, col: map[string]int{}}
	for i := range events {
		if o.shown(&events[i]) {
			l.ev = append(l.ev, events[i])
		}
	}
	l.orderHosts()
	l.pair()
	l.states()
	if n := len(l.ev); n > 0 {
		l.end = l.ev[n-1].T
	}
	return l
}

// orderHosts puts hosts in o.Hosts order, then in order of first
// appearance with one-letter names (A, B, C...) sorted among themselves,
// so the opener A is always left of the listener B.
func (l *ladder) orderHosts() {
	var seen []string
	add := func(h string) {
		if h != "" && !slices.Contains(seen, h) {
			seen = append(seen, h)
		}
	}
	for i := range l.ev {
		add(l.ev[i].Host)
		if l.ev[i].IsSegment() {
			add(l.ev[i].Peer)
		}
	}
	var letters []int
	for i, h := range seen {
		if len(h) == 1 && h[0] >= 'A' && h[0] <= 'Z' {
			letters = append(letters, i)
		}
	}
	var names []string
	for _, i := range letters {
		names = append(names, seen[i])
	}
	slices.Sort(names)
	for k, i := range letters {
		seen[i] = names[k]
	}
	for _, h := range l.o.Hosts {
		if h != "" && !slices.Contains(l.hosts, h) {
			l.hosts = append(l.hosts, h)
		}
	}
	for _, h := range seen {
		if !slices.Contains(l.hosts, h) {
			l.hosts = append(l.hosts, h)
		}
	}
	for i, h := range l.hosts {
		l.col[h] = i
	}
	l.addr = make([]string, len(l.hosts))
	for i := range l.ev {
		e := &l.ev[i]
		c, ok := l.col[e.Host]
		if !ok || l.addr[c] != "" || e.Conn == "" {
			continue
		}
		local, _, _ := strings.Cut(e.Conn, "→")
		if ap, err := netip.ParseAddrPort(local); err == nil {
			l.addr[c] = ap.Addr().String()
		}
	}
}

// pair matches each copy of a packet (its send, then its duplicate) with
// the events that end their trips, in order.
func (l *ladder) pair() {
	n := len(l.ev)
	l.arrival, l.origin = make([]int, n), make([]int, n)
	copies := map[uint64][]int{} // packet → copies in flight, oldest first
	for i := range l.ev {
		l.arrival[i], l.origin[i] = -1, -1
		e := &l.ev[i]
		if e.Packet == 0 {
			continue
		}
		switch {
		case e.Event == KindSend || e.Event == KindDup:
			copies[e.Packet] = append(copies[e.Packet], i)
		case e.Event == KindRecv || e.Event == KindDrop && !e.Refused() && len(copies[e.Packet]) > 0:
			if q := copies[e.Packet]; len(q) > 0 {
				l.origin[i], l.arrival[q[0]] = q[0], i
				copies[e.Packet] = q[1:]
			}
		}
	}
}

// lostOnTheWay reports whether event i is a send the network lost as it
// left: its trip ends in a drop (not a refusal) at the instant it was
// sent. The renderers draw the pair as one arrow that stops short in a
// cross, not as an arrival; a drop later than its send (a host down, a
// checksum that fails) reached the receiver's line.
func (l *ladder) lostOnTheWay(i int) bool {
	e := &l.ev[i]
	if e.Event != KindSend {
		return false
	}
	a := l.arrival[i]
	return a >= 0 && l.ev[a].Event == KindDrop && l.ev[a].T == e.T
}

// lostWith reports whether event j is the drop of a send lostOnTheWay.
func (l *ladder) lostWith(j int) bool {
	return l.ev[j].Event == KindDrop && l.origin[j] >= 0 && l.lostOnTheWay(l.origin[j])
}

// states works out each host's state around every event. A host's first
// state is the "from" of its first transition; a host that never changes
// state is LISTEN if it listened, else CLOSED. (Traces from before
// listeners had CLOSED → LISTEN events have only the listen call.)
func (l *ladder) states() {
	n := len(l.hosts)
	l.initial, l.final = make([]string, n), make([]string, n)
	opened := make([]bool, n) // the host's listener traced its passive OPEN
	for i := range l.ev {
		e := &l.ev[i]
		if c, ok := l.col[e.Host]; ok && e.Event == KindState && e.From == "CLOSED" && e.To == "LISTEN" {
			opened[c] = true
		}
	}
	for i := range l.ev {
		e := &l.ev[i]
		c, ok := l.col[e.Host]
		if !ok || l.initial[c] != "" {
			continue
		}
		switch {
		case e.Event == KindState:
			l.initial[c] = e.From
		case e.Event == KindUser && e.Call == "listen" && e.Err == "" && !opened[c]:
			l.initial[c] = "LISTEN"
		}
	}
	cur := make([]string, n)
	for c := range cur {
		if l.initial[c] == "" {
			l.initial[c] = "CLOSED"
		}
		cur[c] = l.initial[c]
	}
	l.before, l.after = make([]string, len(l.ev)), make([]string, len(l.ev))
	for i := range l.ev {
		e := &l.ev[i]
		c, ok := l.col[e.Host]
		if ok {
			l.before[i] = cur[c]
			if e.Event == KindState {
				cur[c] = e.To
			}
			l.after[i] = cur[c]
		}
	}
	copy(l.final, cur)
}

// fmtTime formats virtual time as seconds with millisecond precision.
func fmtTime(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	ms := (d + time.Millisecond/2) / time.Millisecond
	s := strconv.FormatInt(int64(ms/1000), 10) + "." + pad3(int64(ms%1000))
	if neg {
		s = "-" + s
	}
	return s
}

func pad3(n int64) string {
	s := strconv.FormatInt(n, 10)
	return strings.Repeat("0", 3-len(s)) + s
}

// fmtDur formats a timer's length briefly, in the unit course notes use:
// "60s" (2MSL), "200ms", "1.22s", "2h" (keepalive).
func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d >= 10*time.Minute && d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d%time.Second == 0:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// segLabel is a segment's one-line description, in the notation of the
// course notes: flags, seq and ack relative to each side's ISN when the
// recorder knew it, length when there is data, window when it matters
// (SYNs announce it, zero stops the sender).
func segLabel(e *Event, withWin bool) string {
	var b strings.Builder
	b.WriteString(e.Flags)
	b.WriteString(" seq=")
	b.WriteString(relNum(e.RSeq, e.Seq))
	if strings.Contains(e.Flags, "ACK") {
		b.WriteString(" ack=")
		b.WriteString(relNum(e.RAck, e.Ack))
	}
	if e.Len > 0 {
		b.WriteString(" len=" + strconv.Itoa(e.Len))
	}
	if withWin && (strings.Contains(e.Flags, "SYN") || e.Win == 0 && !strings.Contains(e.Flags, "RST")) {
		b.WriteString(" win=" + strconv.Itoa(int(e.Win)))
	}
	return b.String()
}

func relNum(rel *uint32, abs uint32) string {
	if rel != nil {
		return strconv.FormatUint(uint64(*rel), 10)
	}
	return strconv.FormatUint(uint64(abs), 10)
}

// splitCause splits "RFC 9293 §3.10.7.4: FIN received..." into its
// reference and its words; a cause without a reference (a fault's name)
// has only words.
func splitCause(c string) (ref, words string) { return tcp.SplitCause(c) }

// shortCause is a cause as the text ladder prints it: RFC 9293 is the
// default, so only its section is named.
func shortCause(c string) string {
	ref, words := splitCause(c)
	if ref == "" {
		return words
	}
	ref = strings.Replace(ref, "RFC 9293 §", "§", 1)
	return ref + " " + words
}

// userText describes an application's call or result: "app: close",
// "app: read 5 bytes", "app: read → EOF", "app: ECONNRESET".
func (o *Options) userText(e *Event) string { return o.ui("app") + ": " + o.userCall(e) }

// userCall is userText without the "app: ".
func (o *Options) userCall(e *Event) string {
	switch {
	case e.Call == "error" && e.Err != "":
		return e.Err
	case e.Call == "read-eof":
		return "read → EOF"
	case e.Err != "":
		return e.Call + " → " + e.Err
	case e.N != 0:
		return e.Call + " " + strconv.Itoa(e.N) + " " + o.ui("bytes")
	}
	return e.Call
}

// timerText describes a timer event: "time-wait 60s", "retransmit fires".
func (o *Options) timerText(e *Event) string {
	name := e.Timer
	if _, ok := uiText["timer:"+e.Timer]; ok {
		name = o.ui("timer:" + e.Timer)
	}
	switch e.Action {
	case "set":
		return name + " " + fmtDur(e.In)
	case "fire":
		return name + " " + o.ui("fires")
	case "cancel":
		return name + " " + o.ui("cancelled")
	}
	return name + " " + e.Action
}

// stateText is "ESTABLISHED → FIN-WAIT-1".
func stateText(e *Event, ascii bool) string {
	if ascii {
		return e.From + " -> " + e.To
	}
	return e.From + " → " + e.To
}

// phase groups states for colour: a connection opening, open, closing
// actively or passively, in TIME-WAIT, or absent.
func phase(state string) string {
	switch state {
	case "SYN-SENT", "SYN-RECEIVED":
		return "open"
	case "ESTABLISHED":
		return "estab"
	case "FIN-WAIT-1", "FIN-WAIT-2", "CLOSING":
		return "active"
	case "CLOSE-WAIT", "LAST-ACK":
		return "passive"
	case "TIME-WAIT":
		return "tw"
	case "LISTEN":
		return "listen"
	}
	return "closed"
}
