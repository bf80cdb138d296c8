package stack

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"unsafe"

	"github.com/synack/synack/seq"
	"github.com/synack/synack/tcp"
)

// twTuple returns a distinct 4-tuple for i, IPv4 or IPv6 by its low bit.
func twTuple(i int) tuple {
	a := netip.AddrFrom4([4]byte{192, 0, 2, byte(i % 7)})
	if i%2 == 1 {
		a = netip.MustParseAddr("2001:db8::9")
	}
	return makeTuple(netip.AddrPortFrom(a, uint16(1000+i/7)), netip.AddrPortFrom(netip.MustParseAddr("198.51.100.1"), 80))
}

// The table against a map, under a random mix of what the stack does:
// new records at the clock's 2MSL, records written late (with an earlier
// deadline), restarts that move a record, updates in place, deletions and
// expiry. After every step each record must be found with what was put,
// the count must match, next must be the earliest deadline, and due must
// hand out records in deadline order.
func TestTWTableAgainstMap(t *testing.T) {
	for seed := range uint64(20) {
		r := rand.New(rand.NewPCG(seed, 1))
		var tt twTable
		ref := map[tuple]tcp.TimeWait{}
		now := int64(1_000_000)
		const life = 60_000
		for step := range 20_000 {
			now += r.Int64N(40)
			k := twTuple(r.IntN(3000))
			switch op := r.IntN(100); {
			case op < 40: // a connection enters TIME-WAIT
				rec := tcp.TimeWait{SndNxt: seq.Num(r.Uint32()), RcvNxt: seq.Num(step), TSRecent: r.Uint32(),
					Deadline: now + life, LocalPort: k.lport, RemotePort: k.rport, Flags: uint8(r.IntN(8)), RcvShift: uint8(r.IntN(15))}
				if op < 4 {
					rec.Deadline -= r.Int64N(life) // let go of late: an earlier deadline
				}
				tt.put(k, &rec)
				ref[k] = rec
			case op < 50: // a retransmitted FIN restarts 2MSL, or a challenge ACK updates in place
				if rec, ok := ref[k]; ok {
					if op < 45 {
						rec.Deadline = now + life
					} else {
						rec.LastChallenge = now
					}
					tt.put(k, &rec)
					ref[k] = rec
				}
			case op < 60:
				tt.del(&k)
				delete(ref, k)
			default: // expiry
				last := int64(0)
				for {
					k, rec, ok := tt.due(now)
					if !ok {
						break
					}
					if rec.Deadline < last {
						t.Fatalf("seed %d step %d: due out of order: %d after %d", seed, step, rec.Deadline, last)
					}
					last = rec.Deadline
					if want := ref[k]; want != rec {
						t.Fatalf("seed %d step %d: due gave %+v, map has %+v", seed, step, rec, want)
					}
					tt.del(&k)
					delete(ref, k)
				}
			}
			if tt.len() != len(ref) {
				t.Fatalf("seed %d step %d: len %d, map %d", seed, step, tt.len(), len(ref))
			}
			if step%97 == 0 {
				checkTWTable(t, &tt, ref, now)
			}
		}
		checkTWTable(t, &tt, ref, now)
		for k := range ref {
			tt.del(&k)
		}
		if tt.len() != 0 || len(tt.chunks) > 1 || tt.head != tt.tail {
			t.Fatalf("seed %d: emptied table keeps %d records, %d chunks", seed, tt.len(), len(tt.chunks))
		}
	}
}

func checkTWTable(t *testing.T, tt *twTable, ref map[tuple]tcp.TimeWait, now int64) {
	t.Helper()
	var earliest int64
	for k, want := range ref {
		got, ok := tt.get(&k)
		if !ok || got != want {
			t.Fatalf("get(%v) = %+v %v, want %+v", k, got, ok, want)
		}
		if earliest == 0 || want.Deadline < earliest {
			earliest = want.Deadline
		}
	}
	if at, ok := tt.next(); ok != (len(ref) > 0) || at != earliest {
		t.Fatalf("next = %d %v, want %d", at, ok, earliest)
	}
	var seen []tuple
	tt.each(func(k tuple, rec tcp.TimeWait) {
		if ref[k] != rec {
			t.Fatalf("each gave %v %+v, map has %+v", k, rec, ref[k])
		}
		seen = append(seen, k)
	})
	if len(seen) != len(ref) {
		t.Fatalf("each gave %d records, want %d", len(seen), len(ref))
	}
	slices.SortFunc(seen, func(a, b tuple) int {
		if tupleLess(&a, &b) {
			return -1
		}
		return 1
	})
	if len(slices.Compact(seen)) != len(ref) {
		t.Fatalf("each gave a record twice")
	}
	// The log holds at most the live records and the dead ones not yet
	// passed by the head; its chunks never outnumber what that needs.
	if got, need := len(tt.chunks), int(tt.tail-tt.base+twChunkLen-1)/twChunkLen; got > need {
		t.Fatalf("%d chunks for positions %d..%d", got, tt.base, tt.tail)
	}
	if 2*tt.len() > len(tt.index) {
		t.Fatalf("index of %d slots for %d records: over half full", len(tt.index), tt.len())
	}
}

// The entry is 80 bytes: the memory budget above depends on it.
func TestTWEntrySize(t *testing.T) {
	var chunk twChunk
	if got := int(unsafe.Sizeof(chunk)) / twChunkLen; got != 80 {
		t.Fatalf("twEntry is %d bytes, want 80", got)
	}
}
