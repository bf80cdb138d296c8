// Package copies counts the bytes copied at each place data is copied on
// its way between a link and an application, when built with the tag
// synack_copies; without it every call compiles to nothing. It answers
// "how many times is each byte copied" with a number rather than a reading
// of the code: go test -tags synack_copies -run CopiesPerByte ./interop.
package copies

// Site is a place where data bytes are copied.
type Site uint8

const (
	LinkIn   Site = iota // a link's read buffer, from the kernel (the TUN read itself)
	Backlog              // a packet queued while the stack's lock was held
	Pipe                 // an in-memory link's copy to its peer
	RecvRing             // a segment's data into the receive buffer
	ReadOut              // the receive buffer into the application's Read
	SendRing             // the application's Write into the send buffer
	Packet               // the send buffer into an outgoing packet
	Grow                 // a buffer growing or shrinking, its bytes moved
	LinkOut              // a link's write buffer (a header in front, a copy)
	Split                // a coalesced segment cut into segments in software, for a receiver that takes no batches
	NumSites
)

var names = [NumSites]string{"link-in", "backlog", "pipe", "recv-ring", "read-out", "send-ring", "packet", "grow", "link-out", "split"}

func (s Site) String() string {
	if s < NumSites {
		return names[s]
	}
	return "?"
}
