package conformance

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/go-logr/logr"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1alpha2 "sigs.k8s.io/gateway-api/apis/v1alpha2"
	gatewayv1alpha3 "sigs.k8s.io/gateway-api/apis/v1alpha3"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"
	xv1alpha1 "sigs.k8s.io/gateway-api/apisx/v1alpha1"
	"sigs.k8s.io/gateway-api/conformance"
	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/gateway-api/conformance/tests"
	"sigs.k8s.io/gateway-api/conformance/utils/config"
	"sigs.k8s.io/gateway-api/conformance/utils/roundtripper"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
	"sigs.k8s.io/gateway-api/pkg/features"
	"sigs.k8s.io/yaml"
)

// childDirEnv names the folder TestGatewayAPIConformance hands the suite's process, for its
// results and report.
const childDirEnv = "CADDYMESH_CONFORMANCE_DIR"

// supportedFeatures are the features caddymesh claims: the GATEWAY-HTTP core and these
// extended ones. The suite skips every test that needs another.
var supportedFeatures = []features.FeatureName{
	features.SupportGateway,
	features.SupportHTTPRoute,
	features.SupportReferenceGrant,
	features.SupportHTTPRouteQueryParamMatching,
	features.SupportHTTPRouteMethodMatching,
	features.SupportHTTPRouteResponseHeaderModification,
	features.SupportHTTPRoutePortRedirect,
	features.SupportHTTPRouteSchemeRedirect,
	features.SupportHTTPRoutePathRedirect,
	features.SupportHTTPRouteHostRewrite,
	features.SupportHTTPRoutePathRewrite,
	features.SupportHTTPRouteRequestMirror,
	features.SupportHTTPRouteRequestMultipleMirrors,
	features.SupportHTTPRouteRequestPercentageMirror,
	features.SupportHTTPRouteRequestTimeout,
	features.SupportHTTPRouteBackendTimeout,
	features.SupportHTTPRouteParentRefPort,
	features.SupportHTTPRouteBackendRequestHeaderModification,
	features.SupportGatewayPort8080,
	features.SupportGatewayHTTPListenerIsolation,
	features.SupportHTTPRouteNamedRouteRule,
	features.SupportHTTPRouteCORS,
	features.SupportHTTPRoute303RedirectStatusCode,
	features.SupportHTTPRoute307RedirectStatusCode,
	features.SupportHTTPRoute308RedirectStatusCode,
}

// timeoutConfig shortens the suite's waits where a loopback cluster with one gateway process
// is done long before them; request-level timeouts keep the suite's defaults.
func timeoutConfig() config.TimeoutConfig {
	tc := config.DefaultTimeoutConfig()
	tc.GatewayMustHaveAddress = 60 * time.Second   // 180s
	tc.GatewayMustHaveCondition = 60 * time.Second // 180s
	tc.GWCMustBeAccepted = 60 * time.Second        // 180s
	tc.ListenerSetMustHaveCondition = 60 * time.Second
	tc.NamespacesMustBeReady = 120 * time.Second // 300s
	config.SetupTimeoutConfig(&tc)
	return tc
}

// budgetReserve is the time kept back at the end of the process's deadline: once less is
// left, the remaining tests are skipped so the results and report still get written.
const budgetReserve = 90 * time.Second

// outcome is one test's result, as the suite's process hands it back.
type outcome struct {
	Name    string  `json:"name"`
	Result  string  `json:"result"` // passed, failed, skipped, not-supported
	Seconds float64 `json:"seconds"`
	Note    string  `json:"note,omitempty"`
}

// childResults is what the suite's process writes to results.json.
type childResults struct {
	Completed bool      `json:"completed"` // Run returned
	Seconds   float64   `json:"seconds"`
	Tests     []outcome `json:"tests"`
}

const (
	resultPassed       = "passed"
	resultFailed       = "failed"
	resultSkipped      = "skipped"
	resultNotSupported = "not-supported"
)

// TestConformanceSuiteProcess runs the conformance suite. TestGatewayAPIConformance runs it in
// a process of its own, so that failing conformance tests become results to compare, not
// failures of the test that compares them.
func TestConformanceSuiteProcess(t *testing.T) {
	dir := os.Getenv(childDirEnv)
	if dir == "" {
		t.Skip("run by TestGatewayAPIConformance in a process of its own")
	}
	start := time.Now()
	res := &childResults{}
	var cSuite *suite.ConformanceTestSuite
	// Registered before Run, so it runs after Run's own cleanup, which lets Report work.
	t.Cleanup(func() {
		res.Seconds = time.Since(start).Seconds()
		if err := writeJSON(filepath.Join(dir, "results.json"), res); err != nil {
			t.Errorf("writing the results: %v", err)
		}
		if cSuite == nil || !res.Completed {
			return
		}
		rep, err := cSuite.Report()
		if err != nil {
			t.Errorf("building the report: %v", err)
			return
		}
		raw, err := yaml.Marshal(rep)
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "report.yaml"), raw, 0o644)
		}
		if err != nil {
			t.Errorf("writing the report: %v", err)
		}
	})

	h := startHarness(t)
	cSuite = newSuite(t, h, res)
	progress("suite: Setup")
	cSuite.Setup(t, tests.ConformanceTests)
	progress("suite: Setup done after %s; running %d tests sequentially", time.Since(start).Round(time.Second), len(tests.ConformanceTests))
	if err := cSuite.Run(t, tests.ConformanceTests); err != nil {
		t.Fatalf("running the suite: %v", err)
	}
	res.Completed = true
	if exited, err := h.gateway.Exited(); exited {
		t.Errorf("caddymesh exited during the suite: %v", err)
	}
}

