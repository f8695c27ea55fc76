package deploy_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// typeMeta is read first to choose the Go type for a document.
type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// newObject returns the typed Kubernetes object for apiVersion/kind; unknown kinds are
// an error so a typo in either cannot slip through as "unchecked".
func newObject(tm typeMeta) (any, error) {
	switch tm.APIVersion + "/" + tm.Kind {
	case "v1/Namespace":
		return &corev1.Namespace{}, nil
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1/Secret":
		return &corev1.Secret{}, nil
	case "v1/Service":
		return &corev1.Service{}, nil
	case "v1/PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, nil
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, nil
	case "apps/v1/DaemonSet":
		return &appsv1.DaemonSet{}, nil
	case "apps/v1/StatefulSet":
		return &appsv1.StatefulSet{}, nil
	case "batch/v1/Job":
		return &batchv1.Job{}, nil
	case "batch/v1/CronJob":
		return &batchv1.CronJob{}, nil
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	}
	return nil, fmt.Errorf("unknown apiVersion/kind %s/%s: add it to newObject if it is meant", tm.APIVersion, tm.Kind)
}

// decodeStrict decodes every YAML document of data into its typed object; unknown
// fields fail.
func decodeStrict(data []byte) ([]any, error) {
	var out []any
	for i, doc := range splitYAML(data) {
		var tm typeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		obj, err := newObject(tm)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			return nil, fmt.Errorf("document %d (%s): %w", i, tm.Kind, err)
		}
		out = append(out, obj)
	}
	return out, nil
}

func splitYAML(data []byte) [][]byte {
	var docs [][]byte
	for _, d := range bytes.Split(data, []byte("\n---")) {
		if len(bytes.TrimSpace(stripComments(d))) > 0 {
			docs = append(docs, d)
		}
	}
	return docs
}

func stripComments(b []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(l), []byte("#")) {
			out = append(append(out, l...), '\n')
		}
	}
	return out
}

// kustomization holds the fields our kustomization.yaml files use; strict decoding makes
// any other (or misspelt) field fail.
type kustomization struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Labels     []struct {
		Pairs map[string]string `json:"pairs"`
	} `json:"labels,omitempty"`
	Resources []string `json:"resources"`
	Images    []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
	} `json:"images,omitempty"`
	Patches []struct {
		Path string `json:"path"`
	} `json:"patches,omitempty"`
}

func kustomizationDirs(t *testing.T) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir("k8s", func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "kustomization.yaml" {
			dirs = append(dirs, filepath.Dir(p))
		}
		return err
	})
	if err != nil || len(dirs) < 3 {
		t.Fatalf("kustomizations under deploy/k8s: %v %v", dirs, err)
	}
	return dirs
}

// TestKustomizationsReferToExistingFiles: every resource and patch a kustomization lists
// exists, resources decode strictly, and base resources are all listed.
func TestKustomizationsReferToExistingFiles(t *testing.T) {
	for _, dir := range kustomizationDirs(t) {
		t.Run(dir, func(t *testing.T) {
			var k kustomization
			b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if err := yaml.UnmarshalStrict(b, &k); err != nil {
				t.Fatalf("kustomization.yaml: %v", err)
			}
			if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
				t.Fatalf("apiVersion/kind = %s/%s", k.APIVersion, k.Kind)
			}
			for _, r := range k.Resources {
				p := filepath.Join(dir, r)
				st, err := os.Stat(p)
				if err != nil {
					t.Fatalf("resource %s: %v", r, err)
				}
				if st.IsDir() {
					if _, err := os.Stat(filepath.Join(p, "kustomization.yaml")); err != nil {
						t.Fatalf("resource dir %s has no kustomization.yaml", r)
					}
					continue
				}
				data, _ := os.ReadFile(p)
				if _, err := decodeStrict(data); err != nil {
					t.Fatalf("%s: %v", r, err)
				}
			}
			for _, p := range k.Patches {
				data, err := os.ReadFile(filepath.Join(dir, p.Path))
				if err != nil {
					t.Fatalf("patch %s: %v", p.Path, err)
				}
				if _, err := decodeStrict(data); err != nil {
					t.Fatalf("patch %s: %v", p.Path, err)
				}
			}
			if filepath.Base(dir) == "base" {
				checkAllListed(t, dir, k.Resources)
			}
		})
	}
}

