package spool

import (
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

	"github.com/faultline/faultline/internal/durable"
)

// HeaderSize is the framing overhead of one record (internal/durable's record format,
// shared with the edge daemon's alert queue).
const HeaderSize = durable.HeaderSize

// MaxRecord bounds one record; a larger length in a header means corruption.
const MaxRecord = 64 << 20

// framing is what a segment record may be: Append refuses empty records, so a zero
// length is damage (a zeroed block).
var framing = durable.Framing{MinLen: 1, MaxLen: MaxRecord}

// crcTable checksums the checkpoint file.
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
	Segments       int   // segment files with records still to ship
	Records        int   // records not yet shipped, all to be delivered again
	Bytes          int64 // bytes of those records
	ShippedBytes   int64 // bytes of records the checkpoint says were shipped: not replayed
	TruncatedBytes int64 // torn tail of the last segment cut off (never synced, so never acknowledged)
	// CorruptBytes of synced records failed their length or CRC check and were skipped
	// (CorruptRegions places); every record after a bad one is kept. Each damaged
	// segment was copied to Backups first.
	CorruptBytes   int64
	CorruptRegions int
	Backups        []string
	// CheckpointErr says the shipped checkpoint was unreadable (everything is replayed).
	CheckpointErr error
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

	rmu    sync.Mutex // serializes readers; held during read I/O, never by the writer
	mu     sync.Mutex // guards everything below; never held during I/O of segment data
	segs   []*segment // oldest first; the last one is written to
	w      *os.File
	wsize  int64 // bytes written to w, synced or not
	failed error // set when a partial write could not be undone: appends are refused
	size   int64 // bytes of all segment files
	wbuf   []byte
	rseg   uint64 // segment the readers are in
	roff   int64
	nextID uint64 // id of the next write segment
	// startOff is where reading starts in the first recovered segment (the checkpoint).
	startOff int64
	changed  chan struct{} // closed and replaced on every state change
	closed   bool
	// entries are the spans handed out or skipped since the checkpoint, in order.
	entries []*entry
	ckpt    *os.File
	// corrupt counts damaged bytes skipped, at recovery and while reading.
	corrupt int64
}

