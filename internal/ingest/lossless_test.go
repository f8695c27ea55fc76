package ingest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// Unit tests of the lossless-ingest logic with the in-process fakes of fakes_test.go:
// no broker, no InfluxDB. The same properties against the real servers are in
// ingest_integration_test.go and spool_integration_test.go.

// checkConfig builds the service on fakes with a config changed by mutate: the
// config's one validation is New's. It fails the test if anything connected.
// (cmd/ingest's tests parse the flags into such configs.)
func checkConfig(t *testing.T, mutate func(*Config)) (Config, error) {
	t.Helper()
	cfg := DefaultConfig()
	mutate(&cfg)
	b, w := &fakeBroker{}, &fakeWriter{}
	_, err := New(cfg, Deps{Brokers: []Broker{b}, Writer: w}, zerolog.Nop(), nil)
	if b.Connects() != 0 || w.calls != 0 || len(b.filters) != 0 {
		t.Errorf("New connected or subscribed (broker %d connects, %d filters, %d writes): validation must come first", b.Connects(), len(b.filters), w.calls)
	}
	return cfg, err
}

// TestBuildRefusesBadConfigWithRange: Build, the path of cmd/ingest and of the tests
// on real servers, refuses an out-of-range value with the allowed range, before it
// makes any adapter (an unreachable InfluxDB URL does not matter).
func TestBuildRefusesBadConfigWithRange(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Writers, cfg.Limits.MaxPayload = 0, 10
	_, _, err := Build(cfg, zerolog.Nop(), nil)
	if err == nil || !strings.Contains(err.Error(), "--writers 0: use 1..64") || !strings.Contains(err.Error(), "--max-payload 10 bytes: use 64..") {
		t.Fatalf("Build = %v, want both refusals with their ranges", err)
	}
}

// TestAckOnlyAfterSpoolSync: a message is acknowledged only after the record holding
// its lines was appended and fsynced; while fsync fails (a failing disk) nothing is
// acknowledged and the service says it is stalled; acknowledgements keep arrival order.
func TestAckOnlyAfterSpoolSync(t *testing.T) {
	fs := newFakeSpool(2)
	p := newPending(1 << 20)
	cm := &committer{p: p, sp: fs, c: newCounters(), log: zerolog.Nop(), rlog: newRateLog(time.Hour)}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() { defer close(done); cm.run(context.Background(), stop) }()
	line := func(i int) string { return fmt.Sprintf("telemetry,machine=m v=%d %d\n", i, i) }
	add := func(i int) {
		m := ackMsg{topic: "t", onAck: func() { fs.log(spoolEvent{kind: "ack", msg: i}) }}
		if !p.add(m, []byte(line(i)), decoded{points: 1, values: 1, maxTS: int64(i)}) {
			t.Fatalf("message %d refused by an open pipeline", i)
		}
	}
	const n = 40
	add(0)
	waitUntil(t, "the first fsync to fail", func() bool { return slices.ContainsFunc(fs.snapshot(), isKind("sync-failed")) })
	if !cm.c.spoolStalled.Load() {
		t.Error("fsync failed but the spool is not reported stalled (readiness would stay green)")
	}
	if slices.ContainsFunc(fs.snapshot(), isKind("ack")) {
		t.Fatal("a message was acknowledged although its record's fsync failed")
	}
	for i := 1; i < n; i++ {
		add(i)
	}
	waitUntil(t, "every message acknowledged", func() bool { return cm.c.acked.Load() == n })
	close(stop)
	<-done

	ev := fs.snapshot()
	var acked []int
	for k, e := range ev {
		if e.kind != "ack" {
			continue
		}
		acked = append(acked, e.msg)
		// The latest append before this ack holding the message's line, then a
		// successful fsync between that append and the ack.
		a := -1
		for j := k - 1; j >= 0; j-- {
			if ev[j].kind == "append" && strings.Contains(ev[j].rec, line(e.msg)) {
				a = j
				break
			}
		}
		if a < 0 || !slices.ContainsFunc(ev[a+1:k], isKind("sync")) {
			t.Fatalf("message %d acknowledged at event %d without an fsynced record holding it (append at %d): %v", e.msg, k, a, ev[:k+1])
		}
	}
	if want := seq(n); !slices.Equal(acked, want) {
		t.Fatalf("acknowledged %v, want each message once in arrival order", acked)
	}
	if cm.c.spoolStalled.Load() || cm.c.spoolErrors.Load() != 2 {
		t.Errorf("after recovery: stalled %v, %d spool errors; want false, 2", cm.c.spoolStalled.Load(), cm.c.spoolErrors.Load())
	}
}

