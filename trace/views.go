package trace

import "strings"

// View is the HTML report's pieces, for a page that lays them out itself
// (synack lab) and steps through them: the same ladder, state diagram and
// event table HTML draws, and for each event shown what the report's
// script reads from them.
type View struct {
	Ladder  string // SVG; each event a group with data-ev="i", i indexing Events
	Fig5    string // SVG; nodes carry data-state, step badges data-ev
	Rows    string // the event table's rows (<tr data-ev="i">)
	CSS     string // the report's stylesheet
	Hosts   []string
	Initial []string // each host's state before the first event
	Events  []ViewEvent
}

// ViewEvent is one event as the views show it.
type ViewEvent struct {
	Index   int      // into the events given to Views (some are not shown)
	Y       float64  // the centre of its row in the ladder; -1 if it has none
	Tip     string   // what happened, when, and the rule: the hover text
	Cause   string   // the rule, in the options' language
	States  []string // each host's state after the event, in Hosts order
	Refused bool     // a segment the receiver's rules turned away
}

// Views draws events as HTML does and returns the pieces.
func Views(events []Event, o Options) View {
	l := newLadder(events, o)
	o = l.o
	s := newSVGLadder(l, true)
	var lad, fig, rows strings.Builder
	s.draw(&lad)
	fig5(&fig, l)
	for i := range l.ev {
		htmlRow(&rows, l, i)
	}
	v := View{Ladder: lad.String(), Fig5: fig.String(), Rows: rows.String(), CSS: htmlCSS, Hosts: l.hosts, Initial: l.initial}
	cur := append([]string(nil), l.initial...)
	k := 0
	for i := range l.ev {
		for k < len(events) && !o.shown(&events[k]) {
			k++
		}
		e := &l.ev[i]
		if c, ok := l.col[e.Host]; ok {
			cur[c] = l.after[i]
		}
		v.Events = append(v.Events, ViewEvent{
			Index: k, Y: s.rowY[i], Tip: s.tip(i), Cause: o.tr(e.Cause),
			States: append([]string(nil), cur...), Refused: e.Refused(),
		})
		k++
	}
	return v
}
