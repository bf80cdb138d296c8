package sim

// Waker is the stack.Notifier of an application in the simulation, the
// one way scenarios and the explorer wake theirs: however many times a
// connection or listener notifies within one event, f runs once, as an
// event of its own at the same instant, after the one that notified — as
// a thread woken by the kernel runs after the packet that woke it.
type Waker struct {
	net *Network
	f   func()
	run func()
	due bool
}

// Waker returns a Waker that runs f.
func (n *Network) Waker(f func()) *Waker {
	w := &Waker{net: n, f: f}
	w.run = func() { w.due = false; w.f() }
	return w
}

// Notify schedules f, unless it is scheduled already.
func (w *Waker) Notify() {
	if !w.due {
		w.due = true
		w.net.After(0, w.run)
	}
}
