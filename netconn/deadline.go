package netconn

import (
	"sync"
	"time"
)

// deadline is one direction's deadline, kept as net.Pipe keeps it: a
// channel that is closed when the deadline passes. A blocked Read or Write
// selects on the channel it got from wait; setting a new deadline either
// keeps that channel (still open: the new timer will close it), closes it
// (the new deadline is past), or, when it was already closed, replaces it
// with a fresh one, so that a change takes effect on calls already blocked.
//
// Until a deadline is first set, cancel is nil (a nil channel never
// fires), which saves an idle connection two channels; the setter then
// pokes the connection's waiters so that blocked calls select on the new
// channel.
type deadline struct {
	mu     sync.Mutex // guards timer and cancel; never taken with Stack.mu held
	timer  *time.Timer
	cancel chan struct{} // closed when the deadline has passed; nil until one is set
}

// set sets the deadline to t; the zero time means none.
func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil && !d.timer.Stop() {
		<-d.cancel // the timer fired: wait for its close to land
	}
	d.timer = nil
	closed := isClosed(d.cancel)
	if t.IsZero() {
		if closed {
			d.cancel = make(chan struct{})
		}
		return
	}
	if closed || d.cancel == nil {
		d.cancel = make(chan struct{})
	}
	if dur := time.Until(t); dur > 0 {
		cancel := d.cancel
		d.timer = time.AfterFunc(dur, func() { close(cancel) })
		return
	}
	close(d.cancel)
}

// wait returns the channel that is closed when the deadline passes.
func (d *deadline) wait() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cancel
}

// expired reports whether the deadline has passed.
func (d *deadline) expired() bool { return isClosed(d.wait()) }

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
