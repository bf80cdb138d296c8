package scenario

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/synack/synack/trace"
)

// lastSend returns the last segment host sent with exactly flags.
func lastSend(evs []trace.Event, host, flags string) (trace.Event, bool) {
	var out trace.Event
	found := false
	for _, e := range evs {
		if e.Event == trace.KindSend && e.Host == host && e.Flags == flags {
			out, found = e, true
		}
	}
	return out, found
}

func count(evs []trace.Event, f func(e *trace.Event) bool) int {
	n := 0
	for i := range evs {
		if f(&evs[i]) {
			n++
		}
	}
	return n
}

// Losing close-four-way's final ACK (a learner's fault on its packet
// number): B retransmits its FIN from LAST-ACK, and A, in TIME-WAIT,
// acknowledges it again and restarts the 2MSL timer (RFC 9293 §3.10.7.4,
// TIME-WAIT: "the only thing that can arrive in this state is a
// retransmission of the remote FIN. Acknowledge it, and restart the 2 MSL
// timeout").
func TestFaultLoseFinalACK(t *testing.T) {
	s, _ := Lookup("close-four-way")
	base := Run(s, Params{})
	ack, ok := lastSend(base.Events, "A", "ACK")
	if !ok {
		t.Fatal("no ACK from A")
	}
	r := Run(s, Params{Faults: []Fault{{Kind: FaultLose, Packet: ack.Packet}}})
	drops := count(r.Events, func(e *trace.Event) bool { return e.Event == trace.KindDrop && e.Packet == ack.Packet })
	if drops != 1 {
		t.Fatalf("packet %d dropped %d times, want 1", ack.Packet, drops)
	}
	fins := count(r.Events, func(e *trace.Event) bool { return e.Event == trace.KindSend && e.Host == "B" && e.Flags == "FIN,ACK" })
	if fins != 2 {
		t.Errorf("B sent FIN %d times, want 2 (the retransmission)", fins)
	}
	tw := count(r.Events, func(e *trace.Event) bool {
		return e.Event == trace.KindTimer && e.Host == "A" && e.Timer == "time-wait" && e.Action == "set"
	})
	if tw != 2 {
		t.Errorf("A set its time-wait timer %d times, want 2 (restarted)", tw)
	}
	// Duplicating it: B gets the ACK twice; the second finds no
	// connection (B is CLOSED) and is answered by RST (§3.10.7.1).
	r = Run(s, Params{Faults: []Fault{{Kind: FaultDuplicate, Packet: ack.Packet}}})
	if n := count(r.Events, func(e *trace.Event) bool { return e.Event == trace.KindDup && e.Packet == ack.Packet }); n != 1 {
		t.Errorf("packet %d duplicated %d times, want 1", ack.Packet, n)
	}
	if n := count(r.Events, func(e *trace.Event) bool { return e.Event == trace.KindSend && e.Host == "B" && e.Flags == "RST" }); n != 1 {
		t.Errorf("B sent %d RSTs, want 1 for the duplicate ACK", n)
	}
	// Delaying it past B's RTO: B retransmits FIN before the ACK lands.
	r = Run(s, Params{Faults: []Fault{{Kind: FaultDelay, Packet: ack.Packet, For: 2 * time.Second}}})
	var sent, recv time.Duration
	for _, e := range r.Events {
		if e.Packet == ack.Packet && e.Event == trace.KindSend {
			sent = e.T
		}
		if e.Packet == ack.Packet && e.Event == trace.KindRecv {
			recv = e.T
		}
	}
	if recv-sent != 2*time.Second+10*time.Millisecond {
		t.Errorf("the delayed ACK took %v, want 2.01 s", recv-sent)
	}
}

// A learner's crash of B after the handshake of close-four-way: A's FIN
// goes unanswered and is retransmitted; a partition loses what is sent
// while it lasts.
func TestFaultCrashAndPartition(t *testing.T) {
	s, _ := Lookup("close-four-way")
	r := Run(s, Params{Faults: []Fault{{Kind: FaultCrash, Host: "B", At: 500 * time.Millisecond}}})
	if n := count(r.Events, func(e *trace.Event) bool { return e.Event == trace.KindHost && e.Host == "B" }); n != 1 {
		t.Errorf("%d host events for B, want its crash", n)
	}
	if n := count(r.Events, func(e *trace.Event) bool { return e.Event == trace.KindSend && e.Host == "A" && e.Flags == "FIN,ACK" }); n < 2 {
		t.Errorf("A sent FIN %d times to a crashed B; want retransmissions", n)
	}
	r = Run(s, Params{Faults: []Fault{{Kind: FaultPartition, At: time.Second, For: 3 * time.Second}}})
	lost := count(r.Events, func(e *trace.Event) bool { return e.Event == trace.KindDrop && e.Cause == "partition" })
	if lost == 0 {
		t.Error("nothing lost to the partition")
	}
	if r.Events[len(r.Events)-1].T < 4*time.Second {
		t.Error("the run ended before the partition healed")
	}
}

// two-way-handshake shows its model first: packet numbers go on from the
// model's, so a fault on the TCP part's first SYN names it by its number
// in the trace, and one on a model packet is reported, not applied.
func TestFaultAfterEarlierPart(t *testing.T) {
	s, _ := Lookup("two-way-handshake")
	base := Run(s, Params{})
	var model, syn uint64
	for _, e := range base.Events {
		if e.Event == trace.KindSend && e.Conn == "model" {
			model = e.Packet
		}
		if e.Event == trace.KindSend && e.Flags == "SYN" && syn == 0 {
			syn = e.Packet
		}
	}
	if syn <= model {
		t.Fatalf("TCP's first SYN is packet %d, not after the model's %d", syn, model)
	}
	r := Run(s, Params{Faults: []Fault{{Kind: FaultLose, Packet: syn}, {Kind: FaultLose, Packet: model}}})
	if n := count(r.Events, func(e *trace.Event) bool { return e.Event == trace.KindDrop && e.Packet == syn }); n != 1 {
		t.Errorf("packet %d dropped %d times, want 1", syn, n)
	}
	// A's SYN is retransmitted after the initial RTO (RFC 6298 §2.1, 1 s),
	// so A's handshake completes 1 s later than without the fault.
	estab := func(evs []trace.Event) time.Duration {
		for _, e := range evs {
			if e.Event == trace.KindState && e.Host == "A" && e.From == "SYN-SENT" && e.To == "ESTABLISHED" {
				return e.T
			}
		}
		return -1
	}
	if got, was := estab(r.Events), estab(base.Events); got-was != time.Second {
		t.Errorf("A's TCP handshake completed at %v, %v without the fault; want 1 s later", got, was)
	}
	noted := false
	for _, n := range r.Notes {
		noted = noted || strings.Contains(n, "not applied") && strings.Contains(n, strconv.FormatUint(model, 10))
	}
	if !noted {
		t.Errorf("a fault on the model's packet %d was not reported: %q", model, r.Notes)
	}
}
