package alerting

import "testing"

// Holdoff refuses a raise until Holdoff windows have passed since the previous raise,
// even when the alert cleared in between; 0 keeps the historical behaviour.
func TestHoldoff(t *testing.T) {
	base := Config{Levels: Levels{Warn: 1, Critical: 9, Clear: 0.5, Above: true}, K: 1, M: 1, ClearAfter: 1}
	scores := []float64{2, 0, 2, 0, 2, 0, 2, 0, 2}
	if got, want := run(t, base, scores), "0:raised/warning 1:cleared/warning 2:raised/warning 3:cleared/warning 4:raised/warning 5:cleared/warning 6:raised/warning 7:cleared/warning 8:raised/warning"; got != want {
		t.Fatalf("no holdoff: %q, want %q", got, want)
	}
	h := base
	h.Holdoff = 4
	// Raised at 0; windows 1..4 count; 4 is the 4th since the raise, so it may raise.
	if got, want := run(t, h, scores), "0:raised/warning 1:cleared/warning 4:raised/warning 5:cleared/warning 8:raised/warning"; got != want {
		t.Fatalf("holdoff 4: %q, want %q", got, want)
	}
	h.Holdoff = -1
	if _, err := New(h); err == nil {
		t.Fatal("negative holdoff accepted")
	}
}
