package envoyroute

import (
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
)

// TestDecodePiecewiseAgreesWithWhole checks that the two ways decode validates give the
// same views for a configuration that is valid as a whole: the piece-by-piece path only
// runs when something is wrong, so the goldens alone would not notice it drifting.
func TestDecodePiecewiseAgreesWithWhole(t *testing.T) {
	checked := 0
	for _, file := range goldenInputs(t) {
		rc := loadInput(t, file).RouteConfiguration
		if rc == nil {
			continue
		}
		if _, err := decodeConfig(rc); err != nil {
			continue
		}
		checked++
		t.Run(filepath.Base(file), func(t *testing.T) {
			whole, err := decode(rc)
			if err != nil {
				t.Fatal(err)
			}
			piece, err := decodePiecewise(rc)
			if err != nil {
				t.Fatal(err)
			}
			if len(whole) != len(piece) {
				t.Fatalf("%d virtual hosts whole, %d piecewise", len(whole), len(piece))
			}
			for i := range whole {
				w, p := whole[i], piece[i]
				if p.err != nil || len(w.routes) != len(p.routes) || !proto.Equal(w.pb, p.pb) {
					t.Fatalf("virtual host %d: piecewise err %v, %d routes (whole %d)", i, p.err, len(p.routes), len(w.routes))
				}
				for j := range w.routes {
					wr, pr := w.routes[j], p.routes[j]
					if pr.err != nil || wr.name != pr.name || wr.view.Action != pr.view.Action ||
						!proto.Equal(wr.view.Message(), pr.view.Message()) {
						t.Errorf("virtual host %d route %d differs: piecewise err %v", i, j, pr.err)
					}
				}
			}
		})
	}
	if checked == 0 {
		t.Fatal("no valid input to compare")
	}
}
