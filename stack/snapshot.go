package stack

import (
	"sort"
	"time"

	"github.com/synack/synack/tcp"
)

// ConnInfo is one line of a Snapshot, as `ss -tan` prints.
type ConnInfo struct {
	ID
	State        tcp.State
	SendQ, RecvQ int
	RTT          time.Duration
	Timers       map[tcp.Timer]time.Time
	Compact      bool       // a half-open or TIME-WAIT record rather than a full TCB
	TCB          tcp.Status // the full TCB's variables (as ss -i shows), when not Compact
}

// Snapshot lists every listener, connection, half-open and TIME-WAIT
// record, sorted by address.
func (s *Stack) Snapshot() []ConnInfo {
	var out []ConnInfo
	for _, l := range s.listenersSorted() {
		out = append(out, ConnInfo{ID: ID{Local: l.addr}, State: tcp.StateListen, RecvQ: len(l.acceptQ), SendQ: l.backlog})
	}
	var rows []ConnInfo
	for t, c := range s.conns {
		st := c.tcp.Status()
		rows = append(rows, ConnInfo{ID: t.id(), State: st.State, SendQ: st.SendQueue, RecvQ: st.RecvQueue, RTT: st.SRTT, Timers: st.Timers, TCB: st})
	}
	for t, h := range s.half {
		rows = append(rows, ConnInfo{ID: t.id(), State: tcp.StateSynReceived, Compact: true,
			Timers: map[tcp.Timer]time.Time{tcp.TimerSynRetry: time.Unix(0, h.rec.Deadline)}})
	}
	s.tw.each(func(t tuple, r tcp.TimeWait) {
		rows = append(rows, ConnInfo{ID: t.id(), State: tcp.StateTimeWait, Compact: true,
			Timers: map[tcp.Timer]time.Time{tcp.TimerTimeWait: time.Unix(0, r.Deadline)}})
	})
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i].ID, rows[j].ID
		if a.Local != b.Local {
			return a.Local.Compare(b.Local) < 0
		}
		return a.Remote.Compare(b.Remote) < 0
	})
	return append(out, rows...)
}

// Len returns the number of full connections, half-open records and
// TIME-WAIT records.
func (s *Stack) Len() (conns, halfOpen, timeWait int) { return len(s.conns), len(s.half), s.tw.len() }
