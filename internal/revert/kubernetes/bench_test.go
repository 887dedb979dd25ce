package kubernetes

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ripcord/ripcord/internal/revert"
	"github.com/ripcord/ripcord/internal/testenv"
)

// TestK8sFigures prints the Kubernetes target's numbers on the kwok
// cluster. RIPCORD_BENCH=1 (and a cluster) runs it:
//
//	RIPCORD_BENCH=1 go test -run TestK8sFigures -v -timeout 30m ./internal/revert/kubernetes/
func TestK8sFigures(t *testing.T) {
	testenv.Measurement(t, "Kubernetes revert figures")
	needCluster(t)
	t.Run("rollout-undo/3", func(t *testing.T) { benchRolloutUndo(t, 3, 6) })
	t.Run("rollout-undo/50", func(t *testing.T) { benchRolloutUndo(t, 50, 4) })
	t.Run("service-selector", benchServiceSelector)
	t.Run("watcher/500", func(t *testing.T) { benchWatcher(t, 500) })
	t.Run("watcher/lag", func(t *testing.T) { benchWatcherLag(t, 10) })
}

// benchWatcherLag updates one Deployment n times: update written → the
// watcher's handler called with the new rollout.
func benchWatcherLag(t *testing.T, n int) {
	ns := testNamespace(t)
	createAndWait(t, liveDeployment(ns, "llm-api", "llm-api", img+"v0", 1, nil))
	w := NewWatcher(cluster.cs, WatcherConfig{Namespace: ns})
	seen := make(chan Rollout, 4)
	w.Handle("llm-api", RolloutHandlerFunc(func(_ context.Context, r Rollout) { seen <- r }))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = w.Run(ctx) }()
	for !w.HasSynced() {
		time.Sleep(5 * time.Millisecond)
	}
	var lags durations
	for i := range n {
		version := fmt.Sprintf("v%d", i+1)
		start := time.Now()
		setImage(t, ns, "llm-api", img+version, nil, false)
		for r := range seen {
			if r.Version == version {
				break
			}
		}
		lags = append(lags, time.Since(start))
	}
	figure(t, "watcher: lag, update → rollout reported", lags)
}

type durations []time.Duration

func (d durations) String() string {
	s := slices.Clone(d)
	slices.Sort(s)
	return fmt.Sprintf("median %s  min %s  max %s  (n=%d)",
		s[len(s)/2].Round(100*time.Microsecond), s[0].Round(100*time.Microsecond),
		s[len(s)-1].Round(100*time.Microsecond), len(s))
}

func figure(t *testing.T, name string, v any) {
	t.Helper()
	t.Logf("FIGURE %-48s %v", name, v)
}

// benchRolloutUndo reverts between v1 and v2 n times: decision → the
// Deployment written, and decision → rollout complete.
func benchRolloutUndo(t *testing.T, replicas int32, n int) {
	ns := testNamespace(t)
	createAndWait(t, liveDeployment(ns, "llm-api", "llm-api", img+"v1", replicas, nil))
	setImage(t, ns, "llm-api", img+"v2", nil, true)
	cs, reqs := countingClient(t, cluster.cfg)
	var written time.Duration
	tg, err := NewForClient(cs, Config{Namespace: ns, Deployment: "llm-api", RolloutTimeout: 5 * time.Minute},
		WithProgress(func(p Progress) {
			if p.Written && p.Updated == 0 && written == 0 {
				written = p.Elapsed
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	var toWrite, put, complete durations
	for i := range n {
		to := []string{"v1", "v2"}[i%2]
		written = 0
		res, err := tg.Revert(context.Background(), revert.Request{To: to, Reason: "bench"})
		if err != nil {
			t.Fatal(err)
		}
		toWrite, complete = append(toWrite, written), append(complete, res.Duration)
		put = append(put, reqs.last("PUT", "/deployments/"))
	}
	r := strconv.Itoa(int(replicas))
	figure(t, "decision → Deployment written ("+r+" replicas)", toWrite)
	figure(t, "  of which the PUT round trip", put)
	figure(t, "decision → rollout complete ("+r+" replicas)", complete)
}

func benchServiceSelector(t *testing.T) {
	ns := testNamespace(t)
	createAndWait(t, liveDeployment(ns, "r-blue", "r", img+"v1", 2, map[string]string{"version": "v1"}))
	createAndWait(t, liveDeployment(ns, "r-green", "r", img+"v2", 2, map[string]string{"version": "v2"}))
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: ns},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "r", "version": "v2"},
			Ports: []corev1.ServicePort{{Port: 80}}},
	}
	if _, err := cluster.cs.CoreV1().Services(ns).Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cs, reqs := countingClient(t, cluster.cfg)
	tg, err := NewForClient(cs, Config{Namespace: ns, Mode: ModeServiceSelector, Service: "r"})
	if err != nil {
		t.Fatal(err)
	}
	var total, patch durations
	for i := range 20 {
		res, err := tg.Revert(context.Background(), revert.Request{To: []string{"v1", "v2"}[i%2]})
		if err != nil {
			t.Fatal(err)
		}
		total, patch = append(total, res.Duration), append(patch, reqs.last("PATCH", "/services/"))
	}
	figure(t, "service-selector: decision → Service switched", total)
	figure(t, "  of which the PATCH round trip", patch)
}

