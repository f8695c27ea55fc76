// Package deploy tests Faultline's deployment artifacts in the repository's deploy/
// directory: the Mosquitto configuration and ACL (mosquitto/), Docker Compose support
// files (compose/, grafana/), hardened systemd units and the gateway installer
// (systemd/, gateway/), and Kubernetes manifests with kustomize overlays (k8s/). It
// checks them against real tools: the ACL against a real Mosquitto, the manifests
// against the typed Kubernetes API, docker-compose.yml with docker-compose, the scripts
// with shellcheck, every example config against the variables the programs read, and
// every deployment's command lines run against real servers.
//
// It is a Go module of its own (go.mod here), so the Kubernetes dependencies stay out
// of the product module: run it with `cd test/deploy && go test ./...` (`make test`
// does).
package deploy
