package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestMain runs the tests from the repository's deploy/ directory: they read the
// artifacts there by their paths relative to it (k8s/base/..., mosquitto/acl,
// ../docker-compose.yml), as an operator reads them. This package is a module of its
// own so that the Kubernetes API types it checks the manifests with stay out of the
// product module's dependencies.
func TestMain(m *testing.M) {
	dir, err := filepath.Abs(filepath.Join("..", "..", "deploy"))
	if err == nil {
		err = os.Chdir(dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploy tests: cd to the repository's deploy/:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
