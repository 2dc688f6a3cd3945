package conformance

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/yaml"
)

// reportFile is the committed conformance report, next to this file.
const reportFile = "report.yaml"

// updateReportEnv, set to 1, makes the test write this run's report to reportFile instead of
// gating on it.
const updateReportEnv = "CONFORMANCE_UPDATE_REPORT"

// TestGatewayAPIConformance runs the Gateway API conformance suite v1.6.3 (profile
// GATEWAY-HTTP) against the caddymesh binary's gateway agent, on a real kube-apiserver:
//
//	go test -race -run TestGatewayAPIConformance ./integration/conformance/ -v
//
// The suite runs in a child process (TestConformanceSuiteProcess), so its failures are
// results, not this test's failures. This test then
//   - with CONFORMANCE_UPDATE_REPORT=1, writes the suite's ConformanceReport to report.yaml;
//   - otherwise fails if a test that passed in the committed report.yaml does not pass now.
//
// It fails, never skips, if the cluster, the binaries, the backends or the suite cannot start.
// CONFORMANCE_RUN_TEST=<ShortName> runs one test; CONFORMANCE_SKIP_TESTS=<a,b> skips some
// (the gate then reports the tests not run).
func TestGatewayAPIConformance(t *testing.T) {
	start := time.Now()
	dir := t.TempDir()
	res, races, childErr := runChild(t, dir)
	if races {
		// The harness runs in that process: a race there is a bug of this package's.
		t.Errorf("the suite's process reported data races; see its output above")
	}
	if res == nil || !res.Completed {
		t.Fatalf("the conformance suite did not run to the end (%v); its output is above", childErr)
	}
	t.Logf("conformance: the suite ran in %s (process exit: %v)", time.Duration(res.Seconds*float64(time.Second)).Round(time.Second), errString(childErr))
	logSummary(t, res)

	raw, err := os.ReadFile(filepath.Join(dir, "report.yaml"))
	if err != nil {
		t.Fatalf("the suite wrote no report: %v", err)
	}
	t.Logf("conformance report:\n%s", raw)
	if os.Getenv(updateReportEnv) == "1" {
		if err := os.WriteFile(reportFile, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("conformance: wrote %s", reportFile)
	} else {
		gate(t, res)
	}
	t.Logf("conformance: total %s", time.Since(start).Round(time.Second))
}

// runChild runs TestConformanceSuiteProcess in a child process of this test binary, streaming
// its output into this test's log, and returns the results it wrote and whether the race
// detector spoke.
func runChild(t *testing.T, dir string) (_ *childResults, races bool, _ error) {
	args := []string{"-test.run=^TestConformanceSuiteProcess$", "-test.count=1"}
	if d, ok := t.Deadline(); ok {
		// Room for the child to write its results and for this test to read them.
		args = append(args, fmt.Sprintf("-test.timeout=%s", time.Until(d)-30*time.Second))
	} else {
		args = append(args, "-test.timeout=0")
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childDirEnv+"="+dir)
	// Killed with this process should it die first; its own children go with it the same way.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the suite's process: %v", err)
	}
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, "WARNING: DATA RACE") {
				races = true
			}
			t.Log(line)
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	childErr := cmd.Wait()
	pw.Close()
	<-logged

	raw, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		return nil, races, errors.Join(childErr, err)
	}
	var res childResults
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, races, errors.Join(childErr, err)
	}
	return &res, races, childErr
}

func errString(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// logSummary logs the count of each result and the tests that ran, by result.
func logSummary(t *testing.T, res *childResults) {
	by := map[string][]string{}
	for _, o := range res.Tests {
		name := o.Name
		if o.Note != "" {
			name += " (" + o.Note + ")"
		}
		by[o.Result] = append(by[o.Result], name)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "conformance summary: %d passed, %d failed, %d skipped, %d not supported (of %d)",
		len(by[resultPassed]), len(by[resultFailed]), len(by[resultSkipped]), len(by[resultNotSupported]), len(res.Tests))
	for _, r := range []string{resultPassed, resultFailed, resultSkipped} {
		names := by[r]
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(&b, "\n  %-7s %s", r, n)
		}
	}
	t.Log(b.String())
}

// gate fails the test if a test that passed in the committed report does not pass in this run.
func gate(t *testing.T, res *childResults) {
	raw, err := os.ReadFile(reportFile)
	if errors.Is(err, os.ErrNotExist) {
		t.Logf("conformance: no committed %s to compare with; run with %s=1 to write one", reportFile, updateReportEnv)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	var committed confv1.ConformanceReport
	if err := yaml.UnmarshalStrict(raw, &committed); err != nil {
		t.Fatalf("reading %s: %v", reportFile, err)
	}
	before, err := passedTests(&committed)
	if err != nil {
		t.Fatalf("reading %s: %v", reportFile, err)
	}
	now := map[string]outcome{}
	for _, o := range res.Tests {
		now[o.Name] = o
	}
	var regressed, improved []string
	for _, name := range sortedKeys(before) {
		o, ok := now[name]
		switch {
		case !ok:
			regressed = append(regressed, name+": not run")
		case o.Result != resultPassed:
			r := o.Result
			if o.Note != "" {
				r += " (" + o.Note + ")"
			}
			regressed = append(regressed, name+": "+r)
		}
	}
	for _, o := range res.Tests {
		if o.Result == resultPassed && !before[o.Name] {
			improved = append(improved, o.Name)
		}
	}
	sort.Strings(improved)
	if len(improved) > 0 {
		t.Logf("conformance: %d tests pass that did not in %s (run with %s=1 to record them): %s",
			len(improved), reportFile, updateReportEnv, strings.Join(improved, ", "))
	}
	if len(regressed) > 0 {
		t.Errorf("conformance: %d tests that pass in %s do not pass now:\n  %s", len(regressed), reportFile, strings.Join(regressed, "\n  "))
		return
	}
	t.Logf("conformance: all %d tests that pass in %s still pass", len(before), reportFile)
}
