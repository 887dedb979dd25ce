package kubernetes

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"

	"github.com/ripcord/ripcord/internal/testenv"
)

// The chart in deploy/helm/ripcord is linted and rendered with the helm
// that scripts/test.sh builds from the module proxy (on PATH or in
// $(go env GOPATH)/bin); a missing helm fails these tests unless
// RIPCORD_SKIP=helm.

func chartDir() string { return filepath.Join(repoRoot(), "deploy", "helm", "ripcord") }

func helmBin(t *testing.T) string {
	t.Helper()
	testenv.SkipIfOptedOut(t, testenv.Helm)
	if p, err := exec.LookPath("helm"); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "helm")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	testenv.Missing(t, testenv.Helm, "no helm binary on PATH or in $(go env GOPATH)/bin (go install helm.sh/helm/v3/cmd/helm@v3.22.0)")
	return ""
}

func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	// A hung helm fails this test with its arguments, not the whole binary.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, helmBin(t), args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// render runs helm template and decodes every object.
func render(t *testing.T, ns string, set ...string) ([]byte, map[string][]*unstructured.Unstructured) {
	t.Helper()
	args := []string{"template", "rc", chartDir(), "--namespace", ns}
	for _, s := range set {
		args = append(args, "--set", s)
	}
	out, err := helm(t, args...)
	if err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	byKind := map[string][]*unstructured.Unstructured{}
	dec := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(out), 4096)
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("rendered chart: %v\n%s", err, out)
		}
		if len(obj.Object) > 0 {
			byKind[obj.GetKind()] = append(byKind[obj.GetKind()], obj)
		}
	}
	return []byte(out), byKind
}

