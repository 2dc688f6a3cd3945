package xds

import "slices"

// subscription is what one resource type is subscribed to. It keeps the caller's names
// apart from the ones auto-subscription follows, so that an Unsubscribe never drops a
// route configuration a listener still needs, and a listener going away never drops a
// name the caller asked for.
type subscription struct {
	// wildcard is set by Subscribe with no names or "*".
	wildcard bool
	// explicit are the names given to Subscribe, canonical.
	explicit map[string]struct{}
	// auto counts, per name, the accepted resources that refer to it.
	auto map[string]int
	// globs counts the xdstp glob collections among the names, so that the common case
	// (none) never parses a received name to look for its collection.
	globs int
}

// named reports whether name is subscribed to by name, explicitly or automatically.
func (s *subscription) named(name string) bool {
	if _, ok := s.explicit[name]; ok {
		return true
	}
	return s.auto[name] > 0
}

// wants reports whether a resource called name, sent by the server, is one we asked for:
// by name, through the wildcard, or as a member of a subscribed glob collection. Resources
// we did not ask for are ignored, as gRPC and Envoy do.
func (s *subscription) wants(name string) bool {
	if s.wildcard || s.named(name) {
		return true
	}
	if s.globs == 0 {
		return false
	}
	n, err := ParseResourceName(name)
	if err != nil {
		return false
	}
	c, ok := n.GlobCollection()
	return ok && s.named(c.String())
}

// empty reports whether nothing at all is subscribed.
func (s *subscription) empty() bool {
	return !s.wildcard && len(s.explicit) == 0 && len(s.auto) == 0
}

// names returns every name subscribed by name, sorted so that requests are reproducible.
func (s *subscription) names() []string {
	out := make([]string, 0, len(s.explicit)+len(s.auto))
	for n := range s.explicit {
		out = append(out, n)
	}
	for n := range s.auto {
		if _, dup := s.explicit[n]; !dup {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// addExplicit subscribes names and returns those that were not subscribed by name before.
func (s *subscription) addExplicit(names []string) (added []string) {
	if s.explicit == nil {
		s.explicit = make(map[string]struct{}, len(names))
	}
	for _, n := range names {
		if _, ok := s.explicit[n]; ok {
			continue
		}
		was := s.named(n)
		s.explicit[n] = struct{}{}
		s.countGlob(n, 1)
		if !was {
			added = append(added, n)
		}
	}
	return added
}

// removeExplicit unsubscribes names the caller subscribed and returns those no longer
// subscribed by name at all.
func (s *subscription) removeExplicit(names []string) (removed []string) {
	for _, n := range names {
		if _, ok := s.explicit[n]; !ok {
			continue
		}
		delete(s.explicit, n)
		s.countGlob(n, -1)
		if !s.named(n) {
			removed = append(removed, n)
		}
	}
	return removed
}

// addAuto records one more reference to name and reports whether it became subscribed.
func (s *subscription) addAuto(name string) bool {
	if s.auto == nil {
		s.auto = make(map[string]int)
	}
	was := s.named(name)
	s.auto[name]++
	return !was
}

// removeAuto drops one reference to name and reports whether it is no longer subscribed.
func (s *subscription) removeAuto(name string) bool {
	if s.auto[name] == 0 {
		return false
	}
	s.auto[name]--
	if s.auto[name] == 0 {
		delete(s.auto, name)
	}
	return !s.named(name)
}

// countGlob keeps globs up to date; only xdstp names can be globs.
func (s *subscription) countGlob(name string, delta int) {
	if len(name) < len(xdstpPrefix) || name[:len(xdstpPrefix)] != xdstpPrefix {
		return
	}
	if n, err := ParseResourceName(name); err == nil && n.IsGlob() {
		s.globs += delta
	}
}
