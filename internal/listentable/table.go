// Package listentable is the table of what a TCP listener does with each
// kind of segment, in each SYN-cookie mode: RFC 9293 §3.10.7.2 as Linux
// implements it (tcp_rcv_state_process, case TCP_LISTEN; tcp_v4_do_rcv and
// cookie_v4_check for a bare ACK; tcp_conn_request for a SYN). The same
// rows are checked against synack's stack (stack's TestListenerTable) and
// against a Linux listener in a namespace (interop's
// TestListenerTableLinux), so the two cannot drift apart.
package listentable

import (
	"github.com/synack/synack/seq"
	"github.com/synack/synack/wire"
)

// Mode is the listener's SYN-cookie setting and recent history, as Linux's
// net.ipv4.tcp_syncookies: 0, 1 (checked only within 2 minutes of the
// listener's last cookie, tcp_synq_no_recent_overflow), 2.
type Mode uint8

const (
	Never        Mode = iota // tcp_syncookies = 0
	AutoIdle                 // tcp_syncookies = 1, the SYN queue never overflowed
	AutoOverflow             // tcp_syncookies = 1, right after the SYN queue overflowed
	Always                   // tcp_syncookies = 2
)

var modeNames = [...]string{"never", "auto, no overflow", "auto, after an overflow", "always"}

func (m Mode) String() string { return modeNames[m] }

// Modes are all four.
var Modes = []Mode{Never, AutoIdle, AutoOverflow, Always}

// Reply is what the listener sends back.
type Reply uint8

const (
	None   Reply = iota // nothing
	RST                 // <SEQ=SEG.ACK><CTL=RST>, no ACK flag
	SYNACK              // SYN+ACK acknowledging SEG.SEQ+1 (a SYN's data is not acknowledged)
	AnyAck              // an ACK, or nothing (delayed): the connection's own business
)

var replyNames = [...]string{"nothing", "RST seq=SEG.ACK", "SYN+ACK ack=SEG.SEQ+1", "ACK or nothing"}

func (r Reply) String() string { return replyNames[r] }

// State is what the listener holds for the 4-tuple afterwards.
type State uint8

const (
	NoConn      State = iota // nothing
	HalfOpen                 // a SYN-RECEIVED entry in the SYN queue
	Established              // a connection ready to accept
)

var stateNames = [...]string{"no connection", "half-open", "established"}

func (s State) String() string { return stateNames[s] }

// Row is one segment sent to a listener, and its answer per mode.
type Row struct {
	Name  string
	Flags wire.Flags
	Data  int // payload bytes
	// ValidCookie: the segment is the ACK of a cookie SYN+ACK the listener
	// sent for this 4-tuple (SEG.ACK = its ISN+1); otherwise SEG.ACK is
	// arbitrary, a blind guess.
	ValidCookie bool
	// Modes the row applies to (nil: every mode).
	Modes []Mode
	Reply func(Mode) Reply
	State func(Mode) State
}

// Applies says whether the row is run in mode m.
func (r *Row) Applies(m Mode) bool {
	if r.Modes == nil {
		return true
	}
	for _, x := range r.Modes {
		if x == m {
			return true
		}
	}
	return false
}

func always[T any](v T) func(Mode) T { return func(Mode) T { return v } }

// synReply: a SYN gets a SYN+ACK in every mode — a cookie one where the
// SYN queue is full (after an overflow) or cookies are always on — and is
// remembered only when no cookie was sent (tcp_conn_request).
func synState(m Mode) State {
	if m == AutoOverflow || m == Always {
		return NoConn
	}
	return HalfOpen
}

// Rows are the table. SEG.ACK, where a row sets ACK without a valid
// cookie, is a number the listener never sent.
var Rows = []Row{
	{Name: "SYN", Flags: wire.FlagSYN, Reply: always(SYNACK), State: synState},
	{Name: "SYN with data", Flags: wire.FlagSYN, Data: 10, Reply: always(SYNACK), State: synState},
	{Name: "SYN+ACK", Flags: wire.FlagSYN | wire.FlagACK, Reply: always(RST), State: always(NoConn)},
	{Name: "SYN+FIN", Flags: wire.FlagSYN | wire.FlagFIN, Reply: always(None), State: always(NoConn)},
	{Name: "SYN+RST", Flags: wire.FlagSYN | wire.FlagRST, Reply: always(None), State: always(NoConn)},
	{Name: "SYN+ACK+RST", Flags: wire.FlagSYN | wire.FlagACK | wire.FlagRST, Reply: always(None), State: always(NoConn)},
	{Name: "ACK, no cookie", Flags: wire.FlagACK, Reply: always(RST), State: always(NoConn)},
	{Name: "ACK with data, no cookie", Flags: wire.FlagACK | wire.FlagPSH, Data: 10, Reply: always(RST), State: always(NoConn)},
	{Name: "FIN", Flags: wire.FlagFIN, Reply: always(None), State: always(NoConn)},
	{Name: "FIN+ACK", Flags: wire.FlagFIN | wire.FlagACK, Reply: always(RST), State: always(NoConn)},
	{Name: "RST", Flags: wire.FlagRST, Reply: always(None), State: always(NoConn)},
	{Name: "RST+ACK", Flags: wire.FlagRST | wire.FlagACK, Reply: always(None), State: always(NoConn)},
	{Name: "no flags", Flags: 0, Reply: always(None), State: always(NoConn)},
	{Name: "no flags, data", Flags: 0, Data: 10, Reply: always(None), State: always(NoConn)},
	{Name: "PSH with data, no ACK", Flags: wire.FlagPSH, Data: 10, Reply: always(None), State: always(NoConn)},
	// The ACK of a cookie the listener sent: checked only while cookies
	// are on and recent. (AutoIdle cannot be had from Linux without
	// waiting out the 2 minutes after an overflow; synack's test makes
	// the cookie with a twin stack of the same keys instead.)
	{Name: "ACK of a cookie", Flags: wire.FlagACK, ValidCookie: true, Modes: []Mode{AutoOverflow, Always},
		Reply: always(AnyAck), State: always(Established)},
	{Name: "ACK with data of a cookie", Flags: wire.FlagACK | wire.FlagPSH, Data: 10, ValidCookie: true, Modes: []Mode{AutoOverflow, Always},
		Reply: always(AnyAck), State: always(Established)},
}

// Matches says whether got, all a listener sent in answer to a segment
// with sequence number sq and acknowledgment ack, is reply r.
func (r Reply) Matches(got []wire.Segment, sq, ack seq.Num) bool {
	switch r {
	case None:
		return len(got) == 0
	case RST:
		return len(got) == 1 && got[0].Flags == wire.FlagRST && got[0].Seq == ack
	case SYNACK:
		return len(got) == 1 && got[0].Flags == wire.FlagSYN|wire.FlagACK && got[0].Ack == sq+1
	case AnyAck:
		return len(got) == 0 || len(got) == 1 && got[0].Flags&(wire.FlagSYN|wire.FlagRST|wire.FlagFIN) == 0 && got[0].Flags&wire.FlagACK != 0
	}
	return false
}
