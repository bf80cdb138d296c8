package link

import (
	"math/rand/v2"
	"time"
)

// Fault names what decided a packet's fate. The same words mean the same
// thing in link.Faulty (real time: synack serve --loss …), in the
// simulator and in traces:
//
//   - random loss: the packet is not delivered;
//   - duplicated: it is delivered twice;
//   - reordered: it is delivered ReorderHold later than it would have been,
//     so the packets sent meanwhile overtake it;
//   - random corruption: one byte that a checksum covers is changed (all
//     of IPv4; IPv6 from its addresses on), so the receiver must notice;
//   - jitter: every packet waits a uniform extra in [0, Jitter).
//
// The simulator adds the faults of its links and hosts (partition, link
// queue full, larger than the link MTU, host down); a script names its own.
type Fault uint8

const (
	FaultNone      Fault = iota
	FaultLoss            // random loss
	FaultDup             // duplicated
	FaultReorder         // reordered
	FaultCorrupt         // random corruption
	FaultPartition       // the link is cut
	FaultQueue           // the sender's link queue is full
	FaultMTU             // larger than the link MTU
	FaultHostDown        // the receiving host is down
	FaultScript          // a scripted rule (which names itself)
	numFaults
)

// NumFaults is the number of faults, FaultNone included.
const NumFaults = int(numFaults)

var faultNames = [numFaults]string{"", "random loss", "duplicated", "reordered", "random corruption",
	"partition", "link queue full", "larger than the link MTU", "host down", "script"}

// String is the fault as traces name it.
func (f Fault) String() string {
	if f < numFaults {
		return faultNames[f]
	}
	return "Fault(?)"
}

// Fate is what the faults do to one packet.
type Fate struct {
	Drop    bool          // lost (FaultLoss)
	Copies  int           // 1, or 2 when duplicated
	Extra   time.Duration // delay beyond Faults.Delay: jitter, plus ReorderHold when reordered
	Reorder bool
	Corrupt bool // apply with CorruptIn

	where, what uint64 // the corrupted byte and its change
}

// Draws is how many values Decide takes from the PRNG for every packet,
// whatever the faults: loss, dup, reorder, corrupt, corrupt position,
// corrupt value, jitter. So a seed and a packet sequence give the same
// fates each run, wherever they are decided, and enabling one fault does
// not change which packets another one hits.
const Draws = 7

// Decide draws the fate of a packet of n bytes. It is the one decision
// of the random faults: link.Faulty, the simulator's links and the
// explorer's random workloads all call it.
func (f *Faults) Decide(rng *rand.PCG, n int) Fate {
	var r [Draws]uint64
	for i := range r {
		r[i] = rng.Uint64()
	}
	ft := Fate{Copies: 1}
	if hit(r[0], f.Loss) {
		ft.Drop = true
		return ft
	}
	if f.Jitter > 0 {
		ft.Extra = time.Duration(below(r[6], uint64(f.Jitter)))
	}
	if hit(r[1], f.Dup) {
		ft.Copies = 2
	}
	if hit(r[2], f.Reorder) {
		ft.Reorder = true
		ft.Extra += f.reorderHold()
	}
	if hit(r[3], f.Corrupt) && n > 0 {
		ft.Corrupt, ft.where, ft.what = true, r[4], r[5]
	}
	return ft
}

func (f *Faults) reorderHold() time.Duration {
	if f.ReorderHold > 0 {
		return f.ReorderHold
	}
	return DefaultReorderHold
}

// CorruptIn changes, in pkt, the byte the fate chose.
func (ft *Fate) CorruptIn(pkt []byte) {
	if ft.Corrupt && len(pkt) > 0 {
		corrupt(pkt, ft.where, ft.what)
	}
}

// NewFaultRNG returns the PRNG a direction of faults draws from, for a
// seed: link.Faulty and the simulator seed theirs the same way, so the
// same seed gives the same fates on a TUN and in the simulator.
func NewFaultRNG(seed uint64) *rand.PCG { return rand.NewPCG(seed, 0x9e3779b97f4a7c15) }