// newSuite builds the suite over the proxy's clients and the gateway dialer.
func newSuite(t *testing.T, h *harness, res *childResults) *suite.ConformanceTestSuite {
	t.Helper()
	ctrllog.SetLogger(logr.Discard())
	cfg := h.proxy.Config(h.cluster.AdminToken)
	// A scheme of its own: installing the Gateway API types into client-go's global scheme,
	// as the suite's DefaultOptions does, races with the harness's clients decoding with it.
	scheme := runtime.NewScheme()
	for _, install := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme,
		gatewayv1alpha3.Install, gatewayv1alpha2.Install, gatewayv1beta1.Install, gatewayv1.Install,
		xv1alpha1.Install, apiextensionsv1.AddToScheme,
	} {
		if err := install(scheme); err != nil {
			t.Fatal(err)
		}
	}
	clientOpts := client.Options{Scheme: scheme}
	cl, err := client.New(cfg, clientOpts)
	if err != nil {
		t.Fatalf("controller-runtime client: %v", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tc := timeoutConfig()
	opts := suite.ConformanceOptions{
		ConfigurableOptions: suite.ConfigurableOptions{
			GatewayClassName: gatewayClass,
			// The cluster goes with the test; deleting the base namespaces would only leave
			// them Terminating, with no namespace controller to finish.
			CleanupBaseResources: false,
			CleanupTestResources: true,
			SupportedFeatures:    supportedFeatures,
			ConformanceProfiles:  []suite.ConformanceProfileName{suite.GatewayHTTPConformanceProfileName},
			TimeoutConfig:        tc,
			DisableParallelTests: true,
			Mode:                 "default",
			RunTest:              os.Getenv("CONFORMANCE_RUN_TEST"),
			SkipTests:            suite.ParseSkipTests(os.Getenv("CONFORMANCE_SKIP_TESTS")),
			Implementation: confv1.Implementation{
				Organization: "caddymesh",
				Project:      "caddymesh",
				URL:          "https://github.com/caddymesh/caddymesh",
				Version:      "dev",
				Contact:      []string{"https://github.com/caddymesh/caddymesh/issues"},
			},
		},
		Client:        cl,
		ClientOptions: clientOpts,
		Clientset:     cs,
		RestConfig:    cfg,
		RoundTripper: &roundtripper.DefaultRoundTripper{
			TimeoutConfig:     tc,
			CustomDialContext: h.gateway.DialContext,
		},
		ManifestFS: []fs.FS{&conformance.Manifests},
		Hook:       recorder(t, res),
	}
	cSuite, err := suite.NewConformanceTestSuite(opts)
	if err != nil {
		t.Fatalf("building the conformance suite: %v", err)
	}
	return cSuite
}

// recorder returns the suite's Hook: it records each test's outcome, prints a progress line,
// and once the deadline nears, skips the tests still to come.
func recorder(t *testing.T, res *childResults) func(*testing.T, suite.ConformanceTest, *suite.ConformanceTestSuite) {
	deadline, hasDeadline := t.Deadline()
	last := time.Now()
	budgetSpent := false
	return func(st *testing.T, test suite.ConformanceTest, s *suite.ConformanceTestSuite) {
		o := outcome{Name: test.ShortName, Seconds: time.Since(last).Seconds()}
		last = time.Now()
		switch {
		case !s.SupportedFeatures.HasAll(test.Features...):
			o.Result = resultNotSupported
		case st.Failed():
			o.Result = resultFailed
		case st.Skipped():
			o.Result = resultSkipped
			if budgetSpent {
				o.Note = "out of time"
			}
		default:
			o.Result = resultPassed
		}
		res.Tests = append(res.Tests, o)
		if o.Result != resultNotSupported {
			progress("%-58s %-7s %6.1fs", o.Name, o.Result, o.Seconds)
		}
		if hasDeadline && !budgetSpent && time.Until(deadline) < budgetReserve {
			budgetSpent = true
			progress("less than %s left before the test deadline; skipping the remaining tests", budgetReserve)
			i := slices.IndexFunc(tests.ConformanceTests, func(c suite.ConformanceTest) bool { return c.ShortName == test.ShortName })
			for _, rest := range tests.ConformanceTests[i+1:] {
				s.SkipTests.Insert(rest.ShortName)
			}
		}
	}
}

func writeJSON(path string, v any) error {
	raw, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, raw, 0o644)
}

// progress prints a line to the process's output at once, pass or fail: the suite's process
// runs without -test.v, so t.Log shows only for failed tests.
func progress(format string, args ...any) {
	fmt.Printf("conformance: "+format+"\n", args...)
}
