package explore

import (
	"errors"
	"io"
	"strconv"
	"syscall"
	"time"

	"github.com/synack/synack/internal/pattern"
	"github.com/synack/synack/stack"
	"github.com/synack/synack/tcp"
)

// closeMode says when an application closes its sending side.
type closeMode uint8

const (
	closeNever       closeMode = iota
	closeEstablished           // CLOSE once established and everything is written (active close)
	closeOnEOF                 // CLOSE wait after reading end-of-file (passive close)
	closeAt                    // CLOSE at virtual time wait, or once established if later
	abortAfter                 // ABORT wait after establishment
	exitAfter                  // close(2) wait after establishment, whatever is unread (FIN, or RST with unread data)
	closeEarly                 // CLOSE at virtual time wait, even before the handshake completes
	abortOnEOF                 // ABORT wait after reading end-of-file: an ABORT in CLOSE-WAIT (RFC 9293 §3.10.5)
)

// plan is what one application does on its connection.
type plan struct {
	send     int           // bytes to write
	afterEOF bool          // write only after reading end-of-file (half-close: data in the other direction)
	close    closeMode     // when to close
	wait     time.Duration // see closeMode
	hold     bool          // keep the connection until CLOSED (reading after EOF), instead of releasing it when done
}

// orderly reports whether the plan ends the connection with CLOSE, not
// ABORT or an early exit.
func (p plan) orderly() bool {
	return p.close != abortAfter && p.close != exitAfter && p.close != closeEarly && p.close != abortOnEOF
}

// app is one application: it writes its stream, reads the peer's checking
// every byte, closes as its plan says, and releases the connection (as
// close(2) does) when done. Everything it sees is recorded for the checks.
type app struct {
	w       *world
	host    int
	c       *stack.Conn
	p       plan
	sendKey uint64 // stream written
	recvKey uint64 // stream read, known once the peer's ISN is
	keyed   bool
	corrupt bool
	peer    *app // the application at the other end, when known

	sent, got         int
	estab             bool
	wroteFIN, eof     bool
	aborted, released bool // aborted: ABORT or an early exit
	closeDue          bool // closeAt's time has come
	closeArmed        bool
	early             bool            // closed before the handshake completed: it expects nothing
	err               error           // error a read returned: ECONNRESET, ETIMEDOUT, ...
	dead              bool            // its host crashed: the application is gone
	onState           func(tcp.State) // called with each new state the application sees
	lastState         tcp.State
	problems          []string
}

func (a *app) fail(s string) {
	a.problems = append(a.problems, a.name()+": "+s)
}

func (a *app) name() string {
	return a.w.hosts[a.host].Name + "'s application (" + a.c.LocalAddr().String() + ")"
}

// start attaches the application to its connection.
func (a *app) start() {
	a.c.SetNotifier(a.w.net.Waker(a.pump))
	if a.p.close == closeAt || a.p.close == closeEarly {
		a.w.net.At(a.p.wait, func() { a.closeDue = true; a.pump() })
	}
	a.w.net.After(0, a.pump)
}

func (a *app) pump() {
	for i := 0; i < 3 && a.step(); i++ {
	}
	if a.dead {
		return
	}
	if a.w.cs.attacks {
		a.w.onState(a)
	}
	if st := a.c.State(); a.onState != nil && st != a.lastState {
		a.lastState = st
		a.onState(st)
	}
}