// TestStoreOutageLosesNothing: with InfluxDB away, messages are still acknowledged
// (they are on disk in the spool) and the service stays ready; once it is back every
// point is written exactly once.
func TestStoreOutageLosesNothing(t *testing.T) {
	w := &fakeWriter{down: true}
	cfg := fakeConfig(t)
	rs := runFake(t, cfg, w)
	const n = 300
	rs.deliver(t, 0, n)
	waitUntil(t, "every message acknowledged", func() bool { return rs.acks.Load() == n })
	waitUntil(t, "a failed write", func() bool { return rs.svc.Stats().WriteErrors > 0 })
	if len(w.lines()) != 0 {
		t.Fatal("the fake store kept lines while down")
	}
	if err := rs.svc.Ready(context.Background()); err != nil {
		t.Errorf("not ready with InfluxDB away and the spool nearly empty: %v", err)
	}
	w.setDown(false)
	waitUntil(t, "every point written", func() bool { return rs.svc.Stats().PointsWritten == n })
	if err := rs.stop(); err != nil {
		t.Fatal(err)
	}
	assertStored(t, w.lines(), expectedLines(0, n, -1))
}

// TestStoreDownAcrossRestartLosesNothing: InfluxDB is away for the whole first run;
// what was acknowledged waits in the spool and the next run (same spool directory)
// writes it, once.
func TestStoreDownAcrossRestartLosesNothing(t *testing.T) {
	w := &fakeWriter{down: true}
	cfg := fakeConfig(t)
	cfg.ShutdownTimeout = 100 * time.Millisecond
	rs := runFake(t, cfg, w)
	const n = 200
	rs.deliver(t, 0, n)
	waitUntil(t, "every message acknowledged", func() bool { return rs.acks.Load() == n })
	if err := rs.stop(); err != nil {
		t.Fatal(err)
	}
	w.setDown(false)
	rs = runFake(t, cfg, w)
	waitUntil(t, "the spool replayed", func() bool { return rs.svc.Stats().PointsWritten == n })
	if err := rs.stop(); err != nil {
		t.Fatal(err)
	}
	assertStored(t, w.lines(), expectedLines(0, n, -1))
}

// TestPartialWriteIsNotRetried: InfluxDB keeps the valid points of a batch and refuses
// one for good (a partial write). The refused point is counted as dropped, the kept
// ones as written, and the batch is released, not retried (which would write the kept
// points again and block everything behind it).
func TestPartialWriteIsNotRetried(t *testing.T) {
	const n, bad = 100, 37
	w := &fakeWriter{down: true, refuse: func(l string) bool { return strings.Contains(l, fmt.Sprintf(" v=%d ", bad)) }}
	rs := runFake(t, fakeConfig(t), w)
	rs.deliver(t, 0, n)
	waitUntil(t, "every message acknowledged", func() bool { return rs.acks.Load() == n })
	w.setDown(false) // the spool now holds one batch with the bad point among good ones
	waitUntil(t, "every point written or dropped", func() bool { st := rs.svc.Stats(); return st.PointsWritten+st.Dropped == n })
	if err := rs.stop(); err != nil {
		t.Fatal(err)
	}
	if st := rs.svc.Stats(); st.Dropped != 1 || st.PointsWritten != n-1 {
		t.Errorf("dropped %d, written %d; want 1, %d", st.Dropped, st.PointsWritten, n-1)
	}
	assertStored(t, w.lines(), expectedLines(0, n, bad))
}

