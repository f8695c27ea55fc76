package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
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

// TestTornTailIsDetectedAndCut: what a crash mid-append leaves at the end of the last
// segment (an incomplete record, or zeros) is cut without a backup: it was never synced.
func TestTornTailIsDetectedAndCut(t *testing.T) {
	for _, tc := range []struct {
		name string
		tear func(t *testing.T, path string)
	}{
		{"half a header", func(t *testing.T, p string) { appendBytes(t, p, []byte{9, 0, 0}) }},
		{"short payload", func(t *testing.T, p string) { appendBytes(t, p, []byte{50, 0, 0, 0, 1, 2, 3, 4, 'x'}) }},
		{"zero-filled tail", func(t *testing.T, p string) { appendBytes(t, p, make([]byte, 4096)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, _ := open(t, dir, Options{})
			appendN(t, s, 0, 20)
			s.Close()
			segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
			tc.tear(t, segs[len(segs)-1])
			s, rec := open(t, dir, Options{})
			defer s.Close()
			if rec.TruncatedBytes == 0 || rec.Records != 20 || rec.CorruptBytes != 0 || len(rec.Backups) != 0 {
				t.Fatalf("recovery %+v: want 20 records, a truncated tail, no corruption", rec)
			}
			wantSeq(t, drain(t, s, 1<<20, true), 0, 20)
		})
	}
}

// TestCorruptionIsSkippedNotTruncated: a damaged synced record, anywhere (a sealed
// segment, the middle or the end of the last one), costs only itself: recovery keeps a
// copy of the file, resynchronises on the next valid record and counts the damage.
// Before, one flipped bit truncated the segment there and every record after it was lost.
func TestCorruptionIsSkippedNotTruncated(t *testing.T) {
	const n = 300 // 20 bytes each: record-00000
	for _, tc := range []struct {
		name     string
		seg      int // which segment file (0 = first, -1 = last)
		at       int // byte offset into it (negative: from the end)
		value    byte
		lostMost int // records the damage may cost
	}{
		{"bit in a payload, sealed segment", 0, 50, 0x01, 1},
		{"bit in a length, sealed segment", 0, 40, 0x10, 1},
		{"byte in a CRC, middle of the last segment", -1, 21, 0xff, 1},
		{"flipped last byte of the last segment", -1, -1, 0xff, 1},
		{"huge length in a sealed segment", 0, 43, 0xff, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, _ := open(t, dir, Options{SegmentBytes: 1000})
			appendN(t, s, 0, n)
			s.Close()
			segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
			if len(segs) < 3 {
				t.Fatalf("want several segments, have %d", len(segs))
			}
			p := segs[0]
			if tc.seg < 0 {
				p = segs[len(segs)-1]
			}
			b, _ := os.ReadFile(p)
			at := tc.at
			if at < 0 {
				at += len(b)
			}
			b[at] ^= tc.value
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			s, rec := open(t, dir, Options{SegmentBytes: 1000})
			defer s.Close()
			if rec.CorruptBytes == 0 || rec.CorruptRegions != 1 || len(rec.Backups) != 1 {
				t.Fatalf("recovery %+v: want the damage counted once and the file backed up", rec)
			}
			if backup, err := os.ReadFile(rec.Backups[0]); err != nil || string(backup) != string(b) {
				t.Fatalf("backup %s: %v (or not the damaged file as it was)", rec.Backups[0], err)
			}
			if s.CorruptBytes() != rec.CorruptBytes {
				t.Fatalf("CorruptBytes() = %d, recovery says %d", s.CorruptBytes(), rec.CorruptBytes)
			}
			got := drain(t, s, 1<<20, true)
			if len(got) < n-tc.lostMost || len(got) >= n {
				t.Fatalf("%d of %d records survive one damaged byte; want %d..%d", len(got), n, n-tc.lostMost, n-1)
			}
			// Order kept, nothing invented: got is the sequence with one record missing.
			seen := map[string]bool{}
			for i, g := range got {
				if seen[g] || (i > 0 && g <= got[i-1]) {
					t.Fatalf("record %d = %q out of order or repeated", i, g)
				}
				seen[g] = true
			}
		})
	}
}

