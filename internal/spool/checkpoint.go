package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// CheckpointFile records how far shipping got: every record before (segment, offset)
// has been released. Open replays only what follows it, so a restart does not write
// already shipped data again (which, after a DROP or a retention cut, resurrects it).
//
// It is overwritten in place (20 bytes, one sector) on every advance, without fsync:
// a stale or lost checkpoint only means replaying more (at least once, as before), never
// less, because it never points past released records. Close fsyncs it.
const CheckpointFile = "shipped.ckpt"

const checkpointSize = 20 // uint64 segment | uint64 offset | uint32 CRC-32C of both

type checkpoint struct {
	seg uint64
	off int64
}

// entry is one span of a segment handed to readers (a batch) or skipped (corruption);
// the checkpoint advances over entries in order, once each is done.
type entry struct {
	seg  uint64
	end  int64
	done bool
}

func readCheckpoint(dir string) (checkpoint, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, CheckpointFile))
	if errors.Is(err, os.ErrNotExist) || (err == nil && len(b) == 0) {
		return checkpoint{}, false, nil // nothing shipped yet
	}
	if err != nil {
		return checkpoint{}, false, fmt.Errorf("spool: read checkpoint: %w", err)
	}
	if len(b) != checkpointSize || crc32.Checksum(b[:16], crcTable) != binary.LittleEndian.Uint32(b[16:]) {
		return checkpoint{}, false, fmt.Errorf("spool: checkpoint %s is damaged; replaying every segment", CheckpointFile)
	}
	return checkpoint{seg: binary.LittleEndian.Uint64(b), off: int64(binary.LittleEndian.Uint64(b[8:]))}, true, nil
}

// openCheckpoint opens the checkpoint file and writes the current start into it at once,
// so its block is allocated while there is room: later overwrites in place need no new
// space, also on a full disk.
func (s *Spool) openCheckpoint() error {
	f, err := os.OpenFile(filepath.Join(s.dir, CheckpointFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("spool: open checkpoint: %w", err)
	}
	s.ckpt = f
	s.writeCheckpoint(checkpoint{seg: s.rseg, off: s.roff})
	return nil
}

// writeCheckpoint records c. Called with mu held. A failure (a full disk) is ignored:
// the cost of a stale checkpoint is replaying more, never losing anything, and the
// next advance writes it again.
func (s *Spool) writeCheckpoint(c checkpoint) {
	if s.ckpt == nil {
		return
	}
	var b [checkpointSize]byte
	binary.LittleEndian.PutUint64(b[:], c.seg)
	binary.LittleEndian.PutUint64(b[8:], uint64(c.off))
	binary.LittleEndian.PutUint32(b[16:], crc32.Checksum(b[:16], crcTable))
	_, _ = s.ckpt.WriteAt(b[:], 0)
}

// settle advances the checkpoint over the done entries at the front of the queue.
// Called with mu held.
func (s *Spool) settle() {
	n := 0
	for n < len(s.entries) && s.entries[n].done {
		n++
	}
	if n == 0 {
		return
	}
	last := s.entries[n-1]
	copy(s.entries, s.entries[n:])
	for i := len(s.entries) - n; i < len(s.entries); i++ {
		s.entries[i] = nil
	}
	s.entries = s.entries[:len(s.entries)-n]
	s.writeCheckpoint(checkpoint{seg: last.seg, off: last.end})
}

func (s *Spool) closeCheckpoint() error {
	if s.ckpt == nil {
		return nil
	}
	var err error
	if serr := s.ckpt.Sync(); serr != nil {
		err = fmt.Errorf("spool: fsync checkpoint: %w", serr)
	}
	if cerr := s.ckpt.Close(); err == nil && cerr != nil && !errors.Is(cerr, io.EOF) {
		err = cerr
	}
	return err
}