func one(t *testing.T, byKind map[string][]*unstructured.Unstructured, kind string, into any) {
	t.Helper()
	if len(byKind[kind]) != 1 {
		t.Fatalf("%d %s objects rendered, want 1", len(byKind[kind]), kind)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(byKind[kind][0].Object, into); err != nil {
		t.Fatal(err)
	}
}

func TestHelmChartLintsAndRenders(t *testing.T) {
	for _, set := range [][]string{nil, {"rbac.scope=cluster"}, {"persistence.enabled=false", "rbac.gatewayAPI=false"}} {
		args := []string{"lint", "--strict", chartDir()}
		for _, s := range set {
			args = append(args, "--set", s)
		}
		if out, err := helm(t, args...); err != nil {
			t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	_, objs := render(t, "ripcord")
	for _, kind := range []string{"ServiceAccount", "Role", "RoleBinding", "ConfigMap", "PersistentVolumeClaim", "Deployment", "Service"} {
		if len(objs[kind]) != 1 {
			t.Errorf("%d %s rendered, want 1", len(objs[kind]), kind)
		}
	}
	var chart struct {
		AppVersion string `yaml:"appVersion"`
	}
	readYAML(t, filepath.Join(chartDir(), "Chart.yaml"), &chart)
	var d struct {
		Spec struct {
			Template struct {
				Spec corev1.PodSpec `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	one(t, objs, "Deployment", &d)
	pod := d.Spec.Template.Spec
	c := pod.Containers[0]
	if c.Image != "ghcr.io/ripcord/ripcord:"+chart.AppVersion || chart.AppVersion == "" {
		t.Errorf("image %q, want the pinned appVersion %q", c.Image, chart.AppVersion)
	}
	if c.ReadinessProbe.HTTPGet.Path != "/healthz" || c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("probes %+v %+v", c.ReadinessProbe, c.LivenessProbe)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %+v", c.Resources)
	}
	var pvc corev1.PersistentVolumeClaim
	one(t, objs, "PersistentVolumeClaim", &pvc)
	if v := pod.Volumes[2]; v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != pvc.Name {
		t.Errorf("data volume %+v does not use the PVC %s", v, pvc.Name)
	}
	if got := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; got.Cmp(resource.MustParse("1Gi")) != 0 {
		t.Errorf("PVC size %s", got.String())
	}
	// The config is values.config, verbatim.
	var cm corev1.ConfigMap
	one(t, objs, "ConfigMap", &cm)
	var values struct {
		Config map[string]any `yaml:"config"`
	}
	readYAML(t, filepath.Join(chartDir(), "values.yaml"), &values)
	var rendered map[string]any
	if err := yaml.Unmarshal([]byte(cm.Data["ripcord.yaml"]), &rendered); err != nil || !reflect.DeepEqual(rendered, values.Config) {
		t.Errorf("ripcord.yaml %v (%v), want values.config %v", rendered, err, values.Config)
	}
	// The Role grants exactly what deploy/kubernetes/rbac.yaml grants.
	if got, want := rulesOf(t, objs["Role"][0]), rulesOf(t, manifestObject(t, "rbac.yaml", "Role")); !reflect.DeepEqual(got, want) {
		t.Errorf("chart Role rules\n%v\nwant deploy/kubernetes/rbac.yaml's\n%v", got, want)
	}

	_, objs = render(t, "ripcord", "rbac.scope=cluster", "persistence.enabled=false", "rbac.gatewayAPI=false")
	if len(objs["ClusterRole"]) != 1 || len(objs["ClusterRoleBinding"]) != 1 || len(objs["Role"]) != 0 || len(objs["PersistentVolumeClaim"]) != 0 {
		t.Errorf("cluster scope without persistence rendered %d ClusterRole, %d Role, %d PVC",
			len(objs["ClusterRole"]), len(objs["Role"]), len(objs["PersistentVolumeClaim"]))
	}
	if strings.Contains(rulesOf(t, objs["ClusterRole"][0]), "httproutes") {
		t.Error("rbac.gatewayAPI=false still grants httproutes")
	}
	_, objs = render(t, "ripcord", "rbac.namespaces={llm,chat}")
	if len(objs["Role"]) != 2 || objs["Role"][1].GetNamespace() != "chat" {
		t.Errorf("two managed namespaces rendered %d Roles", len(objs["Role"]))
	}
	for set, want := range map[string]string{
		"image.tag=latest":     `image.tag must be a pinned release, not "latest"`,
		"rbac.scope=everyone":  `rbac.scope must be namespace or cluster, not "everyone"`,
		"rbac.namespaces=null": "rbac.namespaces must list the namespaces ripcord manages",
	} {
		if out, err := helm(t, "template", "rc", chartDir(), "--set", set); err == nil || !strings.Contains(out, want) {
			t.Errorf("--set %s: %v, output lacks %q:\n%s", set, err, want, out)
		}
	}
}

func readYAML(t *testing.T, path string, into any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func manifestObject(t *testing.T, file, kind string) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(), "deploy", "kubernetes", file))
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); err != nil {
			t.Fatalf("%s: no %s (%v)", file, kind, err)
		}
		if obj.GetKind() == kind {
			return obj
		}
	}
}

func rulesOf(t *testing.T, obj *unstructured.Unstructured) string {
	t.Helper()
	rules, _, err := unstructured.NestedSlice(obj.Object, "rules")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := yaml.Marshal(rules)
	return string(b)
}

// The rendered chart applies to a real API server, and its Deployment
// rolls out with its PersistentVolumeClaim bound (to a static volume: kwok
// has no provisioner).
func TestHelmChartAppliesToKwok(t *testing.T) {
	needCluster(t)
	ns, managed := testNamespace(t), testNamespace(t)
	out, objs := render(t, ns, "rbac.namespaces={"+managed+"}", "persistence.storageClass=-")
	ctx := context.Background()
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "pv-" + ns},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
			AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			StorageClassName:              "",
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/" + ns}},
			ClaimRef:                      &corev1.ObjectReference{Namespace: ns, Name: "rc-ripcord-data"},
		},
	}
	if _, err := cluster.cs.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cluster.cs.CoreV1().PersistentVolumes().Delete(context.Background(), pv.Name, metav1.DeleteOptions{})
	})

	applied := applyYAML(t, "helm template", out, false)
	if n := len(applied); n != 7 {
		t.Fatalf("applied %d objects, want 7", n)
	}
	dyn := dynamic.NewForConfigOrDie(cluster.cfg)
	for kind, list := range objs {
		for _, o := range list {
			gvr := gvrFor(kind)
			if _, err := dyn.Resource(gvr).Namespace(o.GetNamespace()).Get(ctx, o.GetName(), metav1.GetOptions{}); err != nil {
				t.Errorf("%s %s/%s after apply: %v", kind, o.GetNamespace(), o.GetName(), err)
			}
		}
	}
	if objs["Role"][0].GetNamespace() != managed {
		t.Errorf("Role in %s, want the managed namespace %s", objs["Role"][0].GetNamespace(), managed)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		pvc, err := cluster.cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "rc-ripcord-data", metav1.GetOptions{})
		if err == nil && pvc.Status.Phase == corev1.ClaimBound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("PVC not bound after a minute: %+v %v", pvc.Status, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitComplete(t, ns, "rc-ripcord", time.Minute)
}

func gvrFor(kind string) schema.GroupVersionResource {
	m := map[string]schema.GroupVersionResource{
		"ServiceAccount":        {Version: "v1", Resource: "serviceaccounts"},
		"ConfigMap":             {Version: "v1", Resource: "configmaps"},
		"PersistentVolumeClaim": {Version: "v1", Resource: "persistentvolumeclaims"},
		"Service":               {Version: "v1", Resource: "services"},
		"Deployment":            {Group: "apps", Version: "v1", Resource: "deployments"},
		"Role":                  {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
		"RoleBinding":           {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
	}
	return m[kind]
}
