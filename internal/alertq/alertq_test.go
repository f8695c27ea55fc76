package alertq

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestAppendPopReopen(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range []string{"a", "bb", "ccc"} {
		if err := q.Append(Item{Topic: "t/" + p, Retained: i == 1, Payload: []byte(p)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Pop(); err != nil {
		t.Fatal(err)
	}
	q.Close()
	// The pop was not persisted (the file is truncated only once empty): at least once.
	q, err = Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if q.Len() != 3 {
		t.Fatalf("after reopen Len = %d, want 3", q.Len())
	}
	var got []string
	for q.Len() > 0 {
		it, _ := q.Peek()
		got = append(got, it.Topic+":"+string(it.Payload))
		if it.Topic == "t/bb" && !it.Retained {
			t.Error("retained flag lost")
		}
		if err := q.Pop(); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"t/a:a", "t/bb:bb", "t/ccc:ccc"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order: got %v want %v", got, want)
		}
	}
	if st, _ := os.Stat(filepath.Join(dir, FileName)); st.Size() != 0 {
		t.Errorf("file not truncated after draining: %d bytes", st.Size())
	}
	// Appending after a drain starts a fresh file.
	if err := q.Append(Item{Topic: "x", Payload: []byte("1")}); err != nil {
		t.Fatal(err)
	}
	if it, ok := q.Peek(); !ok || it.Topic != "x" {
		t.Fatalf("peek after drain = %v %v", it, ok)
	}
}

func TestTornTailTruncated(t *testing.T) {
	dir := t.TempDir()
	q, _ := Open(dir, 0)
	_ = q.Append(Item{Topic: "a", Payload: []byte("one")})
	_ = q.Append(Item{Topic: "b", Payload: []byte("two")})
	q.Close()
	path := filepath.Join(dir, FileName)
	b, _ := os.ReadFile(path)
	for _, cut := range []int{1, 5, 9} {
		if err := os.WriteFile(path, b[:len(b)-cut], 0o640); err != nil {
			t.Fatal(err)
		}
		q, err := Open(dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		if q.Len() != 1 || q.Dropped == 0 {
			t.Errorf("cut %d: Len %d Dropped %d, want 1 item and dropped bytes", cut, q.Len(), q.Dropped)
		}
		q.Close()
	}
}

// TestCorruptRecordSkipped: a damaged byte in any synced record costs that alert only.
// Recovery keeps a copy of the file, resynchronises on the next valid record, counts the
// damage, and the repaired queue keeps working. Before, the first bad frame truncated
// the file: one flipped bit in the first of three alerts lost all three.
func TestCorruptRecordSkipped(t *testing.T) {
	items := []Item{{Topic: "f/s/l/m1/alerts", Payload: []byte(`{"n":1}`)}, {Topic: "f/s/l/m2/alerts", Payload: []byte(`{"n":2}`)},
		{Topic: "f/s/l/m3/alerts/state", Retained: true, Payload: []byte(`{"n":3}`)}}
	recLen := len(encode(items[0]))
	for victim := range items {
		for _, at := range []int{0, 4, 9, recLen - 1} { // length, CRC, topic, payload
			dir := t.TempDir()
			q, _ := Open(dir, 0)
			for _, it := range items {
				if err := q.Append(it); err != nil {
					t.Fatal(err)
				}
			}
			q.Close()
			path := filepath.Join(dir, FileName)
			b, _ := os.ReadFile(path)
			b[victim*recLen+at] ^= 0x10
			_ = os.WriteFile(path, b, 0o640)
			q, err := Open(dir, 0)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for q.Len() > 0 {
				it, _ := q.Peek()
				got = append(got, string(it.Payload))
				_ = q.Pop()
			}
			want := 0
			for i := range items {
				if i != victim {
					want++
				}
			}
			if len(got) != want || q.Corrupt == 0 || q.CorruptRegions != 1 || q.Backup == "" {
				t.Errorf("record %d byte %d: delivered %v, corrupt %d bytes in %d regions, backup %q; want the %d others, counted, backed up",
					victim, at, got, q.Corrupt, q.CorruptRegions, q.Backup, want)
			}
			if bk, err := os.ReadFile(q.Backup); err != nil || string(bk) != string(b) {
				t.Errorf("backup %q: %v (or not the damaged file)", q.Backup, err)
			}
			if err := q.Append(items[0]); err != nil {
				t.Fatal(err)
			}
			q.Close()
			q, _ = Open(dir, 0)
			if q.Len() != 1 || q.Corrupt != 0 {
				t.Errorf("after repair and one append: Len %d Corrupt %d, want 1 and 0", q.Len(), q.Corrupt)
			}
			q.Close()
		}
	}
}

func TestFull(t *testing.T) {
	q, err := Open(t.TempDir(), 40)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if err := q.Append(Item{Topic: "a", Payload: make([]byte, 20)}); err != nil {
		t.Fatal(err)
	}
	if err := q.Append(Item{Topic: "a", Payload: make([]byte, 20)}); !errors.Is(err, ErrFull) {
		t.Fatalf("want ErrFull, got %v", err)
	}
}

// Two daemons on one queue directory would interleave their appends: the second Open
// is refused while the first holds it, and succeeds once it is closed.
func TestOpenRefusesADirectoryInUse(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, 0); !errors.Is(err, ErrInUse) {
		t.Fatalf("second Open of a directory in use: %v, want ErrInUse", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := Open(dir, 0)
	if err != nil {
		t.Fatalf("Open after the first closed: %v", err)
	}
	b.Close()
}
