package scenario

import (
	"time"

	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
	"github.com/synack/synack/trace"
	"github.com/synack/synack/wire"
)

// Short names for the states, so expectations read like the RFC's figures.
const (
	cl  = tcp.StateClosed
	ls  = tcp.StateListen
	ss  = tcp.StateSynSent
	sr  = tcp.StateSynReceived
	es  = tcp.StateEstablished
	fw1 = tcp.StateFinWait1
	fw2 = tcp.StateFinWait2
	cw  = tcp.StateCloseWait
	cg  = tcp.StateClosing
	la  = tcp.StateLastAck
	tw  = tcp.StateTimeWait
)

func states(s ...tcp.State) []tcp.State { return s }

// bareACK matches a segment with only ACK set and no data.
func bareACK(s *wire.Segment) bool { return s.Flags == wire.FlagACK && len(s.Payload) == 0 }

// isFIN matches a segment with FIN set.
func isFIN(s *wire.Segment) bool { return s.Flags&wire.FlagFIN != 0 }

// sends returns the send events from host that match s, in order.
func sends(events []trace.Event, s Seg) []trace.Event {
	var out []trace.Event
	for i := range events {
		if s.matches(&events[i]) {
			out = append(out, events[i])
		}
	}
	return out
}

// stateTime returns when host first entered a state (and false if never).
func stateTime(events []trace.Event, host string, st tcp.State, nth int) (time.Duration, bool) {
	k := 0
	for _, e := range events {
		if e.Event == trace.KindState && e.Host == host && e.To == st.String() {
			k++
			if k == nth {
				return e.T, true
			}
		}
	}
	return 0, false
}

// msl returns the MSL a run used.
func (p Params) msl() time.Duration {
	if p.MSL > 0 {
		return p.MSL
	}
	return 30 * time.Second
}

// rtoInitial returns the initial RTO a run used.
func (p Params) rtoInitial() time.Duration {
	if p.RTOInitial > 0 {
		return p.RTOInitial
	}
	return time.Second
}

// timeWaitLasted checks that host's TIME-WAIT ended 2MSL after it began
// (or after the last restart at restartedAt, if not zero).
func timeWaitLasted(r *Result, host string) []string {
	in, ok1 := stateTime(r.Events, host, tw, 1)
	out, ok2 := stateTime(r.Events, host, cl, countState(r.Events, host, cl))
	if !ok1 || !ok2 {
		return []string{host + " never left TIME-WAIT for CLOSED"}
	}
	// A restart of the 2MSL timer moves the end; take the last set.
	for _, e := range r.Events {
		if e.Event == trace.KindTimer && e.Host == host && e.Timer == "time-wait" && e.Action == "set" {
			in = e.T
		}
	}
	if got, want := out-in, 2*r.Params.msl(); got != want {
		return []string{host + "'s TIME-WAIT lasted " + got.String() + " after its last (re)start; expected 2MSL = " + want.String()}
	}
	return nil
}

func countState(events []trace.Event, host string, st tcp.State) int {
	n := 0
	for _, e := range events {
		if e.Event == trace.KindState && e.Host == host && e.To == st.String() {
			n++
		}
	}
	return n
}

// client returns the usual client application: it runs app on a
// connection from A to B:80.
func (w *World) client(app *App) (*stack.Conn, *App) {
	c := w.Dial(w.A, PortA, w.B, PortB)
	return c, w.Run(w.A, c, app)
}

// server listens on B:80 and runs mk's application on each connection.
func (w *World) server(mk func(c *stack.Conn) *App) *stack.Listener {
	ln := w.Listen(w.B, PortB)
	if mk == nil {
		mk = func(*stack.Conn) *App { return nil }
	}
	w.Serve(w.B, ln, mk)
	return ln
}
