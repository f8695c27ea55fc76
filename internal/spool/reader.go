package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/faultline/faultline/internal/durable"
)

// ErrCorrupt is returned by Next when a synced record fails its length or CRC check
// (disk corruption); the damaged bytes are skipped up to the next valid record of the
// segment and reading continues there.
var ErrCorrupt = errors.New("spool: corrupt record")

// Batch is consecutive records of one segment, handed to one reader.
type Batch struct {
	Segment uint64
	Records [][]byte // payloads, in append order; valid until the next Next of this reader
	Bytes   int      // framed bytes
	span    *entry
}

// Next returns the next records in append order, at most maxBytes of them unless a
// single record is larger. When less than maxBytes is available it waits up to wait for
// more (batching by size and time), and it blocks while nothing is available. Every
// batch must be given back with Release once its records are safe elsewhere.
func (s *Spool) Next(ctx context.Context, maxBytes int, wait time.Duration) (*Batch, error) {
	return s.NextBuf(ctx, nil, maxBytes, wait)
}

// NextBuf is Next reading into buf when it is large enough, so a reader that keeps one
// buffer of maxBytes makes no garbage per batch; the records then alias buf.
func (s *Spool) NextBuf(ctx context.Context, buf []byte, maxBytes int, wait time.Duration) (*Batch, error) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	var timer *time.Timer
	var fired <-chan time.Time
	timedOut := false
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, ErrClosed
		}
		s.advance()
		seg := s.segByID(s.rseg)
		avail, sealed, ch := int64(0), false, s.changed
		if seg != nil {
			avail, sealed = seg.durable-s.roff, seg.sealed
		}
		if avail > 0 && (avail >= int64(maxBytes) || sealed || wait <= 0 || timedOut) {
			seg.outstanding++
			id, off := seg.id, s.roff
			s.mu.Unlock()
			return s.read(buf, id, off, avail, maxBytes)
		}
		s.mu.Unlock()
		if avail > 0 && timer == nil {
			timer = time.NewTimer(wait)
			fired = timer.C
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ch:
		case <-fired:
			timedOut = true
		}
	}
}

// read reads records from segment id at off. Only readers (under rmu) move roff, so it
// is safe to do the I/O without holding mu and keep the writer unblocked.
func (s *Spool) read(scratch []byte, id uint64, off, avail int64, maxBytes int) (*Batch, error) {
	n := min(avail, int64(maxBytes))
	if n < HeaderSize {
		n = min(avail, HeaderSize)
	}
	buf, err := s.pread(scratch, id, off, n)
	if err == nil && len(buf) >= HeaderSize {
		if l := int64(durable.RecordLen(buf)) + HeaderSize; l > n && l <= avail {
			buf, err = s.pread(scratch, id, off, l) // one record larger than maxBytes
		}
	}
	b := &Batch{Segment: id}
	if err == nil {
		for len(buf) > 0 {
			l, ok := parseRecord(buf)
			if !ok {
				break
			}
			b.Records = append(b.Records, buf[HeaderSize:HeaderSize+l])
			b.Bytes += HeaderSize + l
			buf = buf[HeaderSize+l:]
		}
	}
	var skip int64
	if err == nil && len(b.Records) == 0 {
		skip, err = s.skipCorrupt(id, off, avail)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seg := s.segByID(id)
	if err != nil {
		seg.outstanding--
		if skip > 0 {
			s.roff = off + skip
			s.corrupt += skip
			s.entries = append(s.entries, &entry{seg: id, end: s.roff, done: true})
			s.settle()
			s.advance()
		}
		return nil, err
	}
	s.roff = off + int64(b.Bytes)
	b.span = &entry{seg: id, end: s.roff}
	s.entries = append(s.entries, b.span)
	s.advance() // so Release can delete this segment as soon as its batches are back
	return b, nil
}

// skipCorrupt finds the next valid record after a damaged one at off and returns the
// bytes to skip (to the end of the durable data when none follows) with ErrCorrupt.
func (s *Spool) skipCorrupt(id uint64, off, avail int64) (int64, error) {
	rest, err := s.pread(nil, id, off, avail)
	if err != nil {
		return 0, err
	}
	skip := int64(len(rest))
	if next := framing.Resync(rest, 1); next > 0 {
		skip = int64(next)
	}
	return skip, fmt.Errorf("%w in segment %d at offset %d: skipped %d bytes to the next valid record", ErrCorrupt, id, off, skip)
}

// pread opens the segment for each read rather than keeping it open: an open
// descriptor of a deleted segment would keep its disk space in use, which on a full
// disk kept the spool from ever recovering.
func (s *Spool) pread(scratch []byte, id uint64, off, n int64) ([]byte, error) {
	f, err := os.Open(s.path(id))
	if err != nil {
		return nil, fmt.Errorf("spool: open segment %d: %w", id, err)
	}
	defer f.Close()
	buf := scratch[:0]
	if int64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := f.ReadAt(buf, off); err != nil {
		return nil, fmt.Errorf("spool: read segment %d: %w", id, err)
	}
	return buf, nil
}

// Release says the batch's records are safe elsewhere; fully shipped segments are deleted.
func (s *Spool) Release(b *Batch) error {
	if b == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if seg := s.segByID(b.Segment); seg != nil {
		seg.outstanding--
	}
	if b.span != nil {
		b.span.done = true
		s.settle()
	}
	return s.collect()
}

// advance moves the readers past sealed segments they have read completely.
func (s *Spool) advance() {
	for {
		seg := s.segByID(s.rseg)
		if seg == nil || !seg.sealed || s.roff < seg.durable {
			return
		}
		next := s.nextSeg(seg.id)
		if next == nil {
			return
		}
		s.rseg, s.roff = next.id, 0
		_ = s.collect()
	}
}

// collect deletes sealed, fully read segments with no outstanding batch.
func (s *Spool) collect() error {
	var firstErr error
	kept := s.segs[:0]
	for _, seg := range s.segs {
		if seg.sealed && seg.id < s.rseg && seg.outstanding <= 0 {
			if err := os.Remove(s.path(seg.id)); err != nil && !os.IsNotExist(err) && firstErr == nil {
				firstErr = fmt.Errorf("spool: delete shipped segment %d: %w", seg.id, err)
			}
			s.size -= seg.durable
			continue
		}
		kept = append(kept, seg)
	}
	if len(kept) != len(s.segs) {
		s.segs = kept
		s.notify()
	}
	return firstErr
}

func (s *Spool) segByID(id uint64) *segment {
	for _, seg := range s.segs {
		if seg.id == id {
			return seg
		}
	}
	return nil
}

func (s *Spool) nextSeg(id uint64) *segment {
	for _, seg := range s.segs {
		if seg.id > id {
			return seg
		}
	}
	return nil
}

// Outstanding returns the number of batches handed out by Next and not yet released.
func (s *Spool) Outstanding() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, seg := range s.segs {
		n += seg.outstanding
	}
	return n
}
