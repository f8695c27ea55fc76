package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	psapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// enforcedLevel reads the pod-security level deploy/k8s/base/namespace.yaml enforces.
func enforcedLevel(t *testing.T) psapi.LevelVersion {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("k8s", "base", "namespace.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeStrict(data)
	if err != nil || len(objs) != 1 {
		t.Fatalf("namespace.yaml: %v", err)
	}
	ns := objs[0].(*corev1.Namespace)
	level, err := psapi.ParseLevel(ns.Labels[psapi.EnforceLevelLabel])
	if err != nil {
		t.Fatalf("namespace %s: %s: %v", ns.Name, psapi.EnforceLevelLabel, err)
	}
	if level != psapi.LevelRestricted {
		t.Fatalf("namespace %s enforces %q; the deployment is meant for restricted", ns.Name, level)
	}
	v := psapi.LatestVersion()
	if s := ns.Labels[psapi.EnforceVersionLabel]; s != "" {
		if v, err = psapi.ParseVersion(s); err != nil {
			t.Fatalf("namespace %s: %s: %v", ns.Name, psapi.EnforceVersionLabel, err)
		}
	}
	return psapi.LevelVersion{Level: level, Version: v}
}

// admitPod runs the Kubernetes pod-security admission checks (the code the API server
// runs) over one pod template and returns why it would be refused ("" = admitted).
func admitPod(t *testing.T, lv psapi.LevelVersion, meta *metav1.ObjectMeta, spec *corev1.PodSpec) string {
	t.Helper()
	ev, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	res := policy.AggregateCheckResults(ev.EvaluatePod(lv, meta, spec))
	if res.Allowed {
		return ""
	}
	return res.ForbiddenDetail()
}

// TestK8sPodSecurityAdmission: every pod template under deploy/k8s (base, the one-off
// Job, and each overlay as kustomize renders it) passes the namespace's enforced level.
// A pod the admission controller refuses never starts: the DaemonSet's hostPath queue
// made every infer pod fail this way.
func TestK8sPodSecurityAdmission(t *testing.T) {
	lv := enforcedLevel(t)
	checked := 0
	check := func(where string, objs []any) {
		for _, o := range objs {
			spec, meta := podSpecOf(o), podMetaOf(o)
			if spec == nil {
				continue
			}
			checked++
			if why := admitPod(t, lv, meta, spec); why != "" {
				t.Errorf("%s: pod-security %s refuses the pod: %s", where, lv.Level, why)
			}
		}
	}
	var files []string
	_ = filepath.WalkDir("k8s", func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") && d.Name() != "kustomization.yaml" && !strings.Contains(p, "overlays") {
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
			t.Fatalf("%s: %v", f, err)
		}
		check(f, objs)
	}
	if build := kustomizeCommand(); build != nil {
		for _, dir := range kustomizationDirs(t) {
			out, err := exec.Command(build[0], append(build[1:], dir)...).Output()
			if err != nil {
				t.Fatalf("%v %s: %v\n%s", build, dir, err, stderrOf(err))
			}
			objs, err := decodeStrict(out)
			if err != nil {
				t.Fatal(err)
			}
			check("kustomize "+dir, objs)
		}
	} else {
		t.Log("neither kubectl nor kustomize installed: overlays checked only through base")
	}
	if checked < 4 {
		t.Fatalf("checked %d pod templates; the manifests hold at least 4", checked)
	}
}

// TestPodSecurityAdmissionRefusesHostPath: the check above does refuse what restricted
// forbids (a hostPath volume, a root container), so its passing means something.
func TestPodSecurityAdmissionRefusesHostPath(t *testing.T) {
	lv := enforcedLevel(t)
	data, err := os.ReadFile(filepath.Join("k8s", "base", "infer-daemonset.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeStrict(data)
	if err != nil {
		t.Fatal(err)
	}
	spec, meta := podSpecOf(objs[0]), podMetaOf(objs[0])
	if why := admitPod(t, lv, meta, spec); why != "" {
		t.Fatalf("the shipped DaemonSet is refused: %s", why)
	}
	withHostPath := spec.DeepCopy()
	withHostPath.Volumes = append(withHostPath.Volumes, corev1.Volume{Name: "host",
		VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/faultline/queue"}}})
	if why := admitPod(t, lv, meta, withHostPath); !strings.Contains(why, "hostPath") {
		t.Errorf("a hostPath volume was not refused (%q)", why)
	}
	asRoot := spec.DeepCopy()
	f := false
	asRoot.SecurityContext.RunAsNonRoot = &f
	asRoot.Containers[0].SecurityContext.RunAsNonRoot = &f
	if why := admitPod(t, lv, meta, asRoot); why == "" {
		t.Error("runAsNonRoot: false was not refused")
	}
}

// podMetaOf returns the pod template's metadata of a workload object, or nil.
func podMetaOf(obj any) *metav1.ObjectMeta {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return &o.Spec.Template.ObjectMeta
	case *appsv1.DaemonSet:
		return &o.Spec.Template.ObjectMeta
	case *appsv1.StatefulSet:
		return &o.Spec.Template.ObjectMeta
	case *batchv1.Job:
		return &o.Spec.Template.ObjectMeta
	case *batchv1.CronJob:
		return &o.Spec.JobTemplate.Spec.Template.ObjectMeta
	}
	return nil
}
