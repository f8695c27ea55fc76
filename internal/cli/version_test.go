package cli

import (
	"strings"
	"testing"
)

func TestVersionRequested(t *testing.T) {
	for _, c := range []struct {
		args []string
		want bool
	}{
		{[]string{"--version"}, true},
		{[]string{"-version"}, true},
		{nil, false},
		// train's own -version flag (the model version) takes a value: not ours.
		{[]string{"--version", "7", "--csv", "x.csv"}, false},
		{[]string{"run", "--version"}, false},
	} {
		if got := VersionRequested(c.args); got != c.want {
			t.Errorf("%q: %v, want %v", c.args, got, c.want)
		}
	}
	if v := Version("infer"); !strings.HasPrefix(v, "infer ") || !strings.Contains(v, " commit ") || !strings.Contains(v, " go1.") {
		t.Errorf("Version = %q", v)
	}
}
