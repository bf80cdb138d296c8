package sim

import (
	"time"

	"github.com/synack/synack/internal/heap"
)

// event is something scheduled: ordered by time, then by the order it was
// scheduled in, never by anything that varies between runs.
type event struct {
	at  time.Time
	seq uint64
	f   func()
}

func eventBefore(a, b event) bool {
	if !a.at.Equal(b.at) {
		return a.at.Before(b.at)
	}
	return a.seq < b.seq
}

func newEventQueue() heap.Heap[event] { return heap.New(eventBefore, nil) }
