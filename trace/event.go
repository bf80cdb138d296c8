package trace

import (
	"bytes"
	"encoding/json"
	"github.com/synack/synack/tcp"
	"strconv"
	"time"
)

// Event kinds, as the JSON "event" field spells them (DESIGN.md).
const (
	KindSend  = "send"
	KindRecv  = "recv"
	KindDrop  = "drop"
	KindDup   = "dup"
	KindState = "state"
	KindTimer = "timer"
	KindUser  = "user"
	KindNote  = "note" // the scenario's narration
	KindHost  = "host" // crash, restart
)

// Event is one line of a trace. Which fields are set depends on Event;
// the JSON form carries only those, in a fixed order.
type Event struct {
	T     time.Duration `json:"t"`     // virtual time since the start, ns
	Host  string        `json:"host"`  // "A" opens the connection, "B" listens, "C"...
	Event string        `json:"event"` // send, recv, drop, dup, state, timer, user, note, host

	// Segments (send, recv, drop, dup).
	Peer   string        `json:"peer,omitempty"` // the other end: receiver of a send, sender of a recv
	Packet uint64        `json:"packet,omitempty"`
	Conn   string        `json:"conn,omitempty"` // local→remote from Host's side
	Flags  string        `json:"flags,omitempty"`
	Seq    uint32        `json:"seq"`
	Ack    uint32        `json:"ack"`
	Len    int           `json:"len"`
	Win    uint16        `json:"win"`
	RSeq   *uint32       `json:"rseq,omitempty"` // relative to the sender's ISN of this incarnation
	RAck   *uint32       `json:"rack,omitempty"` // relative to the acknowledged side's ISN
	Opts   string        `json:"opts,omitempty"`
	Delay  time.Duration `json:"delay,omitempty"` // send: time to arrival

	// State changes.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`

	// Timers.
	Timer  string        `json:"timer,omitempty"`
	Action string        `json:"action,omitempty"`
	In     time.Duration `json:"in,omitempty"` // set: fires this long after T

	// User calls and results.
	Call string `json:"call,omitempty"`
	Err  string `json:"err,omitempty"`
	N    int    `json:"n,omitempty"` // bytes, for send/read

	// Cause is the rule behind a state change, a send or a drop; Text is
	// a note's or a host event's words.
	Cause string `json:"cause,omitempty"`
	Text  string `json:"text,omitempty"`

	// Rule is Cause as a value, when it is one of package tcp's causes
	// (not a fault's or a script's name): what code compares. The JSON
	// keeps the string; ReadJSON finds the value again.
	Rule tcp.Cause `json:"-"`
}

// IsSegment reports whether e describes a segment.
func (e *Event) IsSegment() bool {
	switch e.Event {
	case KindSend, KindRecv, KindDrop, KindDup:
		return true
	}
	return false
}

// MarshalJSON writes the fields the event's kind uses, in a fixed order.
func (e Event) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"t":`)
	b.WriteString(strconv.FormatInt(int64(e.T), 10))
	str := func(k, v string) {
		if v == "" {
			return
		}
		b.WriteString(`,"` + k + `":`)
		q, _ := json.Marshal(v)
		b.Write(q)
	}
	num := func(k string, v int64) {
		b.WriteString(`,"` + k + `":` + strconv.FormatInt(v, 10))
	}
	str("host", e.Host)
	str("event", e.Event)
	if e.IsSegment() {
		str("peer", e.Peer)
		if e.Packet != 0 {
			num("packet", int64(e.Packet))
		}
		str("conn", e.Conn)
		str("flags", e.Flags)
		num("seq", int64(e.Seq))
		num("ack", int64(e.Ack))
		num("len", int64(e.Len))
		num("win", int64(e.Win))
		if e.RSeq != nil {
			num("rseq", int64(*e.RSeq))
		}
		if e.RAck != nil {
			num("rack", int64(*e.RAck))
		}
		str("opts", e.Opts)
		if e.Delay != 0 {
			num("delay", int64(e.Delay))
		}
	} else {
		str("conn", e.Conn)
	}
	str("from", e.From)
	str("to", e.To)
	str("timer", e.Timer)
	str("action", e.Action)
	if e.In != 0 {
		num("in", int64(e.In))
	}
	str("call", e.Call)
	str("err", e.Err)
	if e.N != 0 {
		num("n", int64(e.N))
	}
	str("cause", e.Cause)
	str("text", e.Text)
	b.WriteByte('}')
	return b.Bytes(), nil
}

// WriteJSON writes events as JSON lines, one event a line.
func WriteJSON(w interface{ Write([]byte) (int, error) }, events []Event) error {
	for i := range events {
		b, err := events[i].MarshalJSON()
		if err != nil {
			return err
		}
		b = append(b, '\n')
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// ReadJSON parses JSON lines written by WriteJSON.
func ReadJSON(data []byte) ([]Event, error) {
	var out []Event
	dec := json.NewDecoder(bytes.NewReader(data))
	for dec.More() {
		var e Event
		if err := dec.Decode(&e); err != nil {
			return out, err
		}
		e.Rule, _ = tcp.ParseCause(e.Cause)
		out = append(out, e)
	}
	return out, nil
}