// benchWatcher creates n one-replica Deployments, then measures a Watcher
// over them: sync time, heap and RSS growth, and CPU over a minute during
// which 10 of them roll out.
func benchWatcher(t *testing.T, n int) {
	ns := testNamespace(t)
	start := time.Now()
	createMany(t, ns, n)
	waitAllRolledOut(t, ns, n)
	t.Logf("created %d Deployments, all available, in %s", n, time.Since(start).Round(time.Millisecond))

	heap0, rss0 := memUsage()
	w := NewWatcher(cluster.cs, WatcherConfig{Namespace: ns})
	var seen atomic.Int64
	w.HandleAll(RolloutHandlerFunc(func(context.Context, Rollout) { seen.Add(1) }))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start = time.Now()
	go func() { _ = w.Run(ctx) }()
	for !w.HasSynced() {
		time.Sleep(5 * time.Millisecond)
	}
	figure(t, fmt.Sprintf("watcher: initial sync of %d Deployments", n), time.Since(start).Round(time.Millisecond))
	heap1, rss1 := memUsage()
	figure(t, "watcher: heap growth (after GC)", fmt.Sprintf("%.1f MiB (%.1f KiB per Deployment)",
		mib(heap1-heap0), float64(heap1-heap0)/1024/float64(n)))
	figure(t, "watcher: RSS growth", fmt.Sprintf("%.1f MiB (process RSS %.1f MiB)", mib(rss1-rss0), mib(rss1)))

	window := 60 * time.Second
	if v, err := time.ParseDuration(os.Getenv("RIPCORD_BENCH_WATCH")); err == nil {
		window = v
	}
	cpu0, wall0 := cpuTime(), time.Now()
	for i := range 10 {
		setImage(t, ns, fmt.Sprintf("d-%03d", i*n/10), img+"v2", nil, false)
		time.Sleep(window / 10)
	}
	cpu := cpuTime() - cpu0
	wall := time.Since(wall0)
	figure(t, "watcher: process CPU over the window", fmt.Sprintf("%s in %s (%.2f%% of one core), %d rollouts seen",
		cpu.Round(time.Millisecond), wall.Round(time.Second), 100*cpu.Seconds()/wall.Seconds(), seen.Load()))
	_, rss2 := memUsage()
	figure(t, "watcher: process RSS after the window", fmt.Sprintf("%.1f MiB", mib(rss2)))
}

func createMany(t *testing.T, ns string, n int) {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				d := liveDeployment(ns, fmt.Sprintf("d-%03d", i), fmt.Sprintf("d-%03d", i), img+"v1", 1, nil)
				if _, err := cluster.cs.AppsV1().Deployments(ns).Create(context.Background(), d, metav1.CreateOptions{}); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// waitAllRolledOut waits until the controller has given every Deployment
// its first revision and its pod is available, so the window measures a
// settled namespace.
func waitAllRolledOut(t *testing.T, ns string, n int) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		list, err := cluster.cs.AppsV1().Deployments(ns).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		done := 0
		for i := range list.Items {
			d := &list.Items[i]
			if ok, _ := rolloutComplete(d, time.Now()); ok && revisionNumber(&d.ObjectMeta) > 0 {
				done++
			}
		}
		if done == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d Deployments rolled out after 5m", done, n)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// memUsage returns the live heap after a GC and the process RSS, in bytes.
func memUsage() (heap, rss int64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	data, _ := os.ReadFile("/proc/self/status")
	for line := range strings.SplitSeq(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			rss = kb * 1024
		}
	}
	return int64(ms.HeapAlloc), rss
}
