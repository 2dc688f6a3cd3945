package kube

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/caddymesh/caddymesh/integration/kubeharness"
)

var (
	// cluster is the real etcd and kube-apiserver every test of the package shares; tests
	// isolate themselves by namespace (newNamespace).
	cluster *kubeharness.Cluster
	// testClient is an admin Client of cluster.
	testClient *Client
)

// TestMain starts one cluster for the package, and fails the package if it cannot (a test
// that needs a real API server must not pass by skipping), or if any test leaves a
// goroutine behind: a watch, an informer or a connection reader.
func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	// A cold build of kube-apiserver takes minutes; a cached one starts in seconds.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	c, err := kubeharness.Start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: starting the test cluster (etcd and kube-apiserver): %v\n", err)
		return 1
	}
	cluster = c
	testClient, err = NewClient(c.Config())
	if err != nil {
		c.Stop()
		fmt.Fprintf(os.Stderr, "FAIL: creating the test client: %v\n", err)
		return 1
	}
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "kube-apiserver log tail:\n%s\n", c.Logs("kube-apiserver", 4000))
	}
	testClient.Close()
	c.Stop()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: leaked goroutines: %v\n", err)
			return 1
		}
	}
	return code
}

var notLabelChars = regexp.MustCompile(`[^a-z0-9-]+`)

// newNamespace creates a namespace of its own for the calling test, named after the test
// (so that a failure's leftovers are easy to find) plus a random suffix, and deletes it when
// the test ends. Without a controller-manager a deleted namespace stays Terminating with its
// objects, but it takes no new ones, which catches a test that writes after it ended.
func newNamespace(t testing.TB) string {
	t.Helper()
	prefix := strings.Trim(notLabelChars.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(prefix) > 40 {
		prefix = strings.TrimRight(prefix[:40], "-")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns, err := Create(ctx, testClient, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}, CreateOptions{})
	if err != nil {
		t.Fatalf("creating the test namespace: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := Delete[*corev1.Namespace](ctx, testClient, "", ns.Name, DeleteOptions{}); err != nil {
			t.Errorf("deleting the test namespace: %v", err)
		}
	})
	return ns.Name
}