// Open opens or creates the spool in dir, recovering what a previous run left.
func Open(dir string, o Options) (*Spool, Recovery, error) {
	o = o.withDefaults()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, Recovery{}, fmt.Errorf("spool: create %s: %w (check --spool-dir and its permissions)", dir, err)
	}
	s := &Spool{dir: dir, opts: o, changed: make(chan struct{})}
	ck, haveCk, ckErr := readCheckpoint(dir)
	rec, err := s.recover(ck, haveCk)
	rec.CheckpointErr = ckErr
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
	if haveCk && len(s.segs) > 0 && s.segs[0].id == ck.seg {
		s.roff = s.startOff // the first segment is partly shipped
	}
	if haveCk && ck.seg >= next {
		next = ck.seg + 1 // never reuse the id of a segment the checkpoint names
		s.rseg = next
	}
	if err := s.openCheckpoint(); err != nil {
		return nil, rec, err
	}
	s.nextID = next
	if err := s.openWriter(); err != nil {
		s.ckpt.Close()
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

// recover scans every segment: it cuts a torn tail, repairs damaged segments (after
// backing them up), skips what the checkpoint says was shipped and removes segments
// with nothing left to ship.
func (s *Spool) recover(ck checkpoint, haveCk bool) (Recovery, error) {
	var rec Recovery
	ids, err := s.segmentIDs()
	if err != nil {
		return rec, err
	}
	for i, id := range ids {
		p := s.path(id)
		if haveCk && id < ck.seg {
			if err := os.Remove(p); err != nil { // shipped; its deletion did not happen
				return rec, fmt.Errorf("spool: remove shipped segment %d: %w", id, err)
			}
			continue
		}
		sc, err := scanSegment(p, i == len(ids)-1)
		if err != nil {
			return rec, err
		}
		if err := s.repair(p, sc, &rec); err != nil {
			return rec, err
		}
		shipped := int64(0)
		if haveCk && id == ck.seg {
			shipped = shippedPrefix(sc, ck.off)
		}
		if sc.Valid == shipped {
			if err := os.Remove(p); err != nil {
				return rec, fmt.Errorf("spool: remove segment %d: %w", id, err)
			}
			rec.ShippedBytes += shipped
			continue
		}
		if len(s.segs) == 0 {
			s.startOff = shipped
		}
		s.segs = append(s.segs, &segment{id: id, durable: sc.Valid, sealed: true})
		s.size += sc.Valid
		rec.Segments++
		rec.Records += countFrom(sc, shipped)
		rec.Bytes += sc.Valid - shipped
		rec.ShippedBytes += shipped
	}
	return rec, nil
}

// repair cuts a torn tail or, for damage, backs the file up and rewrites it with its
// valid records only.
func (s *Spool) repair(p string, sc durable.Scan, rec *Recovery) error {
	switch {
	case sc.Corrupt > 0:
		backup, err := repairSegment(s.dir, p, sc)
		if backup != "" {
			rec.Backups = append(rec.Backups, backup)
		}
		if err != nil {
			return err
		}
		rec.CorruptBytes += sc.Corrupt
		rec.CorruptRegions += sc.Regions
		rec.TruncatedBytes += sc.Torn
		s.corrupt += sc.Corrupt
	case sc.Torn > 0:
		if err := os.Truncate(p, sc.Valid); err != nil {
			return fmt.Errorf("spool: truncate torn tail of %s: %w", p, err)
		}
		rec.TruncatedBytes += sc.Torn
	}
	return nil
}

// shippedPrefix maps a checkpoint offset in the original file to the bytes of valid
// records wholly before it (the same offset unless damage was cut out).
func shippedPrefix(sc durable.Scan, off int64) int64 {
	var n int64
	for _, fr := range sc.Frames {
		if int64(fr[1]) > off {
			break
		}
		n += int64(fr[1] - fr[0])
	}
	return n
}

// countFrom counts the valid records after the first skip bytes of valid records.
func countFrom(sc durable.Scan, skip int64) int {
	var n int64
	for i, fr := range sc.Frames {
		if n >= skip {
			return len(sc.Frames) - i
		}
		n += int64(fr[1] - fr[0])
	}
	return 0
}

// parseRecord checks the record at the start of b and returns its payload length.
func parseRecord(b []byte) (int, bool) { return framing.Parse(b) }

// openWriter creates the next write segment. On failure (out of inodes or file
// descriptors, EIO) the spool has no writer; the next Append or Sync tries again, so a
// passing fault does not leave the spool refusing everything until a restart.
func (s *Spool) openWriter() error {
	id := s.nextID
	f, err := os.OpenFile(s.path(id), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("spool: create segment: %w", err)
	}
	// The new file's directory entry must be durable too, or a crash could lose the file.
	if err := syncDir(s.dir); err != nil {
		f.Close()
		os.Remove(s.path(id))
		return err
	}
	s.w, s.wsize, s.nextID = f, 0, id+1
	s.segs = append(s.segs, &segment{id: id})
	return nil
}

// ensureWriter opens a write segment when a failed rotation left none.
func (s *Spool) ensureWriter() error {
	if s.w != nil {
		return nil
	}
	return s.openWriter()
}

func syncDir(dir string) error {
	if err := durable.SyncDir(dir); err != nil {
		return fmt.Errorf("spool: %w", err)
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
	if len(rec) == 0 {
		return errors.New("spool: empty record")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.failed != nil {
		return s.failed
	}
	if err := s.ensureWriter(); err != nil {
		return err
	}
	need := int64(HeaderSize + len(rec))
	if s.size > 0 && s.size+need > s.opts.MaxBytes {
		if err := s.sealForReaders(); err != nil {
			return err
		}
		return ErrFull
	}
	s.wbuf = durable.AppendRecord(s.wbuf[:0], rec)
	if _, err := s.w.Write(s.wbuf); err != nil {
		// A short write (ENOSPC, EIO) leaves part of a frame on disk; records appended
		// after it would sit behind a broken frame and be lost. Cut it off, or refuse
		// further appends if even that fails.
		if terr := s.w.Truncate(s.wsize); terr != nil {
			s.failed = fmt.Errorf("spool: cannot cut a partial write (%v) after: %w", terr, err)
		} else if _, serr := s.w.Seek(s.wsize, io.SeekStart); serr != nil {
			s.failed = fmt.Errorf("spool: cannot seek after a partial write (%v) after: %w", serr, err)
		} else if rerr := s.sealForReaders(); rerr != nil {
			err = fmt.Errorf("%w (and starting a new segment: %v)", err, rerr)
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
	if s.w == nil { // a rotation failed after the last sync: nothing is unsynced
		err := s.ensureWriter()
		s.mu.Unlock()
		return err
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
		// The data is durable whatever happens here; a failed rotation leaves no writer
		// and the next Append retries it (and reports the error), so the caller does
		// not append this group a second time.
		_ = s.rotate()
	}
	s.notify()
	return nil
}

// rotate seals the write segment and starts the next one. The sealed file is closed
// and forgotten first, so nothing is ever written to a closed file: if creating the
// next one fails, ensureWriter retries on the next Append or Sync.
func (s *Spool) rotate() error {
	s.segs[len(s.segs)-1].sealed = true
	w := s.w
	s.w, s.wsize = nil, 0
	cerr := w.Close()
	if err := s.openWriter(); err != nil {
		return err
	}
	if cerr != nil {
		return fmt.Errorf("spool: close segment: %w", cerr)
	}
	return nil
}

// sealForReaders seals a non-empty, fully synced write segment, so readers can finish
// it and Release can delete it. Without it, a full spool (or a full disk) whose only
// shipped data sits in the open segment would never free any space: the wedge the
// size bound and ENOSPC both ran into.
func (s *Spool) sealForReaders() error {
	if s.w == nil || s.wsize == 0 || s.segs[len(s.segs)-1].durable != s.wsize {
		return nil
	}
	err := s.rotate()
	s.notify()
	return err
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
	var err error
	if s.w != nil {
		err = s.w.Sync()
		if cerr := s.w.Close(); err == nil {
			err = cerr
		}
		if last := s.segs[len(s.segs)-1]; last.durable == 0 && s.wsize == 0 {
			os.Remove(s.path(last.id)) // an empty segment is noise
		}
	}
	if cerr := s.closeCheckpoint(); err == nil {
		err = cerr
	}
	return err
}

// CorruptBytes returns the damaged bytes skipped so far (at Open and while reading).
func (s *Spool) CorruptBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.corrupt
}
