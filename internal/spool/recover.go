package spool

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/faultline/faultline/internal/durable"
)

// CorruptDir is the subdirectory of the spool where a damaged segment is copied before
// recovery repairs it, for whoever investigates the disk.
const CorruptDir = "corrupt"

// scanSegment reads a segment and classifies every byte (durable.Framing.Scan). Only
// an incomplete record at the very end of the last segment can be a torn write.
func scanSegment(path string, last bool) (durable.Scan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return durable.Scan{}, fmt.Errorf("spool: read %s: %w", path, err)
	}
	return framing.Scan(b, last), nil
}

// repairSegment copies a damaged segment to the corrupt/ directory, then replaces it
// (write, fsync, rename, fsync dir) with its valid records only. It returns the copy's
// path.
func repairSegment(dir, path string, sc durable.Scan) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("spool: read damaged %s: %w", path, err)
	}
	bdir := filepath.Join(dir, CorruptDir)
	if err := os.MkdirAll(bdir, 0o755); err != nil {
		return "", fmt.Errorf("spool: create %s: %w", bdir, err)
	}
	backup := filepath.Join(bdir, fmt.Sprintf("%s.%d", filepath.Base(path), time.Now().UnixNano()))
	if err := durable.Repair(path, backup, b, sc.Clean(b), 0o644); err != nil {
		if _, serr := os.Stat(backup); serr != nil {
			backup = "" // the copy itself failed
		}
		return backup, fmt.Errorf("spool: %w", err)
	}
	return backup, nil
}
