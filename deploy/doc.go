// Package deploy holds Faultline's deployment artifacts: the Mosquitto configuration and
// ACL (mosquitto/), Docker Compose support files (compose/, grafana/), hardened systemd
// units and the gateway installer (systemd/, gateway/), and Kubernetes manifests with
// kustomize overlays (k8s/). The package has no Go API; its tests check the artifacts
// against real tools: the ACL against a real Mosquitto, the manifests against the typed
// Kubernetes API, docker-compose.yml with docker-compose, the scripts with shellcheck,
// and every example config against the variables the programs read.
package deploy
