package stack

import (
	"testing"
	"unsafe"
)

// An ESTABLISHED connection's TCB is one allocation, a Conn, and the heap
// rounds it up to a size class: 768 bytes holds it, and a few bytes more
// would cost 128 per connection (the 896-byte class). Loss recovery's
// state (the SACK scoreboard, RACK's send log, the undo, the loss
// counters) is out of line, made only when a connection first needs it
// (tcp's lossState): inline it took the TCB to 1152. Fields are ordered
// to leave no padding worth a class (tcp's parts, Conn's flags in the
// tuple's tail).
func TestTCBSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 768 {
		t.Errorf("stack.Conn is %d bytes, over the 768-byte size class", n)
	}
}
