package source

import (
	"fmt"
	"strings"

	"github.com/caddymesh/caddymesh/modules/xds"
)

// shortTypes are the names Envoy's docs use for the five discovery services.
var shortTypes = map[string]xds.TypeURL{
	"lds": xds.ListenerType,
	"cds": xds.ClusterType,
	"rds": xds.RouteType,
	"eds": xds.EndpointType,
	"sds": xds.SecretType,
}

// defaultSubscriptions is what a source with no subscribe list asks for: everything a
// proxy needs to start, the rest following by auto-subscription.
var defaultSubscriptions = []subscription{{typeURL: xds.ListenerType}, {typeURL: xds.ClusterType}}

func parseType(s string) (xds.TypeURL, error) {
	if t, ok := shortTypes[strings.ToLower(s)]; ok {
		return t, nil
	}
	t, err := xds.ParseTypeURL(s)
	if err != nil {
		return "", fmt.Errorf("subscription type %q: want lds, cds, rds, eds, sds or a type URL: %w", s, err)
	}
	return t, nil
}

func parseSubscriptions(in []Subscription) ([]subscription, error) {
	if len(in) == 0 {
		return defaultSubscriptions, nil
	}
	out := make([]subscription, 0, len(in))
	for i, s := range in {
		t, err := parseType(s.Type)
		if err != nil {
			return nil, fmt.Errorf("subscribe[%d]: %w", i, err)
		}
		for _, n := range s.Names {
			if _, err := xds.ParseResourceName(n); err != nil {
				return nil, fmt.Errorf("subscribe[%d]: %w", i, err)
			}
		}
		out = append(out, subscription{typeURL: t, names: s.Names})
	}
	return out, nil
}
