package chain

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ocmgo/ocm/controller/api/v1alpha1"
	"github.com/ocmgo/ocm/controller/internal/controller/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files")

// syncBuffer is a bytes.Buffer safe for the concurrent writes of the
// reconcilers' loggers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// freeAddr returns a 127.0.0.1 address nobody listens on right now.
func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func scrape(t *testing.T) string {
	t.Helper()
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s %v", resp.Status, err)
	}
	return string(body)
}

// The manager's /metrics serves Flux's gotk_ metrics per kind and object
// and the controllers' own counters once a chain has deployed.
func TestMetricsEndpoint(t *testing.T) {
	ctx := context.Background()
	ns := testenv.Namespace(t)
	host := testenv.StartRegistry(t)
	const comp = "acme.org/metrics"
	testenv.Push(t, host, testenv.CV{Name: comp, Version: "1.0.0", Resources: []testenv.Resource{
		{Name: "manifests", Version: "1.0.0", Type: "kubernetes-manifest", Data: manifests(ns, "cm-m"), MediaType: "application/x-yaml"},
	}})
	d := chain(t, ns, host, comp)
	testenv.Eventually(t, 60*time.Second, func() error {
		return testenv.WantCondition(ctx, d, v1alpha1.ReadyCondition, metav1.ConditionTrue, v1alpha1.SucceededReason)
	})
	want := []string{
		fmt.Sprintf(`gotk_reconcile_condition{kind="Component",name="app",namespace=%q,status="True",type="Ready"} 1`, ns),
		fmt.Sprintf(`gotk_reconcile_condition{kind="Repository",name="repo",namespace=%q,status="False",type="Ready"} 0`, ns),
		fmt.Sprintf(`gotk_reconcile_condition{kind="Deployer",name=%q,namespace="",status="True",type="Ready"} 1`, d.Name),
		fmt.Sprintf(`gotk_reconcile_duration_seconds_count{kind="Resource",name="manifests",namespace=%q}`, ns),
		fmt.Sprintf(`gotk_reconcile_duration_seconds_bucket{kind="Deployer",name=%q,namespace="",le="+Inf"}`, d.Name),
		fmt.Sprintf(`gotk_suspend_status{kind="Component",name="app",namespace=%q} 0`, ns),
		`ocm_reconcile_total{kind="Component",result="success"}`,
		`ocm_reconcile_total{kind="Deployer",result="success"}`,
		`ocm_deployer_cache_requests_total{result="miss"}`,
		`ocm_deployer_objects_total{operation="apply"}`,
		`ocm_deployer_cache_bytes`,
	}
	var body string
	testenv.Eventually(t, 10*time.Second, func() error {
		body = scrape(t)
		for _, w := range want {
			if !strings.Contains(body, w) {
				return fmt.Errorf("/metrics lacks %s", w)
			}
		}
		return nil
	})
	// Deleted objects leave no series behind.
	if err := testenv.Current.Client.Delete(ctx, d); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, func() error {
		if strings.Contains(scrape(t), fmt.Sprintf(`name=%q`, d.Name)) {
			return fmt.Errorf("series of the deleted Deployer %s remain", d.Name)
		}
		return nil
	})
}

// logLines returns the reconcilers' log records about namespace ns (or
// the Deployer of ns) whose message is one of msgs, reduced to stable
// fields, with the namespace, digests and hosts replaced, duplicates
// dropped, in first-seen order.
func logLines(t *testing.T, ns string, msgs ...string) []string {
	t.Helper()
	hexRE := regexp.MustCompile(`[0-9a-f]{64}`)
	hostRE := regexp.MustCompile(`127\.0\.0\.1:[0-9]+`)
	var out []string
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			continue
		}
		msg, _ := rec["msg"].(string)
		name, _ := rec["name"].(string)
		namespace, _ := rec["namespace"].(string)
		if !slices.Contains(msgs, msg) || (namespace != ns && name != "chain-"+ns) {
			continue
		}
		keep := map[string]any{}
		for _, k := range []string{"level", "msg", "controllerKind", "name", "namespace", "reason", "message", "cause", "component", "version", "resource", "applied", "pruned", "lastApplied", "objects"} {
			if v, ok := rec[k]; ok {
				keep[k] = v
			}
		}
		b, err := json.Marshal(keep)
		if err != nil {
			t.Fatal(err)
		}
		line := strings.ReplaceAll(string(b), ns, "NS")
		line = hostRE.ReplaceAllString(hexRE.ReplaceAllString(line, "<hex>"), "<registry>")
		if !slices.Contains(out, line) {
			out = append(out, line)
		}
	}
	return out
}

// What the controllers log when a newer version is refused: the Resource's
// refusal with reason and message, the Deployer holding back with the
// cause, and its re-applies of the last version with counts (golden file).
func TestRefusedVersionLog(t *testing.T) {
	ctx := context.Background()
	ns := testenv.Namespace(t)
	host := testenv.StartRegistry(t)
	const comp = "acme.org/golden"
	push := func(version string, data, tampered []byte) {
		testenv.Push(t, host, testenv.CV{Name: comp, Version: version, Resources: []testenv.Resource{
			{Name: "manifests", Version: version, Type: "kubernetes-manifest", Data: data, MediaType: "application/x-yaml", Tampered: tampered},
		}})
	}
	push("1.0.0", manifests(ns, "cm-g1", "cm-g2"), nil)
	d := chain(t, ns, host, comp)
	testenv.Eventually(t, 60*time.Second, func() error {
		return testenv.WantCondition(ctx, d, v1alpha1.ReadyCondition, metav1.ConditionTrue, v1alpha1.SucceededReason)
	})
	push("1.1.0", manifests(ns, "cm-g1"), manifests(ns, "cm-evil"))
	requestReconcile(t, ns)
	testenv.Eventually(t, 60*time.Second, func() error {
		return testenv.WantCondition(ctx, d, v1alpha1.HeldBackCondition, metav1.ConditionTrue, v1alpha1.ResourceIsNotAvailable)
	})
	msgs := []string{"refused", "held back; serving the last applied version", "applied"}
	var got []string
	testenv.Eventually(t, 5*time.Second, func() error {
		got = logLines(t, ns, msgs...)
		if len(got) < 4 {
			return fmt.Errorf("%d log lines so far:\n%s", len(got), strings.Join(got, "\n"))
		}
		return nil
	})
	golden := filepath.Join("testdata", "refused-version.log")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if g := strings.Join(got, "\n") + "\n"; g != string(want) {
		t.Fatalf("log differs from %s:\n--- got\n%s--- want\n%s", golden, g, want)
	}
}
