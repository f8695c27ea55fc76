package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSystemdUnitsVerify runs systemd-analyze verify over the units. The binaries are
// not installed here, so "is not executable" for the ExecStart paths is the one message
// allowed; anything else (a typo in a directive, a bad value) fails.
func TestSystemdUnitsVerify(t *testing.T) {
	units, _ := filepath.Glob(filepath.Join("systemd", "*"))
	if len(units) < 4 {
		t.Fatalf("units: %v", units)
	}
	bin, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	var abs []string
	for _, u := range units {
		a, _ := filepath.Abs(u)
		abs = append(abs, a)
	}
	out, _ := exec.Command(bin, append([]string{"verify", "--man=no"}, abs...)...).CombinedOutput()
	allowed := regexp.MustCompile(`Command /usr/local/(bin|lib/faultline)/\S+ is not executable`)
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" && !allowed.MatchString(line) {
			t.Errorf("systemd-analyze verify: %s", line)
		}
	}
}

// TestSystemdUnitsHardened: the directives the gateway threat model relies on are set.
func TestSystemdUnitsHardened(t *testing.T) {
	want := []string{
		"NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
		"StateDirectory=", "LoadCredential=", "ExecReload=/bin/kill -HUP $MAINPID",
		"Restart=on-failure", "MemoryMax=", "CapabilityBoundingSet=\n", "User=faultline",
	}
	for _, u := range []string{"faultline-infer.service", "faultline-ingest.service"} {
		b, err := os.ReadFile(filepath.Join("systemd", u))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s lacks %q", u, strings.TrimSpace(w))
			}
		}
		if regexp.MustCompile(`(?i)(password|token)=\S`).Match(b) {
			t.Errorf("%s sets a secret inline", u)
		}
	}
}
