package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t *testing.T, dir string, o Options) (*Spool, Recovery) {
	t.Helper()
	s, rec, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return s, rec
}

func appendN(t *testing.T, s *Spool, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := s.Append([]byte(fmt.Sprintf("record-%05d", i))); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		if i%7 == 0 { // group commits of varying size
			if err := s.Sync(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
}

// drain reads everything available, releasing each batch when release is true.
func drain(t *testing.T, s *Spool, maxBytes int, release bool) []string {
	t.Helper()
	var out []string
	for s.Pending() > 0 {
		b, err := s.Next(context.Background(), maxBytes, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range b.Records {
			out = append(out, string(r))
		}
		if release {
			if err := s.Release(b); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

func wantSeq(t *testing.T, got []string, from, to int) {
	t.Helper()
	if len(got) != to-from {
		t.Fatalf("got %d records, want %d", len(got), to-from)
	}
	for i, g := range got {
		if w := fmt.Sprintf("record-%05d", from+i); g != w {
			t.Fatalf("record %d = %q, want %q (order broken)", i, g, w)
		}
	}
}

func TestAppendSyncReadOrderAcrossSegments(t *testing.T) {
	s, _ := open(t, t.TempDir(), Options{MaxBytes: 1 << 20, SegmentBytes: 500})
	defer s.Close()
	appendN(t, s, 0, 300)
	wantSeq(t, drain(t, s, 256, true), 0, 300)
	// Everything shipped: only the open segment may remain.
	if sz := s.Size(); sz > 500+HeaderSize+12 {
		t.Fatalf("size after releasing everything = %d, shipped segments not deleted", sz)
	}
}

func TestReplayAfterReopenInOrder(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir, Options{SegmentBytes: 300})
	appendN(t, s, 0, 100)
	got := drain(t, s, 100, false) // read but never released: must come back
	wantSeq(t, got, 0, 100)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, rec := open(t, dir, Options{SegmentBytes: 300})
	defer s.Close()
	if rec.Records != 100 || rec.TruncatedBytes != 0 {
		t.Fatalf("recovery %+v, want 100 records, nothing truncated", rec)
	}
	appendN(t, s, 100, 120)
	wantSeq(t, drain(t, s, 1000, true), 0, 120)
}

func TestTornTailIsDetectedAndCut(t *testing.T) {
	for _, tc := range []struct {
		name string
		tear func(t *testing.T, path string)
	}{
		{"half a header", func(t *testing.T, p string) { appendBytes(t, p, []byte{9, 0, 0}) }},
		{"short payload", func(t *testing.T, p string) { appendBytes(t, p, []byte{50, 0, 0, 0, 1, 2, 3, 4, 'x'}) }},
		{"bad crc", func(t *testing.T, p string) { appendBytes(t, p, []byte{1, 0, 0, 0, 0, 0, 0, 0, 'x'}) }},
		{"garbage length", func(t *testing.T, p string) { appendBytes(t, p, []byte{255, 255, 255, 255, 0, 0, 0, 0}) }},
		{"flipped byte in last record", func(t *testing.T, p string) {
			b, _ := os.ReadFile(p)
			b[len(b)-1] ^= 0xff
			os.WriteFile(p, b, 0o644)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, _ := open(t, dir, Options{})
			appendN(t, s, 0, 20)
			s.Close()
			segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
			last := segs[len(segs)-1]
			tc.tear(t, last)
			s, rec := open(t, dir, Options{})
			defer s.Close()
			want := 20
			if tc.name == "flipped byte in last record" {
				want = 19 // the damaged record itself is the torn tail
			}
			if rec.TruncatedBytes == 0 || rec.Records != want {
				t.Fatalf("recovery %+v: want %d records and a truncated tail", rec, want)
			}
			wantSeq(t, drain(t, s, 1<<20, true), 0, want)
		})
	}
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(b)
	f.Close()
}

func TestSizeBoundReturnsErrFullUntilReleased(t *testing.T) {
	s, _ := open(t, t.TempDir(), Options{MaxBytes: 2000, SegmentBytes: 400})
	defer s.Close()
	rec := make([]byte, 92) // 100 bytes framed
	n := 0
	for ; n < 100; n++ {
		err := s.Append(rec)
		if errors.Is(err, ErrFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if n != 20 || s.Size() > 2000 {
		t.Fatalf("accepted %d records (%d bytes) under a 2000-byte bound, want 20", n, s.Size())
	}
	ch := s.Changed()
	b, err := s.Next(context.Background(), 500, 0) // exactly the first segment
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Append(rec); !errors.Is(err, ErrFull) {
		t.Fatalf("read but unreleased data must still count: got %v", err)
	}
	if err := s.Release(b); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(time.Second):
		t.Fatal("Release freed a segment without signalling Changed")
	}
	if err := s.Append(rec); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

// TestFullOpenSegmentDrains: when the whole bound sits in the open segment and readers
// have shipped it, appending must become possible again (the segment is sealed on ErrFull).
func TestFullOpenSegmentDrains(t *testing.T) {
	s, _ := open(t, t.TempDir(), Options{MaxBytes: 1000, SegmentBytes: 1000})
	defer s.Close()
	rec := make([]byte, 92)
	var full bool
	for i := 0; i < 20 && !full; i++ {
		err := s.Append(rec)
		full = errors.Is(err, ErrFull)
		if err == nil {
			_ = s.Sync()
		}
	}
	if !full {
		t.Fatal("never full")
	}
	drain(t, s, 1<<20, true)
	if err := s.Append(rec); err != nil {
		t.Fatalf("spool did not drain: %v (size %d)", err, s.Size())
	}
}

func TestNextWaitsForSizeOrTime(t *testing.T) {
	s, _ := open(t, t.TempDir(), Options{})
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Next(ctx, 100, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("empty spool: Next = %v, want to block until ctx ends", err)
	}
	appendN(t, s, 0, 1)
	b, err := s.Next(context.Background(), 1<<20, 20*time.Millisecond)
	if err != nil || len(b.Records) != 1 {
		t.Fatalf("after the wait: %v, %v", b, err)
	}
}

func TestCloseUnblocksNext(t *testing.T) {
	s, _ := open(t, t.TempDir(), Options{})
	errc := make(chan error, 1)
	go func() { _, err := s.Next(context.Background(), 10, 0); errc <- err }()
	time.Sleep(20 * time.Millisecond)
	s.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close = %v, want ErrClosed", err)
	}
}

func BenchmarkAppendSync(b *testing.B) {
	s, _, err := Open(b.TempDir(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	rec := make([]byte, 4096)
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	for b.Loop() {
		if err := s.Append(rec); err != nil {
			b.Fatal(err)
		}
		if err := s.Sync(); err != nil {
			b.Fatal(err)
		}
		if s.Size() > 512<<20 {
			for s.Pending() > 0 {
				bt, _ := s.Next(context.Background(), 1<<20, 0)
				s.Release(bt)
			}
		}
	}
}

// NextBuf reads into the caller's buffer when it fits (no garbage per batch) and into a
// fresh one when a single record is larger; the records are the same either way.
func TestNextBufReusesTheBuffer(t *testing.T) {
	s, _ := open(t, t.TempDir(), Options{MaxBytes: 1 << 20, SegmentBytes: 1 << 16})
	defer s.Close()
	appendN(t, s, 0, 50)
	big := make([]byte, 300)
	for i := range big {
		big[i] = 'x'
	}
	if err := s.Append(big); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 200)
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	inBuf := func(r []byte) bool {
		p := uintptr(unsafe.Pointer(unsafe.SliceData(r)))
		return p >= lo && p < lo+uintptr(len(buf))
	}
	var got []string
	sawBig := false
	for s.Pending() > 0 {
		b, err := s.NextBuf(context.Background(), buf, len(buf), 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range b.Records {
			if len(r) == len(big) {
				sawBig = true
				if inBuf(r) {
					t.Fatal("a record larger than the buffer was read into it")
				}
				continue
			}
			if !inBuf(r) {
				t.Fatalf("record %q was not read into the caller's buffer", r)
			}
			got = append(got, string(r))
		}
		if err := s.Release(b); err != nil {
			t.Fatal(err)
		}
	}
	wantSeq(t, got, 0, 50)
	if !sawBig {
		t.Fatal("the 300-byte record was not returned")
	}
}
