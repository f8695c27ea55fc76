package servers

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// findBinary is tested directly: through MosquittoBinary the fallbacks (PATH,
// /usr/sbin/mosquitto) find the installed broker, so ErrNotFound cannot be provoked there.
func TestFindBinary(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "fake-server")
	plain := filepath.Join(dir, "not-executable")
	for path, mode := range map[string]os.FileMode{exe: 0o755, plain: 0o644} {
		if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(dir, "missing")
	const envVar = "FAULTLINE_TEST_SERVER_BINARY"

	cases := []struct {
		name       string
		env        string
		candidates []string
		want       string // "" = ErrNotFound
	}{
		{"env wins", exe, []string{"/bin/sh"}, exe},
		{"missing env falls back", missing, []string{exe}, exe},
		{"first existing candidate", "", []string{missing, exe, "/bin/sh"}, exe},
		{"directory skipped", "", []string{dir, exe}, exe},
		{"non-executable skipped", "", []string{plain, exe}, exe},
		{"empty candidate skipped", "", []string{"", exe}, exe},
		{"bare name looked up in PATH", "", []string{"sh"}, "sh"},
		{"nothing found", missing, []string{missing, dir, plain, "no-such-binary-faultline"}, ""},
		{"no candidates", "", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv(envVar, c.env)
			got, err := findBinary(envVar, c.candidates...)
			if c.want == "" {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("findBinary = %q, %v; want ErrNotFound", got, err)
				}
				if !strings.Contains(err.Error(), envVar) {
					t.Fatalf("error %q does not tell the user which variable to set", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("findBinary: %v", err)
			}
			if c.want == "sh" {
				if filepath.Base(got) != "sh" || !filepath.IsAbs(got) {
					t.Fatalf("PATH lookup gave %q", got)
				}
				return
			}
			if got != c.want {
				t.Fatalf("findBinary = %q, want %q", got, c.want)
			}
		})
	}
}

// TestStartMosquittoNotFound: with no binary reachable StartMosquitto returns
// ErrNotFound (which testenv turns into a skip) and starts nothing. Only meaningful
// where /usr/sbin/mosquitto, the fixed fallback, is absent.
func TestStartMosquittoNotFound(t *testing.T) {
	if _, err := os.Stat("/usr/sbin/mosquitto"); err == nil {
		t.Skip("/usr/sbin/mosquitto exists; ErrNotFound is covered by TestFindBinary")
	}
	t.Setenv("FAULTLINE_MOSQUITTO", filepath.Join(t.TempDir(), "missing"))
	t.Setenv("PATH", t.TempDir())
	dir := filepath.Join(t.TempDir(), "broker")
	_, err := StartMosquitto(t.Context(), dir, MosquittoOptions{})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("StartMosquitto = %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("broker dir created although nothing started: %v", err)
	}
}

func TestFreePort(t *testing.T) {
	p, err := FreePort()
	if err != nil || p <= 0 || p > 65535 {
		t.Fatalf("FreePort = %d, %v", p, err)
	}
}
