package kubernetes

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/ripcord/ripcord/internal/testenv"
)

// The integration tests run against a real API server, controller-manager
// and scheduler with kwok's fake nodes:
//
//   - RIPCORD_K8S_KUBECONFIG=PATH uses a running cluster;
//   - otherwise they start one with scripts/k8s/cluster.sh (built once and
//     cached) and delete it afterwards (RIPCORD_K8S_KEEP=1 keeps it);
//   - a cluster that cannot be started fails them; RIPCORD_SKIP=kubernetes
//     skips them instead (testenv).
const testClusterName = "ripcord-test"

var cluster struct {
	kubeconfig string
	binDir     string
	cfg        *rest.Config
	cs         kubernetes.Interface
	started    bool
	err        error
	wanted     bool
}

func TestMain(m *testing.M) {
	setUpCluster()
	code := m.Run()
	tearDownCluster()
	os.Exit(code)
}

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

func clusterScript(args ...string) (string, error) {
	cmd := exec.Command("bash", append([]string{filepath.Join(repoRoot(), "scripts", "k8s", "cluster.sh")}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

func setUpCluster() {
	kc := os.Getenv("RIPCORD_K8S_KUBECONFIG")
	cluster.wanted = kc != "" || !testenv.Skipped(testenv.Kubernetes)
	if !cluster.wanted {
		return
	}
	if kc == "" {
		fmt.Fprintln(os.Stderr, "starting the kwok cluster with scripts/k8s/cluster.sh (the first build takes minutes)")
		kc, cluster.err = clusterScript("up", testClusterName)
		if cluster.err != nil {
			cluster.err = fmt.Errorf("scripts/k8s/cluster.sh up: %w", cluster.err)
			return
		}
		cluster.started = true
	}
	cluster.kubeconfig = kc
	if cluster.binDir, cluster.err = clusterScript("bin"); cluster.err != nil {
		return
	}
	if cluster.cfg, cluster.err = RESTConfig(kc); cluster.err != nil {
		return
	}
	cluster.cfg.QPS, cluster.cfg.Burst = 200, 400
	cluster.cs, cluster.err = kubernetes.NewForConfig(cluster.cfg)
}

func tearDownCluster() {
	if cluster.started && os.Getenv("RIPCORD_K8S_KEEP") != "1" {
		if _, err := clusterScript("down", testClusterName); err != nil {
			fmt.Fprintln(os.Stderr, "cluster.sh down:", err)
		}
	}
}

// needCluster fails a test that needs the cluster when there is none,
// unless RIPCORD_SKIP=kubernetes opts out (testenv).
func needCluster(t testing.TB) {
	t.Helper()
	switch {
	case !cluster.wanted:
		testenv.SkipIfOptedOut(t, testenv.Kubernetes)
	case cluster.err != nil:
		testenv.Missing(t, testenv.Kubernetes, "the kwok test cluster is unavailable: "+cluster.err.Error())
	}
}

// testNamespace creates a namespace for one test and deletes it after.
func testNamespace(t testing.TB) string {
	t.Helper()
	name := "rt-" + strings.ToLower(rand.String(6))
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := cluster.cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cluster.cs.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	return name
}

func liveDeployment(ns, name, app, image string, replicas int32, tplLabels map[string]string) *appsv1.Deployment {
	tpl := podTemplate(app, image, tplLabels)
	tpl.Spec.TerminationGracePeriodSeconds = ptr.To[int64](0)
	sel := map[string]string{}
	for k, v := range tpl.Labels {
		sel[k] = v
	}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": app}},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: tpl,
		},
	}
}

// createAndWait creates d and waits for its rollout.
func createAndWait(t testing.TB, d *appsv1.Deployment) {
	t.Helper()
	if _, err := cluster.cs.AppsV1().Deployments(d.Namespace).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitComplete(t, d.Namespace, d.Name, time.Minute)
}

// setImage rolls d out to image (and optional pod spec edit) and waits.
func setImage(t testing.TB, ns, name, image string, edit func(*corev1.PodSpec), wait bool) {
	t.Helper()
	ctx := context.Background()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		d, err := cluster.cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		d.Spec.Template.Spec.Containers[0].Image = image
		if edit != nil {
			edit(&d.Spec.Template.Spec)
		}
		_, err = cluster.cs.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if wait {
		waitComplete(t, ns, name, time.Minute)
	}
}

func waitComplete(t testing.TB, ns, name string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		d, err := cluster.cs.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if ok, _ := rolloutComplete(d, time.Now()); ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/%s not rolled out after %s: %s", ns, name, timeout, describeRollout(d))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// requestLog records every API request a client makes.
type requestLog struct {
	mu   sync.Mutex
	reqs []string
	durs []time.Duration // how long each request's round trip took
	ends []time.Time     // when each answer arrived
	rt   http.RoundTripper
}

func (l *requestLog) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := l.rt.RoundTrip(r)
	l.mu.Lock()
	l.reqs = append(l.reqs, r.Method+" "+r.URL.Path)
	l.durs = append(l.durs, time.Since(start))
	l.ends = append(l.ends, time.Now())
	l.mu.Unlock()
	return resp, err
}

// last returns the duration of the last request matching method and path.
func (l *requestLog) last(method, pathPart string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.reqs) - 1; i >= 0; i-- {
		if strings.HasPrefix(l.reqs[i], method+" ") && strings.Contains(l.reqs[i], pathPart) {
			return l.durs[i]
		}
	}
	return 0
}

// lastEnd is when the answer to the last request matching method and path
// arrived.
func (l *requestLog) lastEnd(method, pathPart string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.reqs) - 1; i >= 0; i-- {
		if strings.HasPrefix(l.reqs[i], method+" ") && strings.Contains(l.reqs[i], pathPart) {
			return l.ends[i]
		}
	}
	return time.Time{}
}

func (l *requestLog) count(method, pathPart string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.reqs {
		if strings.HasPrefix(r, method+" ") && strings.Contains(r, pathPart) {
			n++
		}
	}
	return n
}

func (l *requestLog) reset() {
	l.mu.Lock()
	l.reqs, l.durs, l.ends = nil, nil, nil
	l.mu.Unlock()
}

// countingClient is a clientset whose requests are logged.
func countingClient(t testing.TB, cfg *rest.Config) (kubernetes.Interface, *requestLog) {
	t.Helper()
	cfg = rest.CopyConfig(cfg)
	log := &requestLog{}
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { log.rt = rt; return log }
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs, log
}

// kubectl runs the cached kubectl against the test cluster.
func kubectl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(cluster.binDir, "kubectl"),
		append([]string{"--kubeconfig", cluster.kubeconfig}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl %v: %v\n%s", args, err, out)
	}
	return string(out)
}
