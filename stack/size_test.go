package stack

import (
	"testing"
	"unsafe"
)

// An ESTABLISHED connection's TCB is one allocation, a Conn, and the heap
// rounds it up to a size class: 768 bytes holds it now, and a few bytes
// more would cost 128 per connection (the 896-byte class). Fields are
// ordered to leave no padding worth that (tcp's parts, Conn's flags in
// the tuple's tail).
func TestTCBSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(Conn{}); n > 768 {
		t.Errorf("stack.Conn is %d bytes, over the 768-byte size class", n)
	}
}
