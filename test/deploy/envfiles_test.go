package deploy_test

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var (
	envNameRE    = regexp.MustCompile(`FAULTLINE_[A-Z0-9_]+`)
	envLineRE    = regexp.MustCompile(`^\s*(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$`)
	secretNameRE = regexp.MustCompile(`(PASSWORD|TOKEN|SECRET|PRIVATE_KEY|API_KEY)$`)
)

// isSecretName says whether an environment variable carries a secret value itself (its
// _FILE sibling carries only a path).
func isSecretName(name string) bool { return secretNameRE.MatchString(name) }

// thirdParty are the variables of the images we configure (not Faultline programs).
var thirdParty = map[string]bool{
	"DOCKER_INFLUXDB_INIT_MODE": true, "DOCKER_INFLUXDB_INIT_USERNAME": true,
	"DOCKER_INFLUXDB_INIT_PASSWORD_FILE": true, "DOCKER_INFLUXDB_INIT_ADMIN_TOKEN_FILE": true,
	"DOCKER_INFLUXDB_INIT_ORG": true, "DOCKER_INFLUXDB_INIT_BUCKET": true,
	"DOCKER_INFLUXDB_INIT_RETENTION": true,
}

// knownVariables collects every FAULTLINE_* name the programs read (Go sources under
// cmd/ and internal/, tests excluded) and the ones deploy's scripts read. A variable in
// an example config that none of them reads is a typo or a stale setting.
func knownVariables(t *testing.T) map[string]bool {
	t.Helper()
	known := map[string]bool{}
	add := func(root string, keep func(string) bool) {
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !keep(p) {
				return nil
			}
			b, _ := os.ReadFile(p)
			for _, n := range envNameRE.FindAllString(string(b), -1) {
				known[n] = true
			}
			return nil
		})
	}
	goSource := func(p string) bool { return strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") }
	add(filepath.Join("..", "cmd"), goSource)
	add(filepath.Join("..", "internal"), goSource)
	add(".", func(p string) bool { return strings.HasSuffix(p, ".sh") })
	for _, must := range []string{"FAULTLINE_MQTT_URL", "FAULTLINE_MQTT_PASSWORD_FILE", "FAULTLINE_INFLUX_TOKEN_FILE", "FAULTLINE_MODEL_URL"} {
		if !known[must] {
			t.Fatalf("found no reader of %s: the source scan is broken", must)
		}
	}
	return known
}

type envVar struct {
	file      string
	line      int
	name, val string
	commented bool
}

func readEnvFile(t *testing.T, path string) []envVar {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var vars []envVar
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := envLineRE.FindStringSubmatch(line); m != nil {
			vars = append(vars, envVar{path, n, m[2], m[3], m[1] != ""})
		} else if s := strings.TrimSpace(line); s != "" && !strings.HasPrefix(s, "#") {
			t.Errorf("%s:%d: not NAME=value: %q", path, n, line)
		}
	}
	return vars
}

func checkVar(t *testing.T, known map[string]bool, v envVar) {
	t.Helper()
	if !known[v.name] && !thirdParty[v.name] {
		t.Errorf("%s:%d: %s is read by no Faultline program or deploy script", v.file, v.line, v.name)
	}
	if isSecretName(v.name) && strings.TrimSpace(v.val) != "" {
		t.Errorf("%s:%d: %s holds a secret inline; use %s_FILE", v.file, v.line, v.name, v.name)
	}
	if strings.HasSuffix(v.name, "_FILE") && !strings.HasPrefix(v.val, "/") {
		t.Errorf("%s:%d: %s=%q: give an absolute path", v.file, v.line, v.name, v.val)
	}
}

// TestExampleConfigsUseKnownVariables loads every example env file under deploy/ and
// the environment blocks of docker-compose.yml.
func TestExampleConfigsUseKnownVariables(t *testing.T) {
	known := knownVariables(t)
	files, _ := filepath.Glob(filepath.Join("*", "*.env"))
	more, _ := filepath.Glob(filepath.Join("*", "*", "*.env"))
	files = append(files, more...)
	sort.Strings(files)
	if len(files) < 5 {
		t.Fatalf("expected the example env files under deploy/, found %v", files)
	}
	for _, f := range files {
		vars := readEnvFile(t, f)
		if len(vars) == 0 {
			t.Errorf("%s sets nothing", f)
		}
		for _, v := range vars {
			checkVar(t, known, v)
		}
	}
	for _, v := range composeEnvironment(t) {
		if strings.HasPrefix(v.name, "FAULTLINE_") {
			checkVar(t, known, v)
		} else if isSecretName(v.name) && v.val != "" {
			t.Errorf("docker-compose.yml: %s holds a secret inline", v.name)
		}
	}
}

// TestNoSecretsInDeployTree looks for anything that reads like a credential in the
// committed files: PEM private keys, password-file hashes, bearer tokens.
func TestNoSecretsInDeployTree(t *testing.T) {
	bad := regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----|:\$7\$\d+\$|Bearer [A-Za-z0-9_\-]{20,}`)
	_ = filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, _ := os.ReadFile(p)
		if loc := bad.FindIndex(b); loc != nil {
			t.Errorf("%s holds what looks like a secret: %q", p, b[loc[0]:min(loc[1], loc[0]+40)])
		}
		return nil
	})
}
