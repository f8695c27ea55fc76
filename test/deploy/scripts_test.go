package deploy_test

import (
	"crypto/sha256"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func shellScripts(t *testing.T) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".sh") {
			out = append(out, p)
		}
		return err
	})
	if len(out) < 5 {
		t.Fatalf("expected deploy's shell scripts, found %v", out)
	}
	return out
}

// TestShellScripts: bash -n always, shellcheck when installed (required under
// FAULTLINE_REQUIRE_SERVERS=1, as CI sets).
func TestShellScripts(t *testing.T) {
	scripts := shellScripts(t)
	for _, s := range scripts {
		if out, err := exec.Command("bash", "-n", s).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", s, err, out)
		}
		if st, _ := os.Stat(s); st.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable", s)
		}
	}
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("FAULTLINE_REQUIRE_SERVERS") == "1" {
			t.Fatal("shellcheck not installed: apt-get install shellcheck (deploy/scripts/ensure-deploy-tools.sh)")
		}
		t.Skip("shellcheck not installed (apt-get install shellcheck); only bash -n ran")
	}
	if out, err := exec.Command(sc, append([]string{"-x"}, scripts...)...).CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}

// TestInstallScriptStages runs install.sh into a staging root for each architecture and
// checks it picked that architecture's binaries and wrote the example configs.
func TestInstallScriptStages(t *testing.T) {
	dist := t.TempDir()
	for _, arch := range []string{"amd64", "arm64", "armv7"} {
		dir := filepath.Join(dist, "linux-"+arch)
		_ = os.MkdirAll(dir, 0o755)
		for _, b := range []string{"infer", "ingest"} {
			_ = os.WriteFile(filepath.Join(dir, b), []byte("#!/bin/sh\necho "+arch+"\n"), 0o755)
		}
	}
	cases := map[string]string{"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armv7"}
	for machine, arch := range cases {
		t.Run(machine, func(t *testing.T) {
			root := t.TempDir()
			cmd := exec.Command("bash", "gateway/install.sh")
			cmd.Env = append(os.Environ(), "DESTDIR="+root, "FAULTLINE_DIST="+dist, "FAULTLINE_ARCH="+machine)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("install.sh: %v\n%s", err, out)
			}
			b, err := os.ReadFile(filepath.Join(root, "usr/local/bin/infer"))
			if err != nil || !strings.Contains(string(b), arch) {
				t.Fatalf("installed infer is not the %s build: %q %v", arch, b, err)
			}
			for _, f := range []string{"etc/faultline/infer.env", "etc/systemd/system/faultline-infer.service", "usr/local/lib/faultline/fetch-model.sh"} {
				if _, err := os.Stat(filepath.Join(root, f)); err != nil {
					t.Errorf("missing %s: %v", f, err)
				}
			}
			if st, err := os.Stat(filepath.Join(root, "etc/faultline/credentials")); err != nil || st.Mode().Perm() != 0o700 {
				t.Errorf("credentials dir must be 0700: %v %v", st, err)
			}
		})
	}
	cmd := exec.Command("bash", "gateway/install.sh")
	cmd.Env = append(os.Environ(), "DESTDIR="+t.TempDir(), "FAULTLINE_DIST="+dist, "FAULTLINE_ARCH=mips")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "no Faultline build") {
		t.Errorf("unknown architecture should fail clearly; got %v: %s", err, out)
	}
}