func checkAllListed(t *testing.T, dir string, listed []string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	for _, f := range files {
		name := filepath.Base(f)
		if name != "kustomization.yaml" && !contains(listed, name) {
			t.Errorf("%s is in base/ but not in its kustomization.yaml", name)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestK8sManifestsDecodeStrictly decodes every YAML file under deploy/k8s (including
// the one-off Job) into the typed API objects and checks the pod security rules.
func TestK8sManifestsDecodeStrictly(t *testing.T) {
	var files []string
	_ = filepath.WalkDir("k8s", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") && d.Name() != "kustomization.yaml" {
			files = append(files, p)
		}
		return err
	})
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := decodeStrict(data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if !strings.Contains(f, "overlays") { // patches are partial by design
			for _, o := range objs {
				checkPodSecurity(t, f, o)
			}
		}
	}
}

// TestKustomizeBuild renders each overlay with kustomize (kubectl's built-in or the
// standalone binary) and decodes the output strictly.
func TestKustomizeBuild(t *testing.T) {
	build := kustomizeCommand()
	if build == nil {
		t.Skip("neither kubectl nor kustomize installed; TestKustomizationsReferToExistingFiles still checked the files")
	}
	for _, dir := range kustomizationDirs(t) {
		t.Run(dir, func(t *testing.T) {
			out, err := exec.Command(build[0], append(build[1:], dir)...).Output()
			if err != nil {
				t.Fatalf("%v %s: %v\n%s", build, dir, err, stderrOf(err))
			}
			objs, err := decodeStrict(out)
			if err != nil {
				t.Fatal(err)
			}
			kinds := map[string]int{}
			for _, o := range objs {
				kinds[fmt.Sprintf("%T", o)]++
				checkPodSecurity(t, dir, o)
			}
			for _, want := range []string{"*v1.Deployment", "*v1.DaemonSet", "*v1.CronJob", "*v1.PodDisruptionBudget"} {
				if kinds[want] != 1 {
					t.Errorf("%s renders %d %s, want 1", dir, kinds[want], want)
				}
			}
		})
	}
}

func kustomizeCommand() []string {
	if p, err := exec.LookPath("kubectl"); err == nil {
		return []string{p, "kustomize"}
	}
	if p, err := exec.LookPath("kustomize"); err == nil {
		return []string{p, "build"}
	}
	return nil
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// TestDecodeStrictRejects: the decoder the manifest tests rely on does fail on typos.
func TestDecodeStrictRejects(t *testing.T) {
	cases := map[string]string{
		"misspelt field": "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replica: 3\n",
		"wrong type":     "apiVersion: apps/v1\nkind: Deployment\nspec:\n  replicas: three\n",
		"unknown kind":   "apiVersion: apps/v1\nkind: Deploymnet\n",
		"old apiVersion": "apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\n",
	}
	for name, doc := range cases {
		if _, err := decodeStrict([]byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestK8sIngestDrainUsesTheGracePeriod: ingest keeps writing its spool for
// --shutdown-timeout after SIGTERM; that must use most of the pod's grace period and
// still end (with 10 s for the rest of the shutdown) before the kubelet's SIGKILL.
// Before, the default 10 s drained during 10 s of a 60 s grace period.
func TestK8sIngestDrainUsesTheGracePeriod(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("k8s", "base", "ingest-deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeStrict(data)
	if err != nil {
		t.Fatal(err)
	}
	d := objs[0].(*appsv1.Deployment)
	grace := time.Duration(*d.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
	drain := 10 * time.Second // ingest's default
	for _, a := range d.Spec.Template.Spec.Containers[0].Args {
		if v, ok := strings.CutPrefix(a, "--shutdown-timeout="); ok {
			if drain, err = time.ParseDuration(v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if drain < grace/2 || drain+10*time.Second > grace {
		t.Errorf("ingest drains for %s of a %s grace period: use at least half of it and leave 10 s", drain, grace)
	}
}
