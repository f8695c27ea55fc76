package simulators

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

// firstWrite signals its first Write.
type firstWrite struct {
	once sync.Once
	ch   chan struct{}
}

func (f *firstWrite) Write(p []byte) (int, error) {
	f.once.Do(func() { close(f.ch) })
	return len(p), nil
}

// TestLiveRunFlushesTruth: an endless paced run (docs/simulator.md's live plant with
// --truth-out) kept its truth records in a 64 KiB buffer, so truth.jsonl stayed empty
// for minutes; they reach the file while the run goes on now.
func TestLiveRunFlushesTruth(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Machines = 2
	p, err := NewPlant(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := &firstWrite{ch: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	// 600x: a simulated minute (one periodic truth record per machine) every 0.1 s.
	go func() {
		done <- p.Run(ctx, &recorder{}, RunOptions{Topics: telemetry.MustTopics(""), Truth: w, Speed: 600})
	}()
	select {
	case <-w.ch:
	case err := <-done:
		t.Fatalf("run ended early: %v", err)
	case <-time.After(30 * time.Second):
		t.Error("no truth record written while the run went on")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
