package kubernetes

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// haValues is the chart's two-replica mode with the PostgreSQL URL from a
// Secret.
var haValues = []string{"replicas=2", "postgres.existingSecret=ripcord-postgres"}

// byName returns the object called name among objs, or nil.
func byName(objs []*unstructured.Unstructured, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetName() == name {
			return o
		}
	}
	return nil
}

// named converts the object called name among objs into into; false when
// there is none.
func named(t *testing.T, objs []*unstructured.Unstructured, name string, into any) bool {
	t.Helper()
	o := byName(objs, name)
	if o == nil {
		return false
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, into); err != nil {
		t.Fatal(err)
	}
	return true
}

func renderedDeployment(t *testing.T, objs map[string][]*unstructured.Unstructured) (*appsv1.Deployment, string) {
	t.Helper()
	var d appsv1.Deployment
	one(t, objs, "Deployment", &d)
	var cm corev1.ConfigMap
	one(t, objs, "ConfigMap", &cm)
	return &d, cm.Data["ripcord.yaml"]
}

func TestHelmChartHA(t *testing.T) {
	for _, set := range [][]string{haValues, {"ha.enabled=true", "postgres.existingSecret=pg"}, {"postgres.existingSecret=pg"}} {
		args := []string{"lint", "--strict", chartDir()}
		for _, s := range set {
			args = append(args, "--set", s)
		}
		if out, err := helm(t, args...); err != nil {
			t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	_, objs := render(t, "ripcord", haValues...)
	d, cfg := renderedDeployment(t, objs)
	checkHADeployment(t, "chart replicas=2", d, cfg, "ripcord-postgres", 2)
	var lease haConfig
	if err := yaml.Unmarshal([]byte(cfg), &lease); err != nil {
		t.Fatal(err)
	}
	// Two releases in one namespace elect on different Leases.
	if k, _ := lease.HA["kubernetes"].(map[string]any); k["name"] != "rc-ripcord" {
		t.Errorf("ha.kubernetes %v, want name rc-ripcord (the release's fullname)", lease.HA["kubernetes"])
	}
	if n := len(objs["PersistentVolumeClaim"]); n != 0 {
		t.Errorf("%d PersistentVolumeClaims rendered in HA mode, want none", n)
	}
	// Apart from store and ha, the config is values.config.
	var values struct {
		Config map[string]any `yaml:"config"`
	}
	readYAML(t, filepath.Join(chartDir(), "values.yaml"), &values)
	var rendered map[string]any
	if err := yaml.Unmarshal([]byte(cfg), &rendered); err != nil {
		t.Fatal(err)
	}
	delete(rendered, "store")
	delete(rendered, "ha")
	delete(values.Config, "store")
	if !reflect.DeepEqual(rendered, values.Config) {
		t.Errorf("HA ripcord.yaml without store and ha\n%v\nwant values.config's\n%v", rendered, values.Config)
	}
	var pdb policyv1.PodDisruptionBudget
	one(t, objs, "PodDisruptionBudget", &pdb)
	checkPDB(t, "chart", &pdb, d)

	// The Lease Role: in the release namespace, bound to the chart's
	// ServiceAccount, the same rules as deploy/kubernetes/ha.
	var role rbacv1.Role
	var rb rbacv1.RoleBinding
	if !named(t, objs["Role"], "rc-ripcord-leases", &role) || !named(t, objs["RoleBinding"], "rc-ripcord-leases", &rb) {
		t.Fatalf("no rc-ripcord-leases Role and RoleBinding among %d Roles, %d RoleBindings", len(objs["Role"]), len(objs["RoleBinding"]))
	}
	checkLeaseRules(t, "chart", role.Rules)
	if got, want := rulesOf(t, byName(objs["Role"], role.Name)), rulesOf(t, manifestObject(t, "ha/rbac-leases.yaml", "Role")); got != want {
		t.Errorf("chart lease rules\n%s\nwant deploy/kubernetes/ha/rbac-leases.yaml's\n%s", got, want)
	}
	if role.Namespace != "ripcord" || rb.Namespace != "ripcord" || rb.RoleRef.Name != role.Name || len(rb.Subjects) != 1 ||
		rb.Subjects[0].Name != d.Spec.Template.Spec.ServiceAccountName || rb.Subjects[0].Namespace != "ripcord" {
		t.Errorf("lease Role %s/%s bound by %+v; want both in the release namespace, bound to %s", role.Namespace, role.Name, rb, d.Spec.Template.Spec.ServiceAccountName)
	}

	// ha.enabled with one replica: HA config and rollout, but no PDB (with
	// one pod, minAvailable 1 would block every node drain).
	_, objs = render(t, "ripcord", "ha.enabled=true", "postgres.existingSecret=pg")
	d, cfg = renderedDeployment(t, objs)
	checkHADeployment(t, "chart ha.enabled=true", d, cfg, "pg", 1)
	if len(objs["PodDisruptionBudget"]) != 0 || !named(t, objs["Role"], "rc-ripcord-leases", &role) {
		t.Errorf("ha.enabled with one replica: %d PDBs (want 0), lease Role %v", len(objs["PodDisruptionBudget"]), role.Name)
	}

	// ha.lease postgres: the lease rows need no Role.
	_, objs = render(t, "ripcord", append(haValues, "ha.lease=postgres")...)
	_, cfg = renderedDeployment(t, objs)
	var rows haConfig
	if err := yaml.Unmarshal([]byte(cfg), &rows); err != nil {
		t.Fatal(err)
	}
	if rows.HA["lease"] != "postgres" || rows.HA["kubernetes"] != nil || byName(objs["Role"], "rc-ripcord-leases") != nil {
		t.Errorf("ha.lease=postgres: ha %v, lease Role rendered: %v", rows.HA, byName(objs["Role"], "rc-ripcord-leases") != nil)
	}

	// PostgreSQL with one replica: not HA (Recreate, no ha block, no lease
	// Role), and no claim.
	_, objs = render(t, "ripcord", "postgres.existingSecret=pg")
	d, cfg = renderedDeployment(t, objs)
	var c haConfig
	if err := yaml.Unmarshal([]byte(cfg), &c); err != nil {
		t.Fatal(err)
	}
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType || c.HA != nil || c.Store["url_file"] != "/var/run/ripcord/db/url" ||
		len(objs["PersistentVolumeClaim"]) != 0 || len(objs["Role"]) != 1 || len(objs["PodDisruptionBudget"]) != 0 || len(d.Spec.Template.Spec.Containers[0].Env) != 0 {
		t.Errorf("postgres, one replica: strategy %s, ha %v, store %v, %d PVCs, %d Roles, %d PDBs, env %v",
			d.Spec.Strategy.Type, c.HA, c.Store, len(objs["PersistentVolumeClaim"]), len(objs["Role"]), len(objs["PodDisruptionBudget"]), d.Spec.Template.Spec.Containers[0].Env)
	}

	// The API port follows config.api.listen (container port, advertised
	// URL); ha.advertise replaces the URL (IPv6 pods).
	_, objs = render(t, "ripcord", append(haValues, "config.api.listen=0.0.0.0:9090")...)
	d, cfg = renderedDeployment(t, objs)
	checkHADeployment(t, "chart on :9090", d, cfg, "ripcord-postgres", 2)
	if p := d.Spec.Template.Spec.Containers[0].Ports[0].ContainerPort; p != 9090 {
		t.Errorf("api.listen 0.0.0.0:9090: container port %d", p)
	}
	_, objs = render(t, "ripcord", append(haValues, "ha.advertise=http://[$(POD_IP)]:7070")...)
	d, _ = renderedDeployment(t, objs)
	if env := d.Spec.Template.Spec.Containers[0].Env; env[len(env)-1] != (corev1.EnvVar{Name: "RIPCORD_ADVERTISE", Value: "http://[$(POD_IP)]:7070"}) {
		t.Errorf("ha.advertise: env %+v", env)
	}

	for _, tc := range []struct {
		set  []string
		want string
	}{
		{[]string{"replicas=2"}, "replicas=2 runs ripcord in high-availability mode, which needs a PostgreSQL store shared by every replica (SQLite cannot be shared): set postgres.existingSecret"},
		{[]string{"ha.enabled=true"}, "ha.enabled=true runs ripcord in high-availability mode, which needs a PostgreSQL store"},
		{append(haValues, "config.api.listen=127.0.0.1:7070"), `config.api.listen is "127.0.0.1:7070" (loopback`},
		{append(haValues, "config.ha.lease_ttl=1s"), "config.ha is written by the chart: set ha.enabled (or replicas >= 2), ha.lease, ha.leaseTTL and ha.shards instead"},
		{append(haValues, "ha.lease=etcd"), `ha.lease is "etcd": set kubernetes (a coordination.k8s.io Lease per shard) or postgres`},
		{[]string{"replicaCount=2"}, "replicaCount was renamed: set replicas instead"},
		{[]string{"postgres.existingSecret=pg", "postgres.secretKey="}, "postgres.secretKey must name the key of postgres.existingSecret"},
	} {
		args := []string{"template", "rc", chartDir()}
		for _, s := range tc.set {
			args = append(args, "--set", s)
		}
		if out, err := helm(t, args...); err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("--set %s: %v, output lacks %q:\n%s", strings.Join(tc.set, " --set "), err, tc.want, out)
		}
	}
}

// The chart's two-replica mode applies to a real API server: both pods
// become Ready with the Secret mounted and no claim, the disruption
// controller allows one eviction of the two, and the ServiceAccount can
// run leader election on Leases in its namespace and nothing more.
func TestHelmChartHAAppliesToKwok(t *testing.T) {
	needCluster(t)
	ns, managed := testNamespace(t), testNamespace(t)
	createURLSecret(t, ns, "ripcord-postgres")
	out, _ := render(t, ns, append(haValues, "rbac.namespaces={"+managed+"}")...)
	applied := applyYAML(t, "helm template (HA)", out, false)
	// ServiceAccount, ConfigMap, 2 Roles, 2 RoleBindings, Deployment, Service, PDB.
	if n := len(applied); n != 9 {
		t.Fatalf("applied %d objects, want 9", n)
	}
	waitComplete(t, ns, "rc-ripcord", time.Minute)
	ctx := context.Background()
	d, err := cluster.cs.AppsV1().Deployments(ns).Get(ctx, "rc-ripcord", metav1.GetOptions{})
	if err != nil || d.Status.ReadyReplicas != 2 {
		t.Fatalf("Deployment: %d ready, %v; want 2", d.Status.ReadyReplicas, err)
	}
	pods, err := cluster.cs.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/instance=rc"})
	if err != nil {
		t.Fatal(err)
	}
	ips := map[string]bool{}
	for _, p := range pods.Items {
		if p.Status.PodIP != "" && p.DeletionTimestamp == nil {
			ips[p.Status.PodIP] = true
		}
	}
	if len(ips) != 2 {
		t.Errorf("pods' IPs %v, want 2 distinct (each replica advertises its own)", ips)
	}
	pvcs, err := cluster.cs.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(pvcs.Items) != 0 {
		t.Errorf("%d PersistentVolumeClaims in HA mode (%v), want none", len(pvcs.Items), err)
	}
	waitPDBAllows(t, ns, "rc-ripcord", 2)
	checkLeaseAccess(t, ns, "rc-ripcord", managed, "ripcord-postgres")
}
