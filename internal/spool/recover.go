package spool

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/faultline/faultline/internal/durable"
)

// CorruptDir is the subdirectory of the spool where a damaged segment is copied before
// recovery repairs it, for whoever investigates the disk.
const CorruptDir = "corrupt"

// segScan is what a recovery scan of one segment file found.
type segScan struct {
	frames  [][2]int // [start, end) of every valid record, in file order
	valid   int64    // bytes of valid records
	total   int64    // file size
	torn    int64    // incomplete last record (last segment only): never synced, cut
	corrupt int64    // damaged bytes skipped (resynchronised past, or a damaged tail)
	regions int      // damaged regions
}

// scanSegment reads a segment and classifies every byte. Only an incomplete record at
// the very end of the last segment can be a torn write (a crash mid-append: it was never
// synced, so never acknowledged). Anything else that fails its length or CRC check is
// corruption of synced data: the scan resynchronises on the next valid record so one
// bad frame costs only itself (etcd's WAL repair likewise treats only an unexpected EOF
// in the last file as a torn write).
func scanSegment(path string, last bool) (segScan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return segScan{}, fmt.Errorf("spool: read %s: %w", path, err)
	}
	sc := segScan{total: int64(len(b))}
	for off := 0; off < len(b); {
		if n, ok := parseRecord(b[off:]); ok {
			sc.frames = append(sc.frames, [2]int{off, off + HeaderSize + n})
			sc.valid += int64(HeaderSize + n)
			off += HeaderSize + n
			continue
		}
		next := resync(b, off+1)
		if next < 0 {
			if last && incomplete(b[off:]) {
				sc.torn = int64(len(b) - off)
			} else {
				sc.corrupt += int64(len(b) - off)
				sc.regions++
			}
			break
		}
		sc.corrupt += int64(next - off)
		sc.regions++
		off = next
	}
	return sc, nil
}

// incomplete reports whether b, the end of the last segment, is what a crash mid-append
// leaves: less than a header, a header whose length runs past the end, or zeros (space
// the file system allocated before the data reached it; etcd's WAL decoder treats a
// zero-filled tail as torn too).
func incomplete(b []byte) bool {
	if len(b) < HeaderSize || allZero(b) {
		return true
	}
	n := int64(binary.LittleEndian.Uint32(b))
	return n <= MaxRecord && int64(HeaderSize)+n > int64(len(b))
}

// resync returns the offset of the first valid record at or after from, or -1.
// A false match needs a plausible length and a matching CRC-32C (about 2^-32 for
// damaged data), and most offsets fail the cheap length test before any CRC is taken.
func resync(b []byte, from int) int {
	for off := from; off+HeaderSize < len(b); off++ {
		n := int(binary.LittleEndian.Uint32(b[off:]))
		if n == 0 || n > MaxRecord || off+HeaderSize+n > len(b) {
			continue
		}
		if _, ok := parseRecord(b[off:]); ok {
			return off
		}
	}
	return -1
}

// repairSegment copies a damaged segment to the corrupt/ directory, then replaces it
// (write, fsync, rename, fsync dir) with its valid records only. It returns the copy's
// path.
func repairSegment(dir, path string, sc segScan) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("spool: read damaged %s: %w", path, err)
	}
	bdir := filepath.Join(dir, CorruptDir)
	if err := os.MkdirAll(bdir, 0o755); err != nil {
		return "", fmt.Errorf("spool: create %s: %w", bdir, err)
	}
	backup := filepath.Join(bdir, fmt.Sprintf("%s.%d", filepath.Base(path), time.Now().UnixNano()))
	clean := make([]byte, 0, sc.valid)
	for _, fr := range sc.frames {
		clean = append(clean, b[fr[0]:fr[1]]...)
	}
	if err := durable.Repair(path, backup, b, clean, 0o644); err != nil {
		if _, serr := os.Stat(backup); serr != nil {
			backup = "" // the copy itself failed
		}
		return backup, fmt.Errorf("spool: %w", err)
	}
	return backup, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
