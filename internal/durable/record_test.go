package durable

import (
	"bytes"
	"testing"
)

// TestScanRecords: valid records are found back; a damaged record in the middle costs
// only itself (the scan resynchronises on the next one); an incomplete tail is torn only
// in the file written last, and damage anywhere else.
func TestScanRecords(t *testing.T) {
	f := Framing{MinLen: 1, MaxLen: 1 << 10}
	var b []byte
	for _, p := range []string{"alpha", "bravo", "charlie"} {
		b = AppendRecord(b, []byte(p))
	}
	whole := len(b)
	sc := f.Scan(b, true)
	if len(sc.Frames) != 3 || sc.Valid != int64(whole) || sc.Torn != 0 || sc.Corrupt != 0 {
		t.Fatalf("clean file: %+v", sc)
	}
	if n, ok := f.Parse(b); !ok || string(b[HeaderSize:HeaderSize+n]) != "alpha" {
		t.Fatalf("Parse = %d, %v", n, ok)
	}

	damaged := bytes.Clone(b)
	damaged[HeaderSize+5+HeaderSize+1] ^= 0xff // a byte of "bravo"
	sc = f.Scan(damaged, true)
	if len(sc.Frames) != 2 || sc.Regions != 1 || sc.Corrupt != int64(HeaderSize+5) {
		t.Fatalf("damaged middle: %+v", sc)
	}
	if got := sc.Clean(damaged); !bytes.Equal(got, append(AppendRecord(nil, []byte("alpha")), AppendRecord(nil, []byte("charlie"))...)) {
		t.Fatalf("Clean = %q", got)
	}

	torn := AppendRecord(bytes.Clone(b), []byte("delta"))[:whole+HeaderSize+2]
	if sc = f.Scan(torn, true); sc.Torn != HeaderSize+2 || sc.Corrupt != 0 || len(sc.Frames) != 3 {
		t.Fatalf("torn tail of the last file: %+v", sc)
	}
	if sc = f.Scan(torn, false); sc.Torn != 0 || sc.Corrupt != HeaderSize+2 || sc.Regions != 1 {
		t.Fatalf("incomplete tail of an earlier file: %+v", sc)
	}
	if sc = f.Scan(append(bytes.Clone(b), make([]byte, 64)...), true); sc.Torn != 64 {
		t.Fatalf("zero-filled tail: %+v", sc)
	}

	picky := Framing{MinLen: 1, MaxLen: 1 << 10, Check: func(p []byte) bool { return p[0] != 'b' }}
	if sc = picky.Scan(b, true); len(sc.Frames) != 2 || sc.Regions != 1 {
		t.Fatalf("a payload Check refuses is damage: %+v", sc)
	}
}
