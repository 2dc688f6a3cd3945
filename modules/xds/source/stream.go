package source

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/caddymesh/caddymesh/modules/mesh"
	"github.com/caddymesh/caddymesh/modules/xds"
)

// streamState is a source's long-lived part: the ADS client and the collections it feeds.
// It outlives config reloads in the source pool.
type streamState struct {
	source string
	logger *zap.Logger
	client *xds.AdsClient
	stores map[xds.TypeURL]typeStore

	cancel context.CancelFunc
	done   chan struct{}
}

func startStream(source string, cfg xds.AdsConfig, subs []subscription, auto bool, logger *zap.Logger) (*streamState, error) {
	ctx, cancel := context.WithCancel(context.Background())
	client, err := xds.Connect(ctx, cfg, xds.WithAutoSubscribe(auto), xds.WithLogger(logger))
	if err != nil {
		cancel()
		return nil, err
	}
	st := &streamState{
		source: source,
		logger: logger,
		client: client,
		stores: newStores(source, subs),
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go st.loop(ctx)
	subscribed := make(map[xds.TypeURL]bool)
	for _, sub := range subs {
		if err := client.Subscribe(sub.typeURL, sub.names...); err != nil {
			_ = st.Destruct()
			return nil, fmt.Errorf("subscribing to %s: %w", sub.typeURL, err)
		}
		subscribed[sub.typeURL] = true
	}
	// Types nobody subscribes to (directly or through auto-subscription) will never get a
	// response: their empty collections are complete as they are.
	for t, store := range st.stores {
		if !subscribed[t] && !(auto && (t == xds.RouteType || t == xds.EndpointType)) {
			store.markSynced()
		}
	}
	return st, nil
}

func (st *streamState) publish(p *mesh.Publisher) error {
	for t, store := range st.stores {
		if err := store.publish(p); err != nil {
			return fmt.Errorf("publishing %s: %w", t.Kind(), err)
		}
	}
	return nil
}

// loop applies the client's events to the collections until the stream is closed.
func (st *streamState) loop(ctx context.Context) {
	defer close(st.done)
	for {
		ev, err := st.client.Next(ctx)
		if err != nil {
			if k := xds.KindOf(err); k != xds.KindClosed && k != xds.KindCancelled {
				st.logger.Error("reading xDS events", zap.String("source", st.source), zap.Error(err))
			}
			return
		}
		st.handle(ev)
	}
}

func (st *streamState) handle(ev xds.Event) {
	switch ev.Type {
	case xds.EventResponse, xds.EventDeltaResponse:
		store, ok := st.stores[ev.TypeURL]
		if !ok {
			return // a type this source has no collection for
		}
		if err := store.apply(ev.Resources, ev.Removed); err != nil {
			st.logger.Error("applying xDS response", zap.String("type", string(ev.TypeURL)), zap.Error(err))
		}
		if len(ev.Rejected) > 0 {
			err := rejection(ev)
			st.logger.Warn("rejected xDS resources; keeping their last good versions",
				zap.String("source", st.source), zap.String("type", string(ev.TypeURL)), zap.Error(err))
			store.setError(err)
		} else {
			store.setError(nil)
		}
		store.markSynced()
	case xds.EventDoesNotExist:
		if store, ok := st.stores[ev.TypeURL]; ok {
			st.logger.Warn("xDS resources not sent by the server", zap.String("type", string(ev.TypeURL)), zap.Strings("names", ev.Names))
			store.markSynced()
		}
	case xds.EventDisconnected:
		st.logger.Warn("ADS stream lost; serving the last good state", zap.String("source", st.source), zap.Error(ev.Err))
		for _, store := range st.stores {
			store.setError(fmt.Errorf("disconnected: %w", ev.Err))
		}
	case xds.EventReconnected:
		st.logger.Info("ADS stream re-established", zap.String("source", st.source))
		for _, store := range st.stores {
			store.setError(nil)
		}
	}
}

// Destruct closes the stream. The collections keep their last content.
func (st *streamState) Destruct() error {
	st.cancel()
	err := st.client.Close()
	<-st.done
	if errors.Is(err, xds.ErrClosed) {
		err = nil
	}
	return err
}
