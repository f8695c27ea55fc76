package evalcmd

import (
	"errors"
	"testing"
)

func TestParseNovelty(t *testing.T) {
	v, err := parseNovelty("500,50,0.7")
	if err != nil || v.Window != 500 || v.Gap != 50 || v.Ratio != 0.7 {
		t.Fatalf("got %+v, %v", v, err)
	}
	for _, bad := range []string{"500,50", "0,50,1", "500,-1,1", "500,50,0", "a,b,c"} {
		if _, err := parseNovelty(bad); !errors.Is(err, ErrUsage) {
			t.Fatalf("%q: %v, want a usage error", bad, err)
		}
	}
}
