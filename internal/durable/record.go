package durable

import (
	"encoding/binary"
	"hash/crc32"
)

// HeaderSize is the framing overhead of one record: the payload length, then the
// payload's CRC-32C (Castagnoli), both little-endian uint32. The ingest spool's
// segments and the alert queue's file are sequences of such records.
const HeaderSize = 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// AppendRecord appends the frame of payload (header, then payload) to dst.
func AppendRecord(dst, payload []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(payload)))
	dst = binary.LittleEndian.AppendUint32(dst, crc32.Checksum(payload, castagnoli))
	return append(dst, payload...)
}

// RecordLen is the payload length a header at the start of b announces, unchecked;
// b must hold HeaderSize bytes.
func RecordLen(b []byte) int { return int(binary.LittleEndian.Uint32(b)) }

// Framing is what a store accepts as a record: a payload length in [MinLen, MaxLen]
// (a length outside it is damage, and most damaged offsets fail this cheap test before
// any CRC is taken) and, when Check is set, a payload Check accepts.
type Framing struct {
	MinLen, MaxLen int
	Check          func(payload []byte) bool
}

// Parse checks the record at the start of b and returns its payload length.
func (f Framing) Parse(b []byte) (int, bool) {
	if len(b) < HeaderSize {
		return 0, false
	}
	n := RecordLen(b)
	if n < f.MinLen || n > f.MaxLen || len(b)-HeaderSize < n {
		return 0, false
	}
	p := b[HeaderSize : HeaderSize+n]
	if crc32.Checksum(p, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return 0, false
	}
	if f.Check != nil && !f.Check(p) {
		return 0, false
	}
	return n, true
}

// Resync returns the offset of the first valid record at or after from, or -1. A false
// match needs a plausible length and a matching CRC-32C (about 2^-32 for damaged data).
func (f Framing) Resync(b []byte, from int) int {
	for off := from; off+HeaderSize < len(b); off++ {
		n := RecordLen(b[off:])
		if n < f.MinLen || n > f.MaxLen || off+HeaderSize+n > len(b) {
			continue
		}
		if _, ok := f.Parse(b[off:]); ok {
			return off
		}
	}
	return -1
}

// Torn reports whether b, the end of a file, is what a crash mid-append leaves: less
// than a header, a header whose length runs past the end, or zeros (space the file
// system allocated before the data reached it; etcd's WAL decoder treats a zero-filled
// tail as torn too).
func (f Framing) Torn(b []byte) bool {
	if len(b) < HeaderSize || allZero(b) {
		return true
	}
	n := RecordLen(b)
	return n <= f.MaxLen && HeaderSize+n > len(b)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// Scan is what a recovery scan of one file of records found.
type Scan struct {
	Frames  [][2]int // [start, end) of every valid record, in file order
	Valid   int64    // bytes of valid records
	Torn    int64    // incomplete last record: never synced, to be cut
	Corrupt int64    // damaged bytes skipped (resynchronised past, or a damaged tail)
	Regions int      // damaged regions
}

// Scan classifies every byte of b. Only an incomplete record at the very end of the
// file written last (tornTail) can be a torn write (a crash mid-append: it was never
// synced, so never acknowledged). Anything else that fails its checks is corruption of
// synced data: the scan resynchronises on the next valid record, so one bad frame
// costs only itself (etcd's WAL repair likewise treats only an unexpected EOF in the
// last file as a torn write).
func (f Framing) Scan(b []byte, tornTail bool) Scan {
	var sc Scan
	for off := 0; off < len(b); {
		if n, ok := f.Parse(b[off:]); ok {
			sc.Frames = append(sc.Frames, [2]int{off, off + HeaderSize + n})
			sc.Valid += int64(HeaderSize + n)
			off += HeaderSize + n
			continue
		}
		next := f.Resync(b, off+1)
		if next < 0 {
			if tornTail && f.Torn(b[off:]) {
				sc.Torn = int64(len(b) - off)
			} else {
				sc.Corrupt += int64(len(b) - off)
				sc.Regions++
			}
			break
		}
		sc.Corrupt += int64(next - off)
		sc.Regions++
		off = next
	}
	return sc
}

// Clean returns the valid records of b, the file sc was taken of, back to back: what
// a repair writes in place of the damaged file.
func (sc Scan) Clean(b []byte) []byte {
	clean := make([]byte, 0, sc.Valid)
	for _, fr := range sc.Frames {
		clean = append(clean, b[fr[0]:fr[1]]...)
	}
	return clean
}
