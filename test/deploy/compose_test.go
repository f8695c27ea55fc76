package deploy_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// composeFile is the part of docker-compose.yml the tests look into.
type composeFile struct {
	Services map[string]struct {
		Image       string            `json:"image"`
		User        string            `json:"user"`
		ReadOnly    bool              `json:"read_only"`
		CapDrop     []string          `json:"cap_drop"`
		Environment map[string]string `json:"environment"`
		Secrets     []string          `json:"secrets"`
		Ports       []string          `json:"ports"`
	} `json:"services"`
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile("../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	// Non-strict: only these fields matter here; docker-compose itself validates the rest.
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return c
}

func composeEnvironment(t *testing.T) []envVar {
	var vars []envVar
	for name, s := range loadCompose(t).Services {
		for k, v := range s.Environment {
			vars = append(vars, envVar{file: "docker-compose.yml service " + name, name: k, val: v})
		}
	}
	return vars
}

// TestComposeConfigValid runs Debian's docker-compose over docker-compose.yml. It only
// parses and validates the file: no Docker engine is involved or pretended.
func TestComposeConfigValid(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		if os.Getenv("FAULTLINE_REQUIRE_SERVERS") == "1" {
			t.Fatal("docker-compose not installed: apt-get install docker-compose (deploy/scripts/ensure-deploy-tools.sh)")
		}
		t.Skip("docker-compose not installed (apt-get install docker-compose); docker-compose.yml not validated")
	}
	for _, profile := range [][]string{nil, {"--profile", "train", "--profile", "edge"}} {
		args := append([]string{"-f", "docker-compose.yml"}, profile...)
		args = append(args, "config", "-q")
		cmd := exec.Command(bin, args...)
		cmd.Dir = ".."
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("docker-compose %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestComposeServicesHardened: every Faultline container runs as nonroot with a
// read-only root and no capabilities; every published port is bound to loopback.
func TestComposeServicesHardened(t *testing.T) {
	c := loadCompose(t)
	for _, want := range []string{"mosquitto", "influxdb", "simulate", "ingest", "train", "infer", "grafana"} {
		if _, ok := c.Services[want]; !ok {
			t.Errorf("docker-compose.yml has no %s service", want)
		}
	}
	for name, s := range c.Services {
		for _, p := range s.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("%s publishes %s on every interface; bind to 127.0.0.1", name, p)
			}
		}
		if !strings.HasPrefix(s.Image, "faultline:") {
			continue
		}
		if s.User != "65532:65532" || !s.ReadOnly || len(s.CapDrop) != 1 || s.CapDrop[0] != "ALL" {
			t.Errorf("%s: user=%q read_only=%v cap_drop=%v; want 65532:65532, true, [ALL]", name, s.User, s.ReadOnly, s.CapDrop)
		}
	}
}