// TestCorruptionWhileReadingResyncs: damage that appears after Open (the disk rots under
// a running ingest) is skipped up to the next valid record of the segment, not to its end.
func TestCorruptionWhileReadingResyncs(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir, Options{SegmentBytes: 100000})
	defer s.Close()
	appendN(t, s, 0, 100)
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	f, err := os.OpenFile(segs[0], os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xff}, 20*10+12); err != nil { // payload of record 10
		t.Fatal(err)
	}
	f.Close()
	var got []string
	corrupt := 0
	for s.Pending() > 0 {
		b, err := s.Next(context.Background(), 1<<20, 0)
		if errors.Is(err, ErrCorrupt) {
			corrupt++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range b.Records {
			got = append(got, string(r))
		}
		s.Release(b)
	}
	if corrupt != 1 || len(got) != 99 || s.CorruptBytes() != 20 {
		t.Fatalf("corrupt errors %d, records %d, corrupt bytes %d; want 1, 99, 20", corrupt, len(got), s.CorruptBytes())
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

// TestReplayOnlyUnshipped: Open replays what follows the shipped checkpoint, also inside
// the segment that was being written (never sealed) and with batches released out of
// order; a damaged checkpoint falls back to replaying everything (duplicates, no loss).
func TestReplayOnlyUnshipped(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir, Options{SegmentBytes: 1 << 20})
	appendN(t, s, 0, 50)
	var batches []*Batch
	for range 3 { // three batches of 10 records (200 bytes each)
		b, err := s.Next(context.Background(), 200, 0)
		if err != nil || len(b.Records) != 10 {
			t.Fatalf("batch: %v, %d records", err, len(b.Records))
		}
		batches = append(batches, b)
	}
	// Release the third and the first: the checkpoint may only pass the first.
	for _, i := range []int{2, 0} {
		if err := s.Release(batches[i]); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s, rec := open(t, dir, Options{SegmentBytes: 1 << 20})
	if rec.Records != 40 || rec.ShippedBytes != 200 {
		t.Fatalf("recovery %+v: want 40 records replayed, 200 bytes skipped as shipped", rec)
	}
	wantSeq(t, drain(t, s, 1<<20, true), 10, 50)
	s.Close()
	s, rec = open(t, dir, Options{SegmentBytes: 1 << 20})
	if rec.Records != 0 || s.Pending() != 0 {
		t.Fatalf("everything shipped, yet recovery %+v, pending %d", rec, s.Pending())
	}
	appendN(t, s, 50, 60)
	s.Close()
	if err := os.WriteFile(filepath.Join(dir, CheckpointFile), []byte("garbage-garbage-garb"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, rec = open(t, dir, Options{SegmentBytes: 1 << 20})
	defer s.Close()
	if rec.CheckpointErr == nil || rec.Records != 10 {
		t.Fatalf("damaged checkpoint: recovery %+v, want the error and the 10 records on disk", rec)
	}
	wantSeq(t, drain(t, s, 1<<20, true), 50, 60)
}

// TestFailedRotationIsRetried (issue 16.5): when creating the next segment fails (here a
// directory squats its name: EISDIR, as out of inodes or EMFILE would fail it), appends
// fail while the fault lasts and work again once it is gone; nothing synced is lost and
// nothing is written to a closed file. Before, the closed segment stayed the writer and
// every later Append failed until a restart.
func TestFailedRotationIsRetried(t *testing.T) {
	dir := t.TempDir()
	s, _ := open(t, dir, Options{SegmentBytes: 100})
	defer s.Close()
	squat := filepath.Join(dir, fmt.Sprintf("%020d.seg", 2))
	if err := os.Mkdir(squat, 0o755); err != nil {
		t.Fatal(err)
	}
	appendN(t, s, 0, 5) // 100 bytes: the Sync rotates, and the rotation fails
	if err := s.Append([]byte("record-00005")); err == nil {
		t.Fatal("Append succeeded with no segment to write to")
	}
	if err := os.Remove(squat); err != nil {
		t.Fatal(err)
	}
	appendN(t, s, 5, 20)
	wantSeq(t, drain(t, s, 1<<20, true), 0, 20)
}

// TestFullDiskRecovers (issue 16.4), as root on a small tmpfs: with the disk full, the
// write segment (all of it shipped) is sealed so that it can be deleted, and the reader
// holds no descriptor of a deleted segment, so the space comes back and appends resume
// by themselves. Before, ENOSPC never sealed the segment: the spool stayed wedged.
func TestFullDiskRecovers(t *testing.T) {
	dir := tmpfs(t, 64<<10)
	s, _ := open(t, dir, Options{MaxBytes: 1 << 30}) // the disk, not the bound, is the limit
	defer s.Close()
	rec := make([]byte, 1000)
	written, errs := 0, 0
	for i := 0; written < 300; i++ { // ~300 KB through a 64 KiB disk
		rec[0], rec[1] = byte(i), byte(i>>8)
		if err := s.Append(rec); err != nil {
			errs++
			if errs > 1000 {
				t.Fatalf("spool stays wedged after %d records: %v", written, err)
			}
			// Ship everything durable, as the shipper would, freeing what is sealed.
			for s.Pending() > 0 {
				b, err := s.Next(context.Background(), 1<<20, 0)
				if err != nil {
					t.Fatal(err)
				}
				s.Release(b)
			}
			continue
		}
		if err := s.Sync(); err != nil {
			t.Fatal(err)
		}
		written++
	}
	if errs == 0 {
		t.Fatal("the disk never filled: the test did not test anything")
	}
	t.Logf("%d records through a 64 KiB tmpfs, %d ENOSPC on the way", written, errs)
}

// tmpfs mounts a tmpfs of size bytes for the test (root only).
func tmpfs(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs (disk-full test)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (%v: %s): disk-full test skipped", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}
