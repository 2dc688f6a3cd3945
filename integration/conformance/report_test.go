package conformance

import (
	"fmt"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/util/sets"
	confv1 "sigs.k8s.io/gateway-api/conformance/apis/v1"
	"sigs.k8s.io/gateway-api/conformance/tests"
	"sigs.k8s.io/gateway-api/conformance/utils/suite"
	"sigs.k8s.io/gateway-api/pkg/features"
)

// profiles are the suite's conformance profiles by name.
var profiles = map[string]suite.ConformanceProfile{
	string(suite.GatewayHTTPConformanceProfileName): suite.GatewayHTTPConformanceProfile,
	string(suite.GatewayTLSConformanceProfileName):  suite.GatewayTLSConformanceProfile,
	string(suite.GatewayTCPConformanceProfileName):  suite.GatewayTCPConformanceProfile,
	string(suite.GatewayUDPConformanceProfileName):  suite.GatewayUDPConformanceProfile,
	string(suite.GatewayGRPCConformanceProfileName): suite.GatewayGRPCConformanceProfile,
	string(suite.MeshHTTPConformanceProfileName):    suite.MeshHTTPConformanceProfile,
	string(suite.MeshGRPCConformanceProfileName):    suite.MeshGRPCConformanceProfile,
}

// passedTests returns the tests a ConformanceReport records as passed. The report names only
// failed and skipped tests and counts the rest, so the passed ones are worked out as the suite
// counted them: the tests of the profile whose features the report lists as supported (the
// profile's core features and its extended supportedFeatures), less the failed and skipped.
// The count must match the report's, or the report is from another suite version.
func passedTests(rep *confv1.ConformanceReport) (map[string]bool, error) {
	passed := map[string]bool{}
	for _, pr := range rep.ProfileReports {
		p, ok := profiles[pr.Name]
		if !ok {
			return nil, fmt.Errorf("unknown profile %q", pr.Name)
		}
		supported := sets.New[features.FeatureName]().Union(p.CoreFeatures)
		notPassed := sets.New(pr.Core.FailedTests...).Insert(pr.Core.SkippedTests...)
		want := pr.Core.Passed
		if pr.Extended != nil {
			for _, f := range pr.Extended.SupportedFeatures {
				supported.Insert(features.FeatureName(f))
			}
			notPassed.Insert(pr.Extended.FailedTests...).Insert(pr.Extended.SkippedTests...)
			want += pr.Extended.Passed
		}
		var n uint32
		for _, test := range tests.ConformanceTests {
			inProfile := !slices.ContainsFunc(test.Features, func(f features.FeatureName) bool {
				return !p.CoreFeatures.Has(f) && !p.ExtendedFeatures.Has(f)
			})
			if !inProfile || !supported.HasAll(test.Features...) || notPassed.Has(test.ShortName) {
				continue
			}
			passed[test.ShortName] = true
			n++
		}
		if n != want {
			return nil, fmt.Errorf("profile %s: %d tests work out as passed, but the report counts %d; is it from another suite version?", pr.Name, n, want)
		}
	}
	return passed, nil
}

// TestPassedTestsFromReport checks the working-out against a report the suite's own code
// built, with one failed and one skipped test.
func TestPassedTestsFromReport(t *testing.T) {
	p := suite.GatewayHTTPConformanceProfile
	supported := sets.New(supportedFeatures...)
	var all []string
	for _, test := range tests.ConformanceTests {
		if supported.HasAll(test.Features...) {
			all = append(all, test.ShortName)
		}
	}
	if len(all) < 3 {
		t.Fatalf("only %d supported tests", len(all))
	}
	failed, skipped := all[0], all[1]
	rep := &confv1.ConformanceReport{ProfileReports: []confv1.ProfileReport{{
		Name: string(p.Name),
		Core: confv1.Status{FailedTests: []string{failed}, SkippedTests: []string{skipped}},
		Extended: &confv1.ExtendedStatus{
			SupportedFeatures: func() []string {
				var out []string
				for _, f := range supportedFeatures {
					if p.ExtendedFeatures.Has(f) {
						out = append(out, string(f))
					}
				}
				return out
			}(),
		},
	}}}
	var core, ext uint32
	for _, name := range all[2:] {
		test := tests.ConformanceTests[slices.IndexFunc(tests.ConformanceTests, func(c suite.ConformanceTest) bool { return c.ShortName == name })]
		if p.CoreFeatures.HasAll(test.Features...) {
			core++
		} else {
			ext++
		}
	}
	rep.ProfileReports[0].Core.Passed = core
	rep.ProfileReports[0].Extended.Passed = ext
	got, err := passedTests(rep)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(all)-2 || got[failed] || got[skipped] {
		t.Fatalf("worked out %d passed (failed %t, skipped %t), want %d", len(got), got[failed], got[skipped], len(all)-2)
	}
	rep.ProfileReports[0].Core.Passed++
	if _, err := passedTests(rep); err == nil {
		t.Fatal("a miscounted report went unnoticed")
	}
}