// step does what the application can do now; it reports whether it
// should look again (end-of-file let it write).
func (a *app) step() bool {
	if a.released || a.dead {
		return false
	}
	eofBefore := a.eof
	w := a.w
	now := w.net.Now()
	st := a.c.State()
	if !a.estab && st.Synchronized() {
		a.estab = true
		switch a.p.close {
		case abortAfter:
			w.net.After(a.p.wait, a.abort)
		case exitAfter:
			w.net.After(a.p.wait, a.exit)
		}
	}
	w.checkPairs()
	// Write.
	if !a.wroteFIN && !a.aborted && a.err == nil && (!a.p.afterEOF || a.eof) {
		for a.sent < a.p.send {
			k := min(a.p.send-a.sent, len(w.buf))
			pattern.Fill(w.buf[:k], a.sendKey, a.sent)
			n, err := a.c.Write(now, w.buf[:k])
			if err != nil || n == 0 {
				break
			}
			a.sent += n
		}
	}
	// Read.
	for !a.aborted && a.err == nil {
		n, err := a.c.Read(now, w.buf)
		if n > 0 {
			if a.eof {
				a.fail("read " + strconv.Itoa(n) + " bytes after end-of-file")
			}
			if !a.keyed {
				a.keyed = true
				a.recvKey = streamKey(a.c.RemoteAddr(), a.c.LocalAddr(), uint32(a.c.TCB().IRS()))
			}
			if !a.eof && !a.corrupt && !pattern.Match(w.buf[:n], a.recvKey, a.got) {
				a.corrupt = true
				a.fail("bytes " + strconv.Itoa(a.got) + ".." + strconv.Itoa(a.got+n) + " of the stream are not the ones sent (corrupted, duplicated or out of order)")
			}
			if !a.eof {
				a.got += n
				if a.peer != nil && a.got > a.peer.sent {
					a.fail("read " + strconv.Itoa(a.got) + " bytes of a stream of " + strconv.Itoa(a.peer.sent) + ": bytes duplicated")
				}
			}
		}
		if err == io.EOF {
			a.eof = true
			break
		}
		if err != nil {
			if !errors.Is(err, syscall.ENOTCONN) {
				a.err = err
			}
			break
		}
		if n == 0 {
			break
		}
	}
	// Close.
	written := a.sent == a.p.send
	switch a.p.close {
	case closeEstablished:
		if a.estab && written {
			a.closeWrite()
		}
	case closeOnEOF:
		if a.eof && written && !a.closeArmed {
			a.closeArmed = true
			if a.p.wait == 0 {
				a.closeWrite()
			} else {
				w.net.After(a.p.wait, func() { a.closeWrite(); a.pump() })
			}
		}
	case abortOnEOF:
		if a.eof && !a.closeArmed {
			a.closeArmed = true
			w.net.After(a.p.wait, a.abort)
		}
	case closeAt:
		if a.closeDue && a.estab && written {
			a.closeWrite()
		}
	case closeEarly:
		if a.closeDue && !a.wroteFIN {
			a.early = !a.estab
			a.closeWrite()
		}
	}
	// Release.
	done := (a.wroteFIN && a.eof) || a.err != nil || a.aborted || (a.early && a.c.State() == tcp.StateClosed)
	if a.c.Err() != nil && a.c.State() == tcp.StateClosed {
		done = true
	}
	if done && (!a.p.hold || a.c.State() == tcp.StateClosed || a.c.State() == tcp.StateListen) {
		a.released = true
		a.c.Close(now)
	}
	return a.eof && !eofBefore && a.p.afterEOF
}

func (a *app) closeWrite() {
	if a.wroteFIN || a.aborted || a.released || a.dead {
		return
	}
	a.wroteFIN = true
	if err := a.c.CloseWrite(a.w.net.Now()); err != nil && a.err == nil && a.c.Err() == nil {
		a.fail("CLOSE failed: " + err.Error())
	}
}

func (a *app) abort() {
	if a.aborted || a.released || a.dead {
		return
	}
	a.aborted = true
	a.c.Abort(a.w.net.Now())
	a.released = true
}

// exit is the process exiting: close(2) whatever is unread.
func (a *app) exit() {
	if a.aborted || a.released || a.dead {
		return
	}
	a.aborted = true
	a.released = true
	a.c.Close(a.w.net.Now())
}

// told reports whether the application learnt that its connection failed.
func (a *app) told() bool {
	err := a.err
	if err == nil {
		err = a.c.Err()
	}
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ETIMEDOUT) || errors.Is(err, syscall.ECONNREFUSED)
}