// TestFetchModel serves a model over loopback HTTP and runs fetch-model.sh with real
// curl: a good model is installed atomically, a bad checksum leaves the old one.
func TestFetchModel(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	model := []byte("model-v2")
	sum := fmt.Sprintf("%x  default.model\n", sha256.Sum256(model))
	mux := http.NewServeMux()
	mux.HandleFunc("/good/default.model", func(w http.ResponseWriter, _ *http.Request) { w.Write(model) })
	mux.HandleFunc("/good/default.model.sha256", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(sum)) })
	mux.HandleFunc("/bad/default.model", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("tampered")) })
	mux.HandleFunc("/bad/default.model.sha256", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(sum)) })
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	plain := httptest.NewServer(mux)
	defer plain.Close()

	dir := t.TempDir()
	ca := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(dir, "default.model")
	_ = os.WriteFile(dest, []byte("model-v1"), 0o640)
	runURL := func(url string) (string, error) {
		cmd := exec.Command("bash", "gateway/fetch-model.sh")
		cmd.Env = append(os.Environ(), "FAULTLINE_MODEL_URL="+url, "FAULTLINE_MODEL_DIR="+dir, "FAULTLINE_MODEL_CA_FILE="+ca)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	run := func(path string) (string, error) { return runURL(srv.URL + path) }
	// docs/security.md promises https: a plain http URL is refused before any download
	// (issue 16.16; before, --proto '=https,http' let it through).
	if out, err := runURL(plain.URL + "/good/default.model"); err == nil || !strings.Contains(out, "must be an https:// URL") {
		t.Fatalf("http URL accepted: %v %s", err, out)
	}
	if out, err := run("/bad/default.model"); err == nil || !strings.Contains(out, "checksum mismatch") {
		t.Fatalf("tampered model accepted: %v %s", err, out)
	}
	if b, _ := os.ReadFile(dest); string(b) != "model-v1" {
		t.Fatalf("old model replaced by a bad download: %q", b)
	}
	if out, err := run("/good/default.model"); err != nil {
		t.Fatalf("fetch-model.sh: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(dest); string(b) != "model-v2" {
		t.Fatalf("model not installed: %q", b)
	}
	if out, err := run("/good/default.model"); err != nil || !strings.Contains(out, "is current") {
		t.Fatalf("second fetch: %v %s", err, out)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".fetch-*")); len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}
	if out, err := run("/missing/default.model"); err == nil {
		t.Fatalf("a 404 should fail: %s", out)
	}
}

// TestInitSecretsPrivate runs deploy/compose/init-secrets.sh in a copy of the tree
// where, as after a git checkout, secrets/ already exists with mode 0755. The directory
// must end up 0700 (what the script's last line promises) so no other host user reaches
// a token or password; the files stay readable by the containers' uids, which Compose
// bind-mounts them to without any way to change owner or mode.
func TestInitSecretsPrivate(t *testing.T) {
	mosquittoPasswd(t)
	root := t.TempDir()
	// t.TempDir is 0700 (and so is its parent): open the path down to the checkout, as
	// a home directory usually is, so only secrets/ itself can keep others out.
	for _, d := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"compose/init-secrets.sh", "mosquitto/gen-passwd.sh"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(root, "deploy", f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	secrets := filepath.Join(root, "deploy", "compose", "secrets")
	if err := os.Mkdir(secrets, 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(secrets, 0o755) // whatever the test's umask
	cmd := exec.Command("bash", "-c", "umask 022; exec deploy/compose/init-secrets.sh")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("init-secrets.sh: %v\n%s", err, out)
	}
	st, err := os.Stat(secrets)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("secrets/ is %o after init-secrets.sh, want 700\n%s", st.Mode().Perm(), out)
	}
	files, _ := filepath.Glob(filepath.Join(secrets, "*"))
	want := []string{"influx_token", "influx_admin_password", "grafana_admin_password", "passwd", "mqtt-ingest.password"}
	for _, w := range want {
		if _, err := os.Stat(filepath.Join(secrets, w)); err != nil {
			t.Errorf("no %s: %v", w, err)
		}
	}
	for _, f := range files {
		if st, err := os.Stat(f); err == nil && st.Mode().Perm()&0o022 != 0 {
			t.Errorf("%s is writable by others: %o", filepath.Base(f), st.Mode().Perm())
		}
	}
	// As another user (needs root to switch): no secret is readable through the dir.
	if os.Geteuid() == 0 {
		if runuser, err := exec.LookPath("runuser"); err == nil {
			for _, f := range files {
				if out, err := exec.Command(runuser, "-u", "nobody", "--", "cat", f).CombinedOutput(); err == nil {
					t.Errorf("user nobody read %s: %q", filepath.Base(f), out)
				}
			}
		}
	} else {
		t.Log("not root: the read-as-another-user check is skipped; the mode check ran")
	}
	// Re-running keeps the secrets and the mode.
	before, _ := os.ReadFile(filepath.Join(secrets, "influx_token"))
	if out, err := exec.Command("bash", "-c", "cd "+root+" && deploy/compose/init-secrets.sh").CombinedOutput(); err != nil {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	after, _ := os.ReadFile(filepath.Join(secrets, "influx_token"))
	if string(before) != string(after) || len(after) < 40 {
		t.Errorf("the second run changed the token (%d -> %d bytes)", len(before), len(after))
	}
}
