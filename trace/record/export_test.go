package record

// Held is how many packets, in-flight segments and connections' ISNs
// the recorder holds.
func (r *Recorder) Held() (packets, inFlight, conns int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byPacket), len(r.inFlight), len(r.isn)
}
