package httproute

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/caddymesh/caddymesh/modules/httproute/gatewayapi"
	"github.com/caddymesh/caddymesh/modules/mesh"
	"github.com/caddymesh/caddymesh/modules/mesh/model"
)

// statusReporter writes a translation's statuses through the mesh app, in the background
// and one at a time, skipping those equal to what it last wrote (lastTransitionTime aside),
// and retrying failed writes. Only the newest status of an object is kept while a write is
// pending, so a burst of changes costs one write per object.
type statusReporter struct {
	controller gatewayv1.GatewayController
	logger     *zap.Logger
	ctx        context.Context
	kick       chan struct{}
	wg         sync.WaitGroup

	mu      sync.Mutex                             // guards the fields below
	app     *mesh.App                              // the attached config's, whose sources write
	pending map[string]mesh.Status                 // by kind/key
	written map[string]string                      // by kind/key: the fingerprint last written
	routes  map[string]gatewayv1.GatewayController // routes we wrote parents on, for removal
}

func newStatusReporter(ctx context.Context, controller gatewayv1.GatewayController, logger *zap.Logger) *statusReporter {
	return &statusReporter{controller: controller, logger: logger, ctx: ctx, kick: make(chan struct{}, 1),
		pending: map[string]mesh.Status{}, written: map[string]string{}, routes: map[string]gatewayv1.GatewayController{}}
}

// setApp writes through app's sources from now on.
func (s *statusReporter) setApp(app *mesh.App) {
	s.mu.Lock()
	s.app = app
	s.mu.Unlock()
}

func (s *statusReporter) start() {
	s.wg.Add(1)
	go s.loop()
}

// stop waits for the loop, which ends with the run's context.
func (s *statusReporter) stop() { s.wg.Wait() }

// submit queues the statuses of a translation that differ from those written.
func (s *statusReporter) submit(res *gatewayapi.Result) {
	var all []mesh.Status
	for name, st := range res.GatewayClassStatuses {
		st := st
		all = append(all, mesh.Status{Kind: model.GatewayClasses, Name: name, GatewayClass: &st})
	}
	for key, st := range res.GatewayStatuses {
		st := st
		ns, name := splitKey(key)
		all = append(all, mesh.Status{Kind: model.Gateways, Namespace: ns, Name: name, Gateway: &st})
	}
	seen := make(map[string]bool)
	for key, parents := range res.RouteStatuses {
		ns, name := splitKey(key)
		if parents == nil {
			parents = []gatewayv1.RouteParentStatus{}
		}
		all = append(all, mesh.Status{Kind: model.HTTPRoutes, Namespace: ns, Name: name, RouteParents: parents})
		seen[key] = true
	}
	s.mu.Lock()
	for i := range all {
		all[i].Controller = s.controller
	}
	// Routes we wrote on that no longer name our Gateways: remove our entries once.
	for key, ctrl := range s.routes {
		if !seen[key] {
			ns, name := splitKey(key)
			all = append(all, mesh.Status{Kind: model.HTTPRoutes, Namespace: ns, Name: name, Controller: ctrl, RouteParents: []gatewayv1.RouteParentStatus{}})
			delete(s.written, model.HTTPRoutes+"/"+key)
			delete(s.routes, key)
		}
	}
	for _, st := range all {
		id := st.Kind + "/" + st.Key()
		if st.RouteParents != nil {
			if len(st.RouteParents) > 0 {
				s.routes[st.Key()] = st.Controller
			}
		}
		fp := fingerprint(st)
		if s.written[id] == fp {
			delete(s.pending, id)
			continue
		}
		s.pending[id] = st
	}
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// fingerprint is a status without its lastTransitionTimes, which every translation stamps
// anew.
func fingerprint(st mesh.Status) string {
	b, _ := json.Marshal(st)
	var v any
	_ = json.Unmarshal(b, &v)
	stripTimes(v)
	b, _ = json.Marshal(v)
	return string(b)
}

func stripTimes(v any) {
	switch v := v.(type) {
	case map[string]any:
		delete(v, "lastTransitionTime")
		for _, x := range v {
			stripTimes(x)
		}
	case []any:
		for _, x := range v {
			stripTimes(x)
		}
	}
}

func (s *statusReporter) loop() {
	defer s.wg.Done()
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.kick:
		case <-retry.C:
		}
		if s.flush() {
			retry.Reset(2 * time.Second)
		}
	}
}

// flush writes what is pending; it reports whether some writes failed and wait for a retry.
func (s *statusReporter) flush() (failed bool) {
	for {
		s.mu.Lock()
		var id string
		var st mesh.Status
		for id, st = range s.pending {
			break
		}
		if id == "" {
			s.mu.Unlock()
			return failed
		}
		delete(s.pending, id)
		app := s.app
		s.mu.Unlock()
		if app == nil {
			s.mu.Lock()
			s.pending[id] = st
			s.mu.Unlock()
			return true
		}

		ctx, cancel := context.WithTimeout(s.ctx, statusTimeout)
		err := app.WriteStatus(ctx, st)
		cancel()
		s.mu.Lock()
		if err != nil {
			if s.ctx.Err() != nil {
				s.mu.Unlock()
				return false
			}
			s.logger.Warn("writing status", zap.String("kind", st.Kind), zap.String("object", st.Key()), zap.Error(err))
			failed = true
			if _, newer := s.pending[id]; !newer {
				s.pending[id] = st
			}
			s.mu.Unlock()
			return failed // the rest waits for the retry, so a down server is not hammered
		}
		s.written[id] = fingerprint(st)
		s.mu.Unlock()
	}
}

func splitKey(key string) (ns, name string) {
	if ns, name, ok := strings.Cut(key, "/"); ok {
		return ns, name
	}
	return "", key
}
