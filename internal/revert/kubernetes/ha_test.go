package kubernetes

import (
	"context"
	"fmt"
	"path"
	"slices"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/utils/ptr"
)

// The checks every high-availability rendering shares, the chart's
// (helm_ha_test.go) and deploy/kubernetes/ha's (manifests_ha_test.go):
// what makes two replicas on one PostgreSQL safe to run and to roll.

// haConfig is the part of ripcord.yaml the HA mode changes.
type haConfig struct {
	Store map[string]any `yaml:"store"`
	HA    map[string]any `yaml:"ha"`
}

// checkHADeployment checks a Deployment and its ripcord.yaml for HA mode:
// the replica count; RollingUpdate with maxUnavailable 0; store.url_file
// naming the file the Secret secret mounts (never a URL in the config);
// the ha block with lease_ttl and shards, replica and advertise left to
// the environment; the downward-API env; readiness on /healthz; preferred
// anti-affinity across nodes; and no volume claim.
func checkHADeployment(t *testing.T, what string, d *appsv1.Deployment, cfgYAML, secret string, replicas int32) {
	t.Helper()
	if d.Spec.Replicas == nil || *d.Spec.Replicas != replicas {
		t.Errorf("%s: replicas %v, want %d", what, d.Spec.Replicas, replicas)
	}
	st := d.Spec.Strategy
	if st.Type != appsv1.RollingUpdateDeploymentStrategyType || st.RollingUpdate == nil ||
		st.RollingUpdate.MaxUnavailable == nil || st.RollingUpdate.MaxUnavailable.IntValue() != 0 {
		t.Errorf("%s: strategy %+v, want RollingUpdate with maxUnavailable 0", what, st)
	}
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: %d containers", what, len(pod.Containers))
	}
	c := pod.Containers[0]

	var cfg haConfig
	if err := yaml.Unmarshal([]byte(cfgYAML), &cfg); err != nil {
		t.Fatalf("%s: ripcord.yaml: %v\n%s", what, err, cfgYAML)
	}
	urlFile, _ := cfg.Store["url_file"].(string)
	if len(cfg.Store) != 1 || urlFile == "" {
		t.Errorf("%s: store %v, want only url_file", what, cfg.Store)
	}
	var vol *corev1.Volume
	for i, v := range pod.Volumes {
		if v.Secret != nil && v.Secret.SecretName == secret {
			vol = &pod.Volumes[i]
		}
		if v.PersistentVolumeClaim != nil {
			t.Errorf("%s: volume %s uses the claim %s: HA keeps its state in PostgreSQL", what, v.Name, v.PersistentVolumeClaim.ClaimName)
		}
	}
	switch {
	case vol == nil:
		t.Errorf("%s: no volume from the Secret %s: %+v", what, secret, pod.Volumes)
	case ptr.Deref(vol.Secret.Optional, false):
		t.Errorf("%s: the PostgreSQL Secret is optional: without it there is no store", what)
	case len(vol.Secret.Items) != 1:
		t.Errorf("%s: Secret items %+v, want the one key holding the URL", what, vol.Secret.Items)
	default:
		var found bool
		for _, m := range c.VolumeMounts {
			if m.Name == vol.Name {
				found = true
				if got := path.Join(m.MountPath, vol.Secret.Items[0].Path); got != urlFile || !m.ReadOnly {
					t.Errorf("%s: the Secret's URL is the file %s (read-only %v), store.url_file is %s", what, got, m.ReadOnly, urlFile)
				}
			}
		}
		if !found {
			t.Errorf("%s: the Secret volume %s is not mounted", what, vol.Name)
		}
	}
	for _, m := range c.VolumeMounts {
		if m.MountPath == "/var/lib/ripcord" {
			t.Errorf("%s: the SQLite data directory is mounted (%s)", what, m.Name)
		}
	}

	if fmt.Sprint(cfg.HA["lease_ttl"]) != "5s" || fmt.Sprint(cfg.HA["shards"]) != "1" || cfg.HA["lease"] != "kubernetes" {
		t.Errorf("%s: ha %v, want lease kubernetes, lease_ttl 5s and shards 1", what, cfg.HA)
	}
	for _, k := range []string{"replica", "advertise"} {
		if v, ok := cfg.HA[k]; ok && v != "" {
			t.Errorf("%s: ha.%s is %v: it must come from the pod's environment, one value per replica", what, k, v)
		}
	}

	var port int32
	for _, p := range c.Ports {
		if p.Name == "api" {
			port = p.ContainerPort
		}
	}
	at := func(name string) int {
		return slices.IndexFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name })
	}
	field := func(name string) string {
		if i := at(name); i >= 0 && c.Env[i].ValueFrom != nil && c.Env[i].ValueFrom.FieldRef != nil {
			return c.Env[i].ValueFrom.FieldRef.FieldPath
		}
		return ""
	}
	if field("POD_IP") != "status.podIP" || field("RIPCORD_REPLICA") != "metadata.name" {
		t.Errorf("%s: env %+v: want POD_IP from status.podIP and RIPCORD_REPLICA from metadata.name", what, c.Env)
	}
	// $(POD_IP) expands only when POD_IP is defined before it.
	adv := at("RIPCORD_ADVERTISE")
	if want := fmt.Sprintf("http://$(POD_IP):%d", port); adv < 0 || c.Env[adv].Value != want || adv < at("POD_IP") {
		t.Errorf("%s: RIPCORD_ADVERTISE (at %d, POD_IP at %d) %+v, want %q after POD_IP", what, adv, at("POD_IP"), c.Env, want)
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/healthz" || p.HTTPGet.Port.String() != "api" {
		t.Errorf("%s: readiness %+v, want GET /healthz on the api port", what, p)
	}

	var spread bool
	if pod.Affinity != nil && pod.Affinity.PodAntiAffinity != nil {
		for _, w := range pod.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution {
			sel, err := metav1.LabelSelectorAsSelector(w.PodAffinityTerm.LabelSelector)
			if err == nil && w.PodAffinityTerm.TopologyKey == "kubernetes.io/hostname" && sel.Matches(labels.Set(d.Spec.Template.Labels)) && !sel.Empty() {
				spread = true
			}
		}
		if len(pod.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution) > 0 {
			t.Errorf("%s: required anti-affinity: a one-node cluster could not run both replicas", what)
		}
	}
	if !spread {
		t.Errorf("%s: affinity %+v, want preferred pod anti-affinity on kubernetes.io/hostname over ripcord's pods", what, pod.Affinity)
	}
}

