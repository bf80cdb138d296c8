package scenario

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/synack/synack/tcp"
	"github.com/synack/synack/trace"
)

// check compares a run's events with the scenario's expectation.
func check(s *Scenario, r *Result) []string {
	var fails []string
	e := &s.Expect
	keys := make([]string, 0, len(e.States))
	for k := range e.States {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		want := e.States[k]
		got := statePath(r.Events, k)
		if !slices.Equal(got, want) {
			fails = append(fails, fmt.Sprintf("%s went through %s; expected %s", k, fmtStates(got), fmtStates(want)))
		}
	}
	fails = append(fails, checkSegments(r.Events, e.Segments)...)
	for _, n := range e.Never {
		for i := range r.Events {
			if n.matches(&r.Events[i]) {
				fails = append(fails, fmt.Sprintf("%s appeared at %v but must not", n, r.Events[i].T))
				break
			}
		}
	}
	fails = append(fails, subsequence(r.Events, e.Timers, func(t Timer, ev *trace.Event) bool {
		return ev.Event == trace.KindTimer && ev.Host == t.Host && ev.Timer == t.Timer && ev.Action == t.Action
	}, func(t Timer) string { return fmt.Sprintf("timer %s %s on %s", t.Timer, t.Action, t.Host) })...)
	fails = append(fails, subsequence(r.Events, e.App, func(a Call, ev *trace.Event) bool {
		return ev.Event == trace.KindUser && ev.Host == a.Host && ev.Call == a.Call && (a.Err == "" || ev.Err == a.Err)
	}, func(a Call) string {
		if a.Err != "" {
			return fmt.Sprintf("%s's application: %s → %s", a.Host, a.Call, a.Err)
		}
		return fmt.Sprintf("%s's application: %s", a.Host, a.Call)
	})...)
	if e.Check != nil {
		fails = append(fails, e.Check(r)...)
	}
	return fails
}

// statePath is the states a host (or its k-th connection, "A#2") went
// through: the first transition's "from", then every "to". A host's path
// begins with its listener's CLOSED → LISTEN, as RFC 9293's Figure 5 does.
func statePath(events []trace.Event, key string) []tcp.State {
	host, nth := key, 0
	if i := strings.IndexByte(key, '#'); i >= 0 {
		host = key[:i]
		nth, _ = strconv.Atoi(key[i+1:])
	}
	var conns []string
	var path []tcp.State
	for i := range events {
		ev := &events[i]
		if ev.Event != trace.KindState || ev.Host != host {
			continue
		}
		listener := !strings.Contains(ev.Conn, "→")
		if listener && nth > 0 {
			continue // "B#2" counts connections; the host's path has its listener too
		}
		if !listener && !slices.Contains(conns, ev.Conn) {
			conns = append(conns, ev.Conn)
		}
		if nth > 0 && (nth > len(conns) || conns[nth-1] != ev.Conn) {
			continue
		}
		from, _ := tcp.ParseState(ev.From)
		to, _ := tcp.ParseState(ev.To)
		if len(path) == 0 || path[len(path)-1] != from {
			path = append(path, from) // a new connection on the same 4-tuple
		}
		path = append(path, to)
	}
	return path
}

func subsequence[T any](events []trace.Event, want []T, match func(T, *trace.Event) bool, name func(T) string) []string {
	i := 0
	for j := range events {
		if i < len(want) && match(want[i], &events[j]) {
			i++
		}
	}
	if i < len(want) {
		return []string{fmt.Sprintf("missing (in order): %s", name(want[i]))}
	}
	return nil
}

func checkSegments(events []trace.Event, want []Seg) []string {
	return subsequence(events, want, func(s Seg, ev *trace.Event) bool { return s.matches(ev) }, Seg.String)
}

func (s Seg) event() string {
	if s.Event == "" {
		return trace.KindSend
	}
	return s.Event
}

func (s Seg) matches(ev *trace.Event) bool {
	if ev.Event != s.event() || ev.Host != s.From {
		return false
	}
	if s.Flags != "" && !sameFlags(s.Flags, ev.Flags) {
		return false
	}
	if s.RSeq != nil && (ev.RSeq == nil || *ev.RSeq != *s.RSeq) {
		return false
	}
	if s.RAck != nil && (ev.RAck == nil || *ev.RAck != *s.RAck) {
		return false
	}
	if s.Len != AnyLen && ev.Len != s.Len {
		return false
	}
	if s.Rule != tcp.CauseNone && ev.Rule != s.Rule {
		return false
	}
	return true
}

func sameFlags(a, b string) bool {
	fa, fb := strings.Split(a, ","), strings.Split(b, ",")
	slices.Sort(fa)
	slices.Sort(fb)
	return slices.Equal(fa, fb)
}

func (s Seg) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", s.From, s.event())
	if s.Flags != "" {
		fmt.Fprintf(&b, " %s", s.Flags)
	}
	if s.RSeq != nil {
		fmt.Fprintf(&b, " seq=%d", *s.RSeq)
	}
	if s.RAck != nil {
		fmt.Fprintf(&b, " ack=%d", *s.RAck)
	}
	if s.Len != AnyLen {
		fmt.Fprintf(&b, " len=%d", s.Len)
	}
	if s.Rule != tcp.CauseNone {
		fmt.Fprintf(&b, " (%s)", s.Rule)
	}
	return b.String()
}