// TestTooLargeBatchIsSplit: a server refusing large bodies (HTTP 413) gets the batch
// in halves; every point is written once, none dropped.
func TestTooLargeBatchIsSplit(t *testing.T) {
	const n = 64
	w := &fakeWriter{down: true, maxBody: 300}
	rs := runFake(t, fakeConfig(t), w)
	rs.deliver(t, 0, n)
	waitUntil(t, "every message acknowledged", func() bool { return rs.acks.Load() == n })
	w.setDown(false)
	waitUntil(t, "every point written", func() bool { return rs.svc.Stats().PointsWritten == n })
	if err := rs.stop(); err != nil {
		t.Fatal(err)
	}
	if st := rs.svc.Stats(); st.Dropped != 0 {
		t.Errorf("dropped %d points", st.Dropped)
	}
	assertStored(t, w.lines(), expectedLines(0, n, -1))
}

var fakeT0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func fakeConfig(t *testing.T) Config {
	cfg := DefaultConfig()
	cfg.ClientID = "fake"
	cfg.SpoolDir = t.TempDir()
	cfg.FlushInterval = 10 * time.Millisecond
	cfg.ShutdownTimeout = 5 * time.Second
	return cfg
}

// payload and expected line of message i: machine m1, value i at fakeT0+i seconds.
func fakePayload(i int) []byte {
	return fmt.Appendf(nil, `{"ts":%q,"values":{"v":%d}}`, fakeT0.Add(time.Duration(i)*time.Second).Format(time.RFC3339), i)
}

func expectedLines(from, to, skip int) []string {
	var out []string
	for i := from; i < to; i++ {
		if i != skip {
			out = append(out, fmt.Sprintf("telemetry,line=l,machine=m1,site=s v=%d %d\n", i, fakeT0.Add(time.Duration(i)*time.Second).UnixNano()))
		}
	}
	return out
}

// assertStored checks the store holds exactly want, each line once.
func assertStored(t *testing.T, got, want []string) {
	t.Helper()
	got, want = slices.Clone(got), slices.Clone(want)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("stored %d lines, want %d exactly once each; first stored: %q", len(got), len(want), got[:min(3, len(got))])
	}
}

type runningFake struct {
	svc    *Service
	broker *fakeBroker
	acks   atomic.Int64
	stop   func() error
}

// runFake runs a service on a fake broker connection and the fake store w.
func runFake(t *testing.T, cfg Config, w *fakeWriter) *runningFake {
	t.Helper()
	rs := &runningFake{broker: &fakeBroker{}}
	svc, err := New(cfg, Deps{Brokers: []Broker{rs.broker}, Writer: w}, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel), nil)
	if err != nil {
		t.Fatal(err)
	}
	rs.svc = svc
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- svc.Run(ctx) }()
	var once sync.Once
	var runErr error
	rs.stop = func() error {
		once.Do(func() { cancel(); runErr = <-errc })
		return runErr
	}
	t.Cleanup(func() { _ = rs.stop() })
	waitUntil(t, "the service to connect", func() bool { return rs.broker.Connected() && svc.Ready(context.Background()) == nil })
	return rs
}

// deliver hands messages from..to-1 to the service as the broker connection would.
func (rs *runningFake) deliver(t *testing.T, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		rs.broker.deliver(ackMsg{topic: "factory/s/l/m1/telemetry", payload: fakePayload(i), onAck: func() { rs.acks.Add(1) }})
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second) // generous: the test machine is shared
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func isKind(k string) func(spoolEvent) bool { return func(e spoolEvent) bool { return e.kind == k } }

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