// checkPDB checks the PodDisruptionBudget keeps one of d's pods.
func checkPDB(t *testing.T, what string, pdb *policyv1.PodDisruptionBudget, d *appsv1.Deployment) {
	t.Helper()
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.String() != "1" || pdb.Spec.MaxUnavailable != nil {
		t.Errorf("%s: PDB minAvailable %v maxUnavailable %v, want minAvailable 1", what, pdb.Spec.MinAvailable, pdb.Spec.MaxUnavailable)
	}
	sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
	if err != nil || sel.Empty() || !sel.Matches(labels.Set(d.Spec.Template.Labels)) || pdb.Namespace != d.Namespace {
		t.Errorf("%s: PDB %s/%s selector %v does not select the Deployment's pods %v", what, pdb.Namespace, pdb.Spec.Selector, pdb.Spec.Selector, d.Spec.Template.Labels)
	}
}

// checkLeaseRules checks a Role grants exactly what client-go's leader
// election needs on Leases.
func checkLeaseRules(t *testing.T, what string, rules []rbacv1.PolicyRule) {
	t.Helper()
	want := []string{"create", "get", "list", "update", "watch"}
	if len(rules) != 1 || !slices.Equal(rules[0].APIGroups, []string{"coordination.k8s.io"}) ||
		!slices.Equal(rules[0].Resources, []string{"leases"}) || !slices.Equal(slices.Sorted(slices.Values(rules[0].Verbs)), want) {
		t.Errorf("%s: lease rules %+v, want coordination.k8s.io leases %v only", what, rules, want)
	}
}

// checkLeaseAccess runs, as ServiceAccount ns/sa, what leader election
// does with a Lease in ns (create, get, list, watch, update), and checks
// that deleting it, a Lease in other, and reading the PostgreSQL Secret
// through the API are refused.
func checkLeaseAccess(t *testing.T, ns, sa, other, secret string) {
	t.Helper()
	ctx := context.Background()
	cs, _ := serviceAccountClientFor(t, ns, sa)
	leases := cs.CoordinationV1().Leases(ns)
	name := "ripcord-shard-" + time.Now().Format("150405.000000")[7:]
	l := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To("replica-a"), LeaseDurationSeconds: ptr.To[int32](5)},
	}
	created, err := leases.Create(ctx, l, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create a Lease as %s/%s: %v", ns, sa, err)
	}
	t.Cleanup(func() {
		_ = cluster.cs.CoordinationV1().Leases(ns).Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	got, err := leases.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get the Lease: %v", err)
	}
	got.Spec.HolderIdentity = ptr.To("replica-b")
	if _, err := leases.Update(ctx, got, metav1.UpdateOptions{}); err != nil {
		t.Errorf("take over the Lease (update): %v", err)
	}
	if _, err := leases.List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list Leases: %v", err)
	}
	if w, err := leases.Watch(ctx, metav1.ListOptions{ResourceVersion: created.ResourceVersion}); err != nil {
		t.Errorf("watch Leases: %v", err)
	} else {
		w.Stop()
	}
	l.Name = name + "-x"
	forbidden := map[string]error{
		"delete the Lease":           leases.Delete(ctx, name, metav1.DeleteOptions{}),
		"create a Lease in " + other: listErr(cs.CoordinationV1().Leases(other).Create(ctx, l, metav1.CreateOptions{})),
		"read the Secret " + secret:  listErr(cs.CoreV1().Secrets(ns).Get(ctx, secret, metav1.GetOptions{})),
	}
	for what, err := range forbidden {
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s as %s/%s: err = %v, want 403 Forbidden", what, ns, sa, err)
		}
	}
}

// createURLSecret creates the Secret the HA pods mount; the URL is a
// placeholder (kwok runs no containers, so nothing connects to it).
func createURLSecret(t *testing.T, ns, name string) {
	t.Helper()
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		StringData: map[string]string{"url": "postgres://ripcord:placeholder@postgres." + ns + ":5432/ripcord"},
	}
	if _, err := cluster.cs.CoreV1().Secrets(ns).Create(context.Background(), s, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cluster.cs.CoreV1().Secrets(ns).Delete(context.Background(), name, metav1.DeleteOptions{}) })
}

// waitPDBAllows waits until the disruption controller counts replicas
// healthy pods under the budget and allows replicas-1 evictions.
func waitPDBAllows(t *testing.T, ns, name string, replicas int32) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		pdb, err := cluster.cs.PolicyV1().PodDisruptionBudgets(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil && pdb.Status.ObservedGeneration >= pdb.Generation &&
			pdb.Status.CurrentHealthy == replicas && pdb.Status.DisruptionsAllowed == replicas-1 {
			return
		}
		if time.Now().After(deadline) {
			if pdb == nil {
				pdb = &policyv1.PodDisruptionBudget{}
			}
			t.Fatalf("PDB %s/%s after a minute: %+v, %v; want %d healthy, %d disruptions allowed", ns, name, pdb.Status, err, replicas, replicas-1)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
