package kubernetes

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// manifestAs decodes the kind object of a file in deploy/kubernetes.
func manifestAs(t *testing.T, file, kind string, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(manifestObject(t, file, kind).Object, into); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// deploy/kubernetes/ha has every HA feature, and is the single-replica
// manifests plus exactly those: the same services in the config, the same
// container, probes, resources and security, the same Service.
func TestK8sHAManifests(t *testing.T) {
	var ha, single appsv1.Deployment
	manifestAs(t, "ha/deployment.yaml", "Deployment", &ha)
	manifestAs(t, "deployment.yaml", "Deployment", &single)
	var haCM, singleCM corev1.ConfigMap
	manifestAs(t, "ha/configmap.yaml", "ConfigMap", &haCM)
	manifestAs(t, "configmap.yaml", "ConfigMap", &singleCM)
	checkHADeployment(t, "deploy/kubernetes/ha", &ha, haCM.Data["ripcord.yaml"], "ripcord-postgres", 2)

	var haCfg, singleCfg map[string]any
	if err := yaml.Unmarshal([]byte(haCM.Data["ripcord.yaml"]), &haCfg); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(singleCM.Data["ripcord.yaml"]), &singleCfg); err != nil {
		t.Fatal(err)
	}
	delete(haCfg, "ha")
	delete(haCfg, "store")
	delete(singleCfg, "store")
	if !reflect.DeepEqual(haCfg, singleCfg) || haCM.Name != singleCM.Name {
		t.Errorf("ha/configmap.yaml %s without store and ha\n%v\nwant configmap.yaml's %s\n%v", haCM.Name, haCfg, singleCM.Name, singleCfg)
	}

	// The pod specs differ only where HA needs it.
	strip := func(d *appsv1.Deployment) corev1.PodSpec {
		p := *d.Spec.Template.Spec.DeepCopy()
		p.Affinity = nil
		p.Containers[0].Env = nil
		p.Volumes = slices.DeleteFunc(p.Volumes, func(v corev1.Volume) bool { return v.Name == "data" || v.Name == "postgres" })
		p.Containers[0].VolumeMounts = slices.DeleteFunc(p.Containers[0].VolumeMounts, func(m corev1.VolumeMount) bool { return m.Name == "data" || m.Name == "postgres" })
		return p
	}
	if got, want := strip(&ha), strip(&single); !reflect.DeepEqual(got, want) {
		t.Errorf("ha/deployment.yaml's pod, HA parts removed:\n%+v\nwant deployment.yaml's:\n%+v", got, want)
	}
	if ha.Name != single.Name || ha.Namespace != single.Namespace || !reflect.DeepEqual(ha.Spec.Selector, single.Spec.Selector) {
		t.Errorf("ha Deployment %s/%s selector %v, want %s/%s's %v (the variant replaces it)", ha.Namespace, ha.Name, ha.Spec.Selector, single.Namespace, single.Name, single.Spec.Selector)
	}
	if got, want := manifestObject(t, "ha/deployment.yaml", "Service").Object, manifestObject(t, "deployment.yaml", "Service").Object; !reflect.DeepEqual(got, want) {
		t.Errorf("ha Service %v, want deployment.yaml's %v", got, want)
	}

	var pdb policyv1.PodDisruptionBudget
	manifestAs(t, "ha/pdb.yaml", "PodDisruptionBudget", &pdb)
	checkPDB(t, "ha/pdb.yaml", &pdb, &ha)
	var role rbacv1.Role
	var rb rbacv1.RoleBinding
	manifestAs(t, "ha/rbac-leases.yaml", "Role", &role)
	manifestAs(t, "ha/rbac-leases.yaml", "RoleBinding", &rb)
	checkLeaseRules(t, "ha/rbac-leases.yaml", role.Rules)
	if role.Namespace != ha.Namespace || rb.Namespace != ha.Namespace || rb.RoleRef.Name != role.Name || len(rb.Subjects) != 1 ||
		rb.Subjects[0] != (rbacv1.Subject{Kind: "ServiceAccount", Name: ha.Spec.Template.Spec.ServiceAccountName, Namespace: ha.Namespace}) {
		t.Errorf("lease Role %s/%s bound by %+v; want both in %s, bound to the ServiceAccount %s", role.Namespace, role.Name, rb, ha.Namespace, ha.Spec.Template.Spec.ServiceAccountName)
	}
}

// deploy/kubernetes/ha applies to a real API server on top of the shared
// namespace, ServiceAccount and Role: both replicas become Ready, the PDB
// allows one eviction of the two, and the ServiceAccount can run leader
// election on Leases in its own namespace and nothing more.
func TestK8sHAManifestsApply(t *testing.T) {
	needCluster(t)
	ctx := context.Background()
	ensureNamespace(t, "llm")
	for _, f := range []string{"namespace.yaml", "serviceaccount.yaml", "rbac.yaml"} {
		applyManifest(t, f, false)
	}
	createURLSecret(t, "ripcord", "ripcord-postgres")
	// Cleanup leaves the namespace as the single-replica test expects it:
	// without the HA Deployment and its extras.
	t.Cleanup(func() {
		ctx, del := context.Background(), metav1.DeleteOptions{}
		_ = cluster.cs.AppsV1().Deployments("ripcord").Delete(ctx, "ripcord", del)
		_ = cluster.cs.CoreV1().ConfigMaps("ripcord").Delete(ctx, "ripcord-config", del)
		_ = cluster.cs.PolicyV1().PodDisruptionBudgets("ripcord").Delete(ctx, "ripcord", del)
		_ = cluster.cs.RbacV1().Roles("ripcord").Delete(ctx, "ripcord-leases", del)
		_ = cluster.cs.RbacV1().RoleBindings("ripcord").Delete(ctx, "ripcord-leases", del)
	})
	for _, f := range []string{"ha/configmap.yaml", "ha/rbac-leases.yaml", "ha/pdb.yaml", "ha/deployment.yaml"} {
		applyManifest(t, f, false)
	}
	waitComplete(t, "ripcord", "ripcord", time.Minute)
	d, err := cluster.cs.AppsV1().Deployments("ripcord").Get(ctx, "ripcord", metav1.GetOptions{})
	if err != nil || d.Status.ReadyReplicas != 2 || d.Spec.Strategy.Type != appsv1.RollingUpdateDeploymentStrategyType {
		t.Fatalf("Deployment: %d ready, strategy %s, %v; want 2, RollingUpdate", d.Status.ReadyReplicas, d.Spec.Strategy.Type, err)
	}
	waitPDBAllows(t, "ripcord", "ripcord", 2)
	checkLeaseAccess(t, "ripcord", "ripcord", "llm", "ripcord-postgres")
}
