package alertq

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/faultline/faultline/internal/durable"
)

// Item is one message waiting for the broker.
type Item struct {
	Topic    string
	Retained bool
	Payload  []byte
}

// FileName is the queue file inside the queue directory.
const FileName = "alerts.q"

// DefaultMaxBytes bounds the file: a gateway cut off for weeks must not fill its disk.
const DefaultMaxBytes = 64 << 20

// ErrFull is returned by Append when the queue holds MaxBytes already.
var ErrFull = errors.New("alertq: queue full")

// framing is the queue file's record format (internal/durable, shared with the ingest
// spool); a payload is a topic length (uint16), the topic, a retained flag byte and the
// message, so it is at least 3 bytes.
var framing = durable.Framing{MinLen: 3, MaxLen: math.MaxInt32, Check: validItem} // MaxInt32: int is 32 bits on armv7

// Queue is safe for concurrent use.
type Queue struct {
	mu       sync.Mutex
	lock     *os.File // LockName, flocked while the queue is open
	f        *os.File
	path     string
	items    []Item
	size     int64
	maxBytes int64
	// Dropped counts torn bytes truncated on Open: an incomplete last record (or a
	// zero-filled tail) left by a crash mid-append, never fsync'd, never acknowledged.
	Dropped int64
	// Corrupt counts damaged bytes skipped on Open (CorruptRegions places): records
	// that were complete and synced but fail their check. Every record after a damaged
	// one is kept; the file as found was copied to Backup first.
	Corrupt        int64
	CorruptRegions int
	Backup         string
}

// Open opens (or creates) the queue in dir and loads every complete record still in it.
// maxBytes <= 0 uses DefaultMaxBytes.
func Open(dir string, maxBytes int64) (*Queue, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("alertq: create queue directory %s: %w (set --queue-dir to a writable directory)", dir, err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("alertq: open %s: %w", path, err)
	}
	q := &Queue{lock: lock, f: f, path: path, maxBytes: maxBytes}
	if err := q.load(); err != nil {
		q.f.Close()
		lock.Close()
		return nil, err
	}
	return q, nil
}

// LockName is the file in the queue directory that one process holds locked while it
// uses the directory.
const LockName = "LOCK"

// ErrInUse is returned by Open when another process holds the queue directory.
var ErrInUse = errors.New("alertq: queue directory in use")

// lockDir takes dir's lock without waiting: two daemons on one directory would
// interleave their appends and overwrite each other's files (the queue, the
// baselines), so the second one is refused at start. The kernel drops the lock when
// its holder dies, so a crash leaves nothing to clean up.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, LockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("alertq: open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: another process uses %s (give each daemon its own --queue-dir)", ErrInUse, dir)
		}
		return nil, fmt.Errorf("alertq: lock %s: %w", path, err)
	}
	return f, nil
}

func (q *Queue) load() error {
	data, err := io.ReadAll(q.f)
	if err != nil {
		return fmt.Errorf("alertq: read %s: %w", q.path, err)
	}
	sc := framing.Scan(data, true)
	for _, fr := range sc.Frames {
		q.items = append(q.items, decodeItem(data[fr[0]+durable.HeaderSize:fr[1]]))
	}
	q.Dropped, q.Corrupt, q.CorruptRegions = sc.Torn, sc.Corrupt, sc.Regions
	if q.Corrupt > 0 {
		return q.repair(data, sc.Clean(data))
	}
	if q.Dropped > 0 {
		if err := q.f.Truncate(sc.Valid); err != nil {
			return fmt.Errorf("alertq: truncate torn tail of %s: %w", q.path, err)
		}
	}
	q.size = sc.Valid
	_, err = q.f.Seek(sc.Valid, io.SeekStart)
	return err
}

// repair keeps a copy of the damaged file, then replaces it with its valid records
// (write, fsync, rename, fsync dir) and reopens it.
func (q *Queue) repair(data, clean []byte) error {
	q.Backup = fmt.Sprintf("%s.corrupt-%d", q.path, time.Now().UnixNano())
	if err := durable.Repair(q.path, q.Backup, data, clean, 0o640); err != nil {
		return fmt.Errorf("alertq: %w", err)
	}
	f, err := os.OpenFile(q.path, os.O_RDWR, 0o640)
	if err != nil {
		return fmt.Errorf("alertq: reopen %s: %w", q.path, err)
	}
	q.f.Close()
	q.f = f
	q.size = int64(len(clean))
	_, err = q.f.Seek(q.size, io.SeekStart)
	return err
}

// validItem reports whether a payload that passed the frame's checks holds an item:
// its topic length fits inside it.
func validItem(p []byte) bool {
	return 2+int(binary.LittleEndian.Uint16(p))+1 <= len(p)
}

// decodeItem reads a payload validItem accepted.
func decodeItem(p []byte) Item {
	tl := int(binary.LittleEndian.Uint16(p))
	return Item{Topic: string(p[2 : 2+tl]), Retained: p[2+tl]&1 == 1, Payload: append([]byte(nil), p[3+tl:]...)}
}

func encode(it Item) []byte {
	p := make([]byte, 2+len(it.Topic)+1+len(it.Payload))
	binary.LittleEndian.PutUint16(p, uint16(len(it.Topic)))
	copy(p[2:], it.Topic)
	if it.Retained {
		p[2+len(it.Topic)] = 1
	}
	copy(p[3+len(it.Topic):], it.Payload)
	return durable.AppendRecord(make([]byte, 0, durable.HeaderSize+len(p)), p)
}

// Append writes it durably (write + fsync) at the tail.
func (q *Queue) Append(it Item) error {
	if len(it.Topic) > 65535 {
		return fmt.Errorf("alertq: topic of %d bytes is too long", len(it.Topic))
	}
	b := encode(it)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.size+int64(len(b)) > q.maxBytes {
		return ErrFull
	}
	if _, err := q.f.Write(b); err != nil {
		// Cut a partial record off, so later appends do not sit behind a broken frame.
		if terr := q.f.Truncate(q.size); terr == nil {
			_, _ = q.f.Seek(q.size, io.SeekStart)
		}
		return fmt.Errorf("alertq: append to %s: %w", q.path, err)
	}
	if err := q.f.Sync(); err != nil {
		return fmt.Errorf("alertq: fsync %s: %w", q.path, err)
	}
	q.size += int64(len(b))
	q.items = append(q.items, it)
	return nil
}

// Len is the number of items not yet delivered.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// Peek returns the oldest pending item.
func (q *Queue) Peek() (Item, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return Item{}, false
	}
	return q.items[0], true
}

// Pop marks the oldest item delivered. When nothing is pending any more the file is
// truncated (and fsync'd), which is when delivered alerts leave the disk.
func (q *Queue) Pop() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return nil
	}
	q.items[0] = Item{}
	q.items = q.items[1:]
	if len(q.items) > 0 {
		return nil
	}
	q.items = nil
	if err := q.f.Truncate(0); err != nil {
		return fmt.Errorf("alertq: truncate %s: %w", q.path, err)
	}
	if _, err := q.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	q.size = 0
	return q.f.Sync()
}

// Close closes the file; pending items stay on disk for the next Open.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	err := q.f.Close()
	if lerr := q.lock.Close(); err == nil {
		err = lerr
	}
	return err
}
