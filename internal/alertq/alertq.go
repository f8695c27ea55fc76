package alertq

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sync"
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

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Queue is safe for concurrent use.
type Queue struct {
	mu       sync.Mutex
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
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("alertq: open %s: %w", path, err)
	}
	q := &Queue{f: f, path: path, maxBytes: maxBytes}
	if err := q.load(); err != nil {
		f.Close()
		return nil, err
	}
	return q, nil
}

func (q *Queue) load() error {
	data, err := io.ReadAll(q.f)
	if err != nil {
		return fmt.Errorf("alertq: read %s: %w", q.path, err)
	}
	var clean []byte // the valid records, when damage must be cut out
	valid := 0
	for off := 0; off < len(data); {
		if it, n, ok := decode(data[off:]); ok {
			q.items = append(q.items, it)
			if q.Corrupt > 0 {
				clean = append(clean, data[off:off+n]...)
			}
			valid, off = valid+n, off+n
			continue
		}
		next := resync(data, off+1)
		if next < 0 && torn(data[off:]) {
			q.Dropped = int64(len(data) - off)
			break
		}
		if next < 0 {
			next = len(data)
		}
		if q.Corrupt == 0 {
			clean = append(clean, data[:off]...)
		}
		q.Corrupt += int64(next - off)
		q.CorruptRegions++
		off = next
	}
	if q.Corrupt > 0 {
		return q.repair(data, clean)
	}
	if q.Dropped > 0 {
		if err := q.f.Truncate(int64(valid)); err != nil {
			return fmt.Errorf("alertq: truncate torn tail of %s: %w", q.path, err)
		}
	}
	q.size = int64(valid)
	_, err = q.f.Seek(int64(valid), io.SeekStart)
	return err
}

// torn reports whether b, the end of the file, is what a crash mid-append leaves: less
// than a header, a length running past the end, or zeros.
func torn(b []byte) bool {
	if len(b) < 8 {
		return true
	}
	zero := true
	for _, c := range b {
		zero = zero && c == 0
	}
	n := int64(binary.LittleEndian.Uint32(b))
	return zero || 8+n > int64(len(b))
}

// resync returns the offset of the next valid record at or after from, or -1.
func resync(b []byte, from int) int {
	for off := from; off+8 < len(b); off++ {
		n := int(binary.LittleEndian.Uint32(b[off:]))
		if n < 3 || off+8+n > len(b) {
			continue
		}
		if _, _, ok := decode(b[off:]); ok {
			return off
		}
	}
	return -1
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

func decode(b []byte) (Item, int, bool) {
	if len(b) < 8 {
		return Item{}, 0, false
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n < 3 || len(b)-8 < n {
		return Item{}, 0, false
	}
	body := b[8 : 8+n]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return Item{}, 0, false
	}
	tl := int(binary.LittleEndian.Uint16(body))
	if 2+tl+1 > n {
		return Item{}, 0, false
	}
	it := Item{Topic: string(body[2 : 2+tl]), Retained: body[2+tl]&1 == 1}
	it.Payload = append([]byte(nil), body[3+tl:]...)
	return it, 8 + n, true
}

func encode(it Item) []byte {
	n := 2 + len(it.Topic) + 1 + len(it.Payload)
	b := make([]byte, 8+n)
	binary.LittleEndian.PutUint32(b, uint32(n))
	binary.LittleEndian.PutUint16(b[8:], uint16(len(it.Topic)))
	copy(b[10:], it.Topic)
	if it.Retained {
		b[10+len(it.Topic)] = 1
	}
	copy(b[11+len(it.Topic):], it.Payload)
	binary.LittleEndian.PutUint32(b[4:], crc32.Checksum(b[8:], castagnoli))
	return b
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
	return q.f.Close()
}
