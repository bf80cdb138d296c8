package stack

import (
	"testing"
	"unsafe"
)

// An ESTABLISHED connection's TCB is one allocation, a Conn, and the heap
// rounds it up to a size class: 1152 bytes holds it now. It was 768
// before the SACK scoreboard and RACK's send log came inline (issue 13);
// moving them to an allocation made only for a connection in loss would
// win those 384 bytes back (left to do). Fields are
// ordered to leave no padding worth that (tcp's parts, Conn's flags in
// the tuple's tail).
func TestTCBSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 1152 {
		t.Errorf("stack.Conn is %d bytes, over the 1152-byte size class", n)
	}
}
