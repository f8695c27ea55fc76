// Package durable holds what the on-disk stores (the ingest spool and the edge daemon's
// alert queue) share to survive a crash: one record framing (length, CRC-32C, payload)
// with its recovery scan that tells a torn tail from corruption (record.go), a file
// written and fsync'd, a directory fsync'd after a rename, and the repair of a damaged
// file that keeps a copy of it first.
package durable

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile writes b to path (created or truncated with perm) and fsyncs it before
// closing: the bytes are on disk when it returns nil.
func WriteFile(path string, b []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// SyncDir fsyncs a directory, so a rename or a new file in it survives a crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync dir: %w", err)
	}
	return nil
}

// Repair replaces the damaged file at path by clean, its valid records, after keeping
// the damaged bytes at backup: backup written and fsync'd, clean written to a
// temporary file and fsync'd, renamed over path, the directory fsync'd. A crash at any
// step leaves either the damaged file with its copy or the repaired one.
func Repair(path, backup string, damaged, clean []byte, perm os.FileMode) error {
	if err := WriteFile(backup, damaged, perm); err != nil {
		return fmt.Errorf("back up damaged %s: %w", path, err)
	}
	tmp := path + ".repair"
	if err := WriteFile(tmp, clean, perm); err != nil {
		return fmt.Errorf("write repaired %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace damaged %s: %w", path, err)
	}
	return SyncDir(filepath.Dir(path))
}
