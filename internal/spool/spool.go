package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// HeaderSize is the framing overhead of one record.
const HeaderSize = 8

// MaxRecord bounds one record; a larger length in a header means corruption.
const MaxRecord = 64 << 20

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrFull means the spool holds MaxBytes already; retry after readers released space.
var ErrFull = errors.New("spool: full")

// ErrClosed is returned by every call after Close.
var ErrClosed = errors.New("spool: closed")

// Options bound the spool.
type Options struct {
	// MaxBytes bounds the segment files on disk. 0 means 1 GiB.
	MaxBytes int64
	// SegmentBytes is the size after which Sync starts a new segment. 0 means 16 MiB.
	// Smaller segments free disk sooner; larger ones mean fewer files.
	SegmentBytes int64
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = 1 << 30
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = 16 << 20
	}
	// The segment being written cannot be freed, so it must stay well below the bound.
	if o.SegmentBytes > o.MaxBytes/4 {
		o.SegmentBytes = max(o.MaxBytes/4, 1)
	}
	return o
}

// Recovery says what Open found on disk.
type Recovery struct {
	Segments       int   // segment files replayed
	Records        int   // valid records in them, all to be delivered again
	Bytes          int64 // bytes of valid records
	TruncatedBytes int64 // torn or corrupt bytes cut off (never synced, so never acknowledged)
}

type segment struct {
	id          uint64
	durable     int64 // bytes synced (or recovered): readers stop here
	sealed      bool  // no more appends
	outstanding int   // batches read from it and not yet released
}

// Spool is safe for one writer and any number of readers concurrently.
type Spool struct {
	dir  string
	opts Options

	rmu     sync.Mutex // serializes readers; held during read I/O, never by the writer
	mu      sync.Mutex // guards everything below; never held during I/O of segment data
	segs    []*segment // oldest first; the last one is written to
	w       *os.File
	wsize   int64 // bytes written to w, synced or not
	failed  error // set when a partial write could not be undone: appends are refused
	size    int64 // bytes of all segment files
	wbuf    []byte
	rseg    uint64 // segment the readers are in
	roff    int64
	rfile   *os.File
	rfileID uint64
	changed chan struct{} // closed and replaced on every state change
	closed  bool
}

// Open opens or creates the spool in dir, recovering what a previous run left.
func Open(dir string, o Options) (*Spool, Recovery, error) {
	o = o.withDefaults()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, Recovery{}, fmt.Errorf("spool: create %s: %w (check --spool-dir and its permissions)", dir, err)
	}
	s := &Spool{dir: dir, opts: o, changed: make(chan struct{})}
	rec, err := s.recover()
	if err != nil {
		return nil, rec, err
	}
	next := uint64(1)
	if n := len(s.segs); n > 0 {
		next = s.segs[n-1].id + 1
		s.rseg = s.segs[0].id
	} else {
		s.rseg = next
	}
	if err := s.openWriter(next); err != nil {
		return nil, rec, err
	}
	return s, rec, nil
}

func (s *Spool) path(id uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d.seg", id))
}

func (s *Spool) segmentIDs() ([]uint64, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("spool: list %s: %w", s.dir, err)
	}
	var ids []uint64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok || e.IsDir() {
			continue
		}
		id, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			continue // not ours
		}
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}

// recover scans every segment, truncates torn tails and removes empty segments.
func (s *Spool) recover() (Recovery, error) {
	var rec Recovery
	ids, err := s.segmentIDs()
	if err != nil {
		return rec, err
	}
	for _, id := range ids {
		valid, records, total, err := scanSegment(s.path(id))
		if err != nil {
			return rec, err
		}
		if valid < total {
			rec.TruncatedBytes += total - valid
			if err := os.Truncate(s.path(id), valid); err != nil {
				return rec, fmt.Errorf("spool: truncate torn segment %d: %w", id, err)
			}
		}
		if valid == 0 {
			if err := os.Remove(s.path(id)); err != nil {
				return rec, fmt.Errorf("spool: remove empty segment %d: %w", id, err)
			}
			continue
		}
		s.segs = append(s.segs, &segment{id: id, durable: valid, sealed: true})
		s.size += valid
		rec.Segments++
		rec.Records += records
		rec.Bytes += valid
	}
	return rec, nil
}

// scanSegment returns the length of the valid prefix of a segment file.
func scanSegment(path string) (valid int64, records int, total int64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("spool: read %s: %w", path, err)
	}
	total = int64(len(b))
	for off := 0; ; {
		n, ok := parseRecord(b[off:])
		if !ok {
			return int64(off), records, total, nil
		}
		off += HeaderSize + n
		records++
	}
}

