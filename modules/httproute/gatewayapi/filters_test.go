package gatewayapi

import (
	"testing"
	"time"

	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/httproute/table"
)

func TestMirrorFraction(t *testing.T) {
	i32 := func(v int32) *int32 { return &v }
	tests := []struct {
		name string
		f    gatewayv1.HTTPRequestMirrorFilter
		want *table.Fraction
		err  bool
	}{
		{name: "unset mirrors all"},
		{name: "percent", f: gatewayv1.HTTPRequestMirrorFilter{Percent: i32(35)}, want: &table.Fraction{Numerator: 35, Denominator: 100}},
		{name: "percent 0", f: gatewayv1.HTTPRequestMirrorFilter{Percent: i32(0)}, want: &table.Fraction{Numerator: 0, Denominator: 100}},
		{name: "percent 100", f: gatewayv1.HTTPRequestMirrorFilter{Percent: i32(100)}},
		{name: "percent over", f: gatewayv1.HTTPRequestMirrorFilter{Percent: i32(101)}, err: true},
		{name: "fraction default denominator", f: gatewayv1.HTTPRequestMirrorFilter{Fraction: &gatewayv1.Fraction{Numerator: 7}},
			want: &table.Fraction{Numerator: 7, Denominator: 100}},
		{name: "fraction scaled", f: gatewayv1.HTTPRequestMirrorFilter{Fraction: &gatewayv1.Fraction{Numerator: 25, Denominator: i32(50)}},
			want: &table.Fraction{Numerator: 50, Denominator: 100}},
		{name: "fraction to ten thousandths", f: gatewayv1.HTTPRequestMirrorFilter{Fraction: &gatewayv1.Fraction{Numerator: 1, Denominator: i32(400)}},
			want: &table.Fraction{Numerator: 25, Denominator: 10_000}},
		{name: "fraction rounded", f: gatewayv1.HTTPRequestMirrorFilter{Fraction: &gatewayv1.Fraction{Numerator: 2, Denominator: i32(3)}},
			want: &table.Fraction{Numerator: 666_666, Denominator: 1_000_000}},
		{name: "fraction whole", f: gatewayv1.HTTPRequestMirrorFilter{Fraction: &gatewayv1.Fraction{Numerator: 3, Denominator: i32(3)}}},
		{name: "fraction over one", f: gatewayv1.HTTPRequestMirrorFilter{Fraction: &gatewayv1.Fraction{Numerator: 4, Denominator: i32(3)}}, err: true},
		{name: "both", f: gatewayv1.HTTPRequestMirrorFilter{Percent: i32(1), Fraction: &gatewayv1.Fraction{Numerator: 1}}, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mirrorFraction(&tt.f)
			if (err != nil) != tt.err {
				t.Fatalf("error %v, want error %v", err, tt.err)
			}
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{in: "0s"},
		{in: "500ms", want: 500 * time.Millisecond},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "1h2m3s4ms", want: time.Hour + 2*time.Minute + 3*time.Second + 4*time.Millisecond},
		{in: "1.5s", err: true},
		{in: "10us", err: true},
		{in: "", err: true},
		{in: "123456s", err: true},
	}
	for _, tt := range tests {
		got, err := parseDuration(gatewayv1.Duration(tt.in))
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestSupportedFeatures(t *testing.T) {
	got := SupportedFeatures()
	for i := 1; i < len(got); i++ {
		if got[i-1] >= got[i] {
			t.Fatalf("features not sorted or repeated at %q, %q", got[i-1], got[i])
		}
	}
	got[0] = "changed"
	if SupportedFeatures()[0] == "changed" {
		t.Fatal("SupportedFeatures returns the package's own slice")
	}
}
