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
	if len(r.Faults) != 2 || !r.Faults[0].Applied || r.Faults[1].Applied ||
		!strings.Contains(r.Faults[1].Why[0], "packet "+strconv.FormatUint(model, 10)+" is a segment of the two-way model") ||
		!strings.Contains(r.Faults[1].Why[1], "两次握手模型") {
		t.Errorf("a fault on the model's packet %d: outcomes %+v", model, r.Faults)
	}
	// A crash in the model's time cannot apply either, and says why.
	r = Run(s, Params{Faults: []Fault{{Kind: FaultCrash, Host: "B", At: time.Second}, {Kind: FaultCrash, Host: "B", At: 12 * time.Second}}})
	if r.Faults[0].Applied || !strings.Contains(r.Faults[0].Why[0], "the TCP run starts at 10s") || !r.Faults[1].Applied {
		t.Errorf("crashes at 1 s and 12 s: %+v", r.Faults)
	}
	if n := count(r.Events, func(e *trace.Event) bool { return e.Event == trace.KindHost && e.Host == "B" && e.T == 12*time.Second }); n != 1 {
		t.Errorf("B's crash at 12 s: %d host events", n)
	}
}

// A fault on a packet the run never sends is reported, not applied.
func TestFaultNoSuchPacket(t *testing.T) {
	s, _ := Lookup("handshake")
	r := Run(s, Params{Faults: []Fault{{Kind: FaultLose, Packet: 9999}, {Kind: FaultLose, Packet: 3}}})
	if r.Faults[0].Applied || r.Faults[0].Why[0] != "the run shows no packet 9999" || !r.Faults[1].Applied {
		t.Errorf("outcomes %+v", r.Faults)
	}
}

// syn-flood runs its two floods itself, each on a network of its own:
// the learner's faults reach both. Losing the legitimate client's first
// SYN in the first flood (cookies never) loses it on the link instead of
// in B's full SYN queue; cutting the first flood's link loses what
// crosses it meanwhile, spoofed SYNs and A's alike; crashing B in the
// second flood (cookies on) ends its listener, so that A's later SYNs are
// refused by RST (RFC 9293 §3.10.7.1) and a restart brings no listener
// back.
func TestFaultSynFlood(t *testing.T) {
	s, _ := Lookup("syn-flood")
	p := Params{FloodRate: 20}
	base := Run(s, p)
	if base.Before != 0 {
		t.Errorf("syn-flood's first flood is simulated, yet packets up to %d are closed to faults", base.Before)
	}
	var syn uint64
	var end1 time.Duration
	for _, e := range base.Events {
		if e.Event == trace.KindNote && strings.HasPrefix(e.Text, "SYN cookies on") {
			end1 = e.T
		}
		if e.Event == trace.KindSend && e.Host == "A" && e.Flags == "SYN" && syn == 0 {
			syn = e.Packet
		}
	}
	if end1 != floodRun || syn == 0 {
		t.Fatalf("the second flood starts at %v, A's first SYN is packet %d", end1, syn)
	}
	p.Faults = []Fault{{Kind: FaultLose, Packet: syn}}
	r := Run(s, p)
	if !r.Faults[0].Applied {
		t.Fatalf("losing packet %d: %+v", syn, r.Faults)
	}
	lost := count(r.Events, func(e *trace.Event) bool {
		return e.Event == trace.KindDrop && e.Packet == syn && e.Cause == Fault{Kind: FaultLose, Packet: syn}.why()
	})
	if lost != 1 {
		t.Errorf("packet %d lost %d times by the learner's fault", syn, lost)
	}

	p.Faults = []Fault{{Kind: FaultPartition, At: 4 * time.Second, For: 20 * time.Second}}
	r = Run(s, p)
	cut := count(r.Events, func(e *trace.Event) bool {
		return e.Event == trace.KindDrop && e.Cause == "partition" && e.T >= 4*time.Second && e.T < 24*time.Second
	})
	if !r.Faults[0].Applied || cut == 0 {
		t.Errorf("a cut in the first flood: %+v, %d segments of A lost to it", r.Faults, cut)
	}

	// B crashes 4 s into the second flood and restarts half a second
	// later, before A's first SYN of that flood (5 s in).
	at := floodRun + 4*time.Second
	p.Faults = []Fault{{Kind: FaultCrash, Host: "B", At: at, For: 500 * time.Millisecond}}
	r = Run(s, p)
	crashed := count(r.Events, func(e *trace.Event) bool { return e.Event == trace.KindHost && e.Host == "B" && e.T >= at })
	rst := count(r.Events, func(e *trace.Event) bool {
		return e.Event == trace.KindSend && e.Host == "B" && strings.Contains(e.Flags, "RST") && e.T > at
	})
	refused := count(r.Events, func(e *trace.Event) bool {
		return e.Event == trace.KindUser && e.Host == "A" && e.Err == "ECONNREFUSED" && e.T > at
	})
	if !r.Faults[0].Applied || crashed != 2 || rst == 0 || refused != 1 {
		t.Errorf("B's crash in the second flood: %+v; %d host events, %d RSTs, %d refusals after %v", r.Faults, crashed, rst, refused, at)
	}
	// A cut that outlasts the first flood is applied there, and says the
	// second starts afresh.
	p.Faults = []Fault{{Kind: FaultPartition, At: floodRun - time.Second, For: 5 * time.Second}}
	if r = Run(s, p); !r.Faults[0].Applied || !strings.Contains(r.Faults[0].Why[0], "the next starts afresh") {
		t.Errorf("a cut across the floods: %+v", r.Faults)
	}
}