// parseRecord checks the record at the start of b and returns its payload length.
func parseRecord(b []byte) (int, bool) {
	if len(b) < HeaderSize {
		return 0, false
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n > MaxRecord || len(b) < HeaderSize+n {
		return 0, false
	}
	if crc32.Checksum(b[HeaderSize:HeaderSize+n], crcTable) != binary.LittleEndian.Uint32(b[4:]) {
		return 0, false
	}
	return n, true
}

func (s *Spool) openWriter(id uint64) error {
	f, err := os.OpenFile(s.path(id), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("spool: create segment: %w", err)
	}
	// The new file's directory entry must be durable too, or a crash could lose the file.
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	s.w, s.wsize = f, 0
	s.segs = append(s.segs, &segment{id: id})
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("spool: open dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("spool: sync dir: %w", err)
	}
	return nil
}

// Append writes one record. It is not durable until Sync returns. It returns ErrFull when
// the record would take the spool beyond MaxBytes, unless the spool is empty (so one
// large record can always pass).
func (s *Spool) Append(rec []byte) error {
	if len(rec) > MaxRecord {
		return fmt.Errorf("spool: record of %d bytes exceeds the %d-byte limit", len(rec), MaxRecord)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.failed != nil {
		return s.failed
	}
	need := int64(HeaderSize + len(rec))
	if s.size > 0 && s.size+need > s.opts.MaxBytes {
		// Seal a fully synced write segment now, so readers can finish and free it;
		// otherwise a spool full of shipped data in the open segment would never drain.
		if s.wsize > 0 && s.segs[len(s.segs)-1].durable == s.wsize {
			if err := s.rotate(); err != nil {
				return err
			}
			s.notify()
		}
		return ErrFull
	}
	s.wbuf = binary.LittleEndian.AppendUint32(s.wbuf[:0], uint32(len(rec)))
	s.wbuf = binary.LittleEndian.AppendUint32(s.wbuf, crc32.Checksum(rec, crcTable))
	s.wbuf = append(s.wbuf, rec...)
	if _, err := s.w.Write(s.wbuf); err != nil {
		// A short write (ENOSPC, EIO) leaves part of a frame on disk; records appended
		// after it would sit behind a broken frame and be lost. Cut it off, or refuse
		// further appends if even that fails.
		if terr := s.w.Truncate(s.wsize); terr != nil {
			s.failed = fmt.Errorf("spool: cannot cut a partial write (%v) after: %w", terr, err)
		} else if _, serr := s.w.Seek(s.wsize, io.SeekStart); serr != nil {
			s.failed = fmt.Errorf("spool: cannot seek after a partial write (%v) after: %w", serr, err)
		}
		return fmt.Errorf("spool: write: %w (is the disk full?)", err)
	}
	s.wsize += need
	s.size += need
	if cap(s.wbuf) > 4<<20 {
		s.wbuf = nil // do not pin a burst's buffer forever
	}
	return nil
}

// Sync makes every appended record durable and visible to readers, and starts a new
// segment when the current one is big enough.
func (s *Spool) Sync() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	w, size := s.w, s.wsize
	s.mu.Unlock()
	// fsync outside the lock: readers keep reading durable data meanwhile. Only the one
	// writer appends, so w and size cannot change under us.
	if err := w.Sync(); err != nil {
		return fmt.Errorf("spool: fsync: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.segs[len(s.segs)-1]
	cur.durable = size
	if size >= s.opts.SegmentBytes {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	s.notify()
	return nil
}

func (s *Spool) rotate() error {
	s.segs[len(s.segs)-1].sealed = true
	if err := s.w.Close(); err != nil {
		return fmt.Errorf("spool: close segment: %w", err)
	}
	return s.openWriter(s.segs[len(s.segs)-1].id + 1)
}

func (s *Spool) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Changed returns a channel closed at the next state change (data synced, space freed,
// spool closed). Writers waiting after ErrFull use it.
func (s *Spool) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Size returns the bytes of segment files on disk.
func (s *Spool) Size() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size
}

// Pending returns the durable bytes not yet read.
func (s *Spool) Pending() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, sg := range s.segs {
		switch {
		case sg.id == s.rseg:
			n += sg.durable - s.roff
		case sg.id > s.rseg:
			n += sg.durable
		}
	}
	return n
}

// Close syncs and closes the files. Unreleased records stay on disk for the next Open.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.notify()
	err := s.w.Sync()
	if cerr := s.w.Close(); err == nil {
		err = cerr
	}
	if s.rfile != nil {
		s.rfile.Close()
	}
	if s.segs[len(s.segs)-1].durable == 0 && s.wsize == 0 {
		os.Remove(s.path(s.segs[len(s.segs)-1].id)) // an empty segment is noise
	}
	return err
}
