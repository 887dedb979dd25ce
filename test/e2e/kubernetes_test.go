package e2e

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"

	"github.com/ripcord/ripcord/internal/api"
	"github.com/ripcord/ripcord/internal/apiclient"
	"github.com/ripcord/ripcord/internal/config"
	"github.com/ripcord/ripcord/internal/config/field"
	"github.com/ripcord/ripcord/internal/revert/kubernetes"
	"github.com/ripcord/ripcord/internal/testenv"
)

// kwok is the package's one kwok cluster, started by the first test that
// needs it and stopped by TestMain after the last: tearing a cluster down
// and bringing one up again under the same name between two tests let the
// second test's client meet the first cluster's still-listening API
// server (a certificate from another CA).
var kwok struct {
	once    sync.Once
	kc      string
	err     error
	started bool
}

var kwokScript = filepath.Join("..", "..", "scripts", "k8s", "cluster.sh")

// kwokCluster starts (or reuses) the kwok cluster through
// scripts/k8s/cluster.sh (or uses RIPCORD_K8S_KUBECONFIG); it fails when it
// cannot, unless RIPCORD_SKIP=kubernetes opts out.
func kwokCluster(t *testing.T) (string, k8s.Interface) {
	t.Helper()
	kc := os.Getenv("RIPCORD_K8S_KUBECONFIG")
	if kc == "" {
		testenv.SkipIfOptedOut(t, testenv.Kubernetes)
		kwok.once.Do(func() {
			out, err := exec.Command("bash", kwokScript, "up", "ripcord-e2e").Output()
			kwok.kc, kwok.err, kwok.started = strings.TrimSpace(string(out)), err, err == nil
		})
		if kwok.err != nil {
			testenv.Missing(t, testenv.Kubernetes, "scripts/k8s/cluster.sh up: "+kwok.err.Error())
		}
		kc = kwok.kc
	}
	cs, err := kubernetes.NewClientset(kubernetes.Config{Kubeconfig: field.File(kc)})
	if err != nil {
		t.Fatal(err)
	}
	return kc, cs
}

// TestKubernetesLoop: a rollout seen by the watcher is judged on pushed
// signals and reverted in the cluster, with the change-cause saying why.
func TestKubernetesLoop(t *testing.T) {
	kc, cs := kwokCluster(t)
	ctx := t.Context()
	ns := fmt.Sprintf("e2e-%d", time.Now().UnixNano()%1_000_000)
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}) })
	deps := cs.AppsV1().Deployments(ns)
	if _, err := deps.Create(ctx, deployment("llm-api", "registry.local/llm-api:v1"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitAvailable(t, cs, ns, "llm-api")

	pol := fastPolicy()
	pol.Require, pol.Consecutive, pol.MinSamples = 1, 1, 10
	pol.Thresholds = map[string]config.Threshold{"quality_score": {Min: ptr(0.75), Critical: ptr(0.5)}}
	logs := &syncBuffer{}
	e := &env{t: t, dbPath: t.TempDir() + "/r.db", logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	e.cfg = &config.Config{API: config.API{Listen: "127.0.0.1:0"}, Store: config.Store{URL: "sqlite://" + e.dbPath},
		Reports: config.Reports{Dir: t.TempDir()},
		Services: []config.Service{{Name: "llm-api", Policy: pol, Target: config.Target{Providers: []config.Block{
			config.BlockOf("kubernetes", kubernetes.Config{Kubeconfig: field.File(kc), Namespace: ns, Deployment: "llm-api", RolloutTimeout: time.Minute})}}}}}
	e.boot()
	c := e.client
	st, err := c.Service(ctx, "llm-api")
	if err != nil || st.Active != "v1" {
		t.Fatalf("discovered %+v %v", st, err)
	}
	if _, err := c.Deploy(ctx, "llm-api", "v9", "http://127.0.0.1:9"); !isStatus(err, http.StatusConflict) {
		t.Fatalf("API deploy of a Kubernetes service: %v, want 409", err)
	}

	setImage(t, cs, ns, "llm-api", "registry.local/llm-api:v2") // someone runs kubectl set image
	waitSvc(t, c, "the watcher to see v2", func(s statusT) bool { return s.Active == "v2" && s.State == "watching" })
	if err := c.PushSignals(ctx, "llm-api", api.SignalsRequest{Version: "v2", Samples: 100, Values: map[string]float64{"quality_score": 0.3}}); err != nil {
		t.Fatal(err)
	}
	s := waitSvc(t, c, "revert to v1", func(s statusT) bool { return s.Active == "v1" && s.State != "reverting" })
	d, err := deps.Get(ctx, "llm-api", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; img != "registry.local/llm-api:v1" {
		t.Fatalf("deployment runs %s after the revert", img)
	}
	if cause := d.Annotations["kubernetes.io/change-cause"]; !strings.HasPrefix(cause, "ripcord: automatic rollback of v2 → v1") {
		t.Fatalf("change-cause %q", cause)
	}
	if s.IncidentID == "" {
		t.Fatal("no incident")
	}
	// The revert is itself a rollout: wait for the watcher to hand it to the
	// controller, which must not take it for a new deploy.
	deadline := time.Now().Add(30 * time.Second)
	ignored := func() bool {
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, `msg="rollout ignored"`) && strings.Contains(line, "version=v1 ") {
				return true
			}
		}
		return false
	}
	for !ignored() {
		if time.Now().After(deadline) {
			t.Fatalf("the revert's rollout never reached the controller:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s, _ := c.Service(ctx, "llm-api"); s.Active != "v1" || s.State == "watching" {
		t.Fatalf("ripcord's own revert was taken for a new deploy: %+v", s)
	}
}

// stopKwok stops the cluster kwokCluster started, if it did.
func stopKwok() {
	if kwok.started {
		_ = exec.Command("bash", kwokScript, "down", "ripcord-e2e").Run()
	}
}

func deployment(name, image string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	one := int32(2)
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: name, Image: image}},
					Tolerations: []corev1.Toleration{{Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}}}}}
}

func setImage(t *testing.T, cs k8s.Interface, ns, name, image string) {
	d, err := cs.AppsV1().Deployments(ns).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Spec.Template.Spec.Containers[0].Image = image
	if _, err := cs.AppsV1().Deployments(ns).Update(t.Context(), d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func waitAvailable(t *testing.T, cs k8s.Interface, ns, name string) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		d, err := cs.AppsV1().Deployments(ns).Get(t.Context(), name, metav1.GetOptions{})
		if err == nil && d.Status.AvailableReplicas == *d.Spec.Replicas && d.Status.UpdatedReplicas == *d.Spec.Replicas {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("deployment %s/%s never became available: %+v", ns, name, d.Status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitSvc(t *testing.T, c *apiclient.Client, what string, cond func(statusT) bool) statusT {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		s, err := c.Service(t.Context(), "llm-api")
		if err == nil && cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %+v %v", what, s, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func isStatus(err error, code int) bool {
	var e *apiclient.Error
	return errors.As(err, &e) && e.Status == code
}
