package deploy_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfileShape checks what can be checked without a Docker engine (none runs
// here, and none is pretended): the Go builder, static build, distroless runtime,
// nonroot user in every final stage, and COPY --from naming existing stages.
func TestDockerfileShape(t *testing.T) {
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	src := string(b)
	for _, want := range []string{"golang:${GO_VERSION}", "ARG GO_VERSION=1.26", "CGO_ENABLED=0", "gcr.io/distroless/static", "USER 65532:65532"} {
		if !strings.Contains(src, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	stages := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^FROM\s+(?:--platform=\S+\s+)?(\S+)\s+AS\s+(\S+)`).FindAllStringSubmatch(src, -1) {
		if m[1] != "runtime" && !strings.Contains(m[1], ":") {
			if !stages[m[1]] {
				t.Errorf("stage %s builds FROM %s: pin an image tag", m[2], m[1])
			}
		}
		stages[m[2]] = true
	}
	for _, m := range regexp.MustCompile(`COPY --from=(\S+)`).FindAllStringSubmatch(src, -1) {
		if !stages[m[1]] {
			t.Errorf("COPY --from=%s names no stage", m[1])
		}
	}
	for _, p := range []string{"simulate", "ingest", "train", "infer", "faultline"} {
		if !stages[p] {
			t.Errorf("no %s target", p)
		}
	}
	ignore, err := os.ReadFile("../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", "**/secrets", "bin", "dist"} {
		if !strings.Contains(string(ignore), want+"\n") {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
}
