package sim_test

import (
	"testing"
	"time"

	"github.com/synack/synack/sim"
)

// However often one event notifies, the application runs once, after that
// event and at the same instant; a notification while it runs wakes it again.
func TestWakerRunsOncePerEvent(t *testing.T) {
	n := sim.New(1)
	var log []string
	var w *sim.Waker
	again := true
	w = n.Waker(func() {
		log = append(log, "app@"+n.Elapsed().String())
		if again {
			again = false
			w.Notify() // e.g. its own write freed room it waits for
		}
	})
	n.At(time.Second, func() {
		w.Notify()
		w.Notify()
		w.Notify()
		log = append(log, "event@"+n.Elapsed().String())
	})
	n.RunFor(time.Minute)
	want := []string{"event@1s", "app@1s", "app@1s"}
	if len(log) != len(want) {
		t.Fatalf("ran %v, want %v", log, want)
	}
	for i := range want {
		if log[i] != want[i] {
			t.Fatalf("ran %v, want %v", log, want)
		}
	}
}
