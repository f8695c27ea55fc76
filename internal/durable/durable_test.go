package durable

import (
	"os"
	"path/filepath"
	"testing"
)

// Repair keeps the damaged bytes at the backup and leaves only the clean ones at path,
// with no temporary file behind.
func TestRepairKeepsCopyAndReplaces(t *testing.T) {
	dir := t.TempDir()
	path, backup := filepath.Join(dir, "seg"), filepath.Join(dir, "seg.bak")
	if err := WriteFile(path, []byte("good-bad-good"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Repair(path, backup, []byte("good-bad-good"), []byte("good-good"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	old, _ := os.ReadFile(backup)
	if string(got) != "good-good" || string(old) != "good-bad-good" {
		t.Fatalf("path %q, backup %q", got, old)
	}
	if _, err := os.Stat(path + ".repair"); !os.IsNotExist(err) {
		t.Fatalf("temporary file left behind: %v", err)
	}
	if err := Repair(filepath.Join(dir, "missing", "x"), filepath.Join(dir, "missing", "x.bak"), nil, nil, 0o644); err == nil {
		t.Fatal("repair in a missing directory succeeded")
	}
}
