package tcp

import (
	"errors"
	"syscall"
	"time"
)

// ErrConnectionClosing is RFC 9293's "error: connection closing": CLOSE
// was already called.
var ErrConnectionClosing = errors.New("tcp: connection closing")

// Close is RFC 9293 §3.10.4 CLOSE: "I have no more to send". The
// connection can still receive (a half-close); a FIN follows the queued
// data.
func (c *Conn) Close(now time.Time) error {
	if c.state != StateClosed && c.state != StateListen {
		c.shutWr = true
	}
	switch c.state {
	case StateClosed:
		return syscall.ENOTCONN
	case StateListen:
		c.setState(now, StateClosed, CauseCloseListen)
	case StateSynSent:
		c.closeWith(now, nil, CauseCloseSynSent)
	case StateSynReceived, StateEstablished:
		c.queueFin()
		c.setState(now, StateFinWait1, CauseCloseFIN)
		c.flush(now)
	case StateCloseWait:
		c.queueFin()
		c.setState(now, StateLastAck, CauseCloseFIN)
		c.flush(now)
	default:
		return ErrConnectionClosing
	}
	return nil
}

// Abort is RFC 9293 §3.10.5 ABORT: send RST where the peer holds state,
// drop everything, enter CLOSED.
func (c *Conn) Abort(now time.Time) {
	switch c.state {
	case StateClosed:
	case StateSynReceived, StateEstablished, StateFinWait1, StateFinWait2, StateCloseWait:
		c.sendRST(now, c.acceptableSeq(), c.rcvNxt, true, CauseAbort)
		c.rcv.release(c.pool())
		c.closeWith(now, nil, CauseAbort)
	default:
		c.rcv.release(c.pool())
		c.closeWith(now, nil, CauseAbortQuiet)
	}
}

// Detach is the application letting go of the connection, as close(2)
// does: the connection becomes an orphan the stack finishes on its own. If
// received data was never read, it aborts with RST, as Linux does (RFC 2525
// §2.17); otherwise it closes with FIN as Close does.
func (c *Conn) Detach(now time.Time) {
	if c.orphan {
		return
	}
	c.orphan = true
	switch c.state {
	case StateSynReceived, StateEstablished, StateFinWait1, StateFinWait2, StateCloseWait:
		if c.rcv.n > 0 {
			c.sendRST(now, c.acceptableSeq(), c.rcvNxt, true, CauseUnreadData)
			c.rcv.release(c.pool())
			c.closeWith(now, nil, CauseUnreadData)
			return
		}
	}
	c.rcv.release(c.pool())
	switch c.state {
	case StateFinWait2:
		c.setTimer(now, TimerFinWait2, c.cfg.FinWait2Timeout)
	case StateListen, StateSynSent, StateSynReceived, StateEstablished, StateCloseWait:
		c.Close(now)
	}
}
