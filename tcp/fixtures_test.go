package tcp

import "testing"

// Every fixture reaches its state through legal transitions and leaves the
// connection consistent.
func TestFixtures(t *testing.T) {
	for _, s := range States() {
		t.Run(s.String(), func(t *testing.T) {
			h := newHarness(t).gotoState(s)
			h.wantState(s)
			h.checkInvariants()
		})
	}
	t.Run("ESTABLISHED active", func(t *testing.T) {
		newHarness(t).establishedActive().checkInvariants()
	})
}
