package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/streaming"
	"k8s.io/apimachinery/pkg/watch"
	restclientwatch "k8s.io/client-go/rest/watch"
)

// EventType says what a WatchEvent reports.
type EventType string

// The kinds of watch events. Expired and StreamError end the watch: the channel closes
// after them.
const (
	// Added carries an object that is new to the watch (created, or newly selected).
	Added EventType = "Added"
	// Modified carries an object as it is after a change.
	Modified EventType = "Modified"
	// Deleted carries an object as it was when deleted (or no longer selected).
	Deleted EventType = "Deleted"
	// Bookmark carries only a ResourceVersion (and the object's annotations): the point
	// a new watch can resume from. With SendInitialEvents, the bookmark with
	// InitialEventsEnd set marks the end of the initial state.
	Bookmark EventType = "Bookmark"
	// Expired means the server no longer has the history the watch asked for (410 Gone,
	// reason Expired or Gone): the caller must list again and watch from the list's
	// resource version.
	Expired EventType = "Expired"
	// StreamError is any other failure: an error event from the server, an event that
	// cannot be decoded, or a stream broken off mid-event. The caller may watch again
	// from the last ResourceVersion it saw.
	StreamError EventType = "StreamError"
)

// WatchEvent is one change seen by a Watcher.
type WatchEvent[T Object] struct {
	// Type says what happened.
	Type EventType
	// Object is the object of an Added, Modified, Deleted or Bookmark event.
	Object T
	// ResourceVersion is Object's resource version: resume a watch from the last one seen.
	ResourceVersion string
	// InitialEventsEnd is set on the bookmark that ends the initial events of a watch
	// opened with SendInitialEvents.
	InitialEventsEnd bool
	// Err is the error of an Expired or StreamError event. For an error the server sent,
	// it wraps an *apierrors.StatusError, so apierrors.IsResourceExpired and friends work.
	Err error
}

// WatchOptions tune Watch.
type WatchOptions struct {
	// LabelSelector and FieldSelector narrow the watch, as in ListOptions.
	LabelSelector string
	FieldSelector string
	// ResourceVersion is where to start: the version of a List, or of the last event
	// seen, to miss nothing in between. Empty starts at the latest version (or, with
	// SendInitialEvents, from a fresh snapshot); "0" from any version the server has.
	ResourceVersion string
	// ResourceVersionMatch qualifies ResourceVersion; SendInitialEvents needs
	// NotOlderThan and gets it when this is empty.
	ResourceVersionMatch metav1.ResourceVersionMatch
	// AllowBookmarks asks for Bookmark events. Servers send them from their watch cache,
	// about once a minute and shortly before TimeoutSeconds runs out; they cost nothing
	// and let a resumed watch start from a recent version.
	AllowBookmarks bool
	// SendInitialEvents starts the watch with an Added event for every existing object,
	// then a Bookmark with InitialEventsEnd set: a list and a watch in one stream (the
	// "watch list" of KEP-3157). It implies AllowBookmarks.
	SendInitialEvents bool
	// TimeoutSeconds, if set, asks the server to end the watch after this long; the
	// channel then closes with no error event. The server also ends watches on its own
	// after a few tens of minutes.
	TimeoutSeconds *int64
}

func (o WatchOptions) metav1() metav1.ListOptions {
	lo := metav1.ListOptions{
		Watch:                true,
		LabelSelector:        o.LabelSelector,
		FieldSelector:        o.FieldSelector,
		ResourceVersion:      o.ResourceVersion,
		ResourceVersionMatch: o.ResourceVersionMatch,
		AllowWatchBookmarks:  o.AllowBookmarks,
		TimeoutSeconds:       o.TimeoutSeconds,
	}
	if o.SendInitialEvents {
		on := true
		lo.SendInitialEvents = &on
		lo.AllowWatchBookmarks = true
		if lo.ResourceVersionMatch == "" {
			lo.ResourceVersionMatch = metav1.ResourceVersionMatchNotOlderThan
		}
	}
	return lo
}

// Watcher delivers the events of one watch request. Its channel closes when the server
// ends the watch, after an Expired or StreamError event, or when the watch is stopped.
type Watcher[T Object] struct {
	events chan WatchEvent[T]
	cancel context.CancelFunc
	done   chan struct{}
	stop   sync.Once
	// about names the watch in errors: "ConfigMap in namespace \"a\"".
	about string
}

// Events returns the channel of events. It is unbuffered: the watch reads the stream only
// as fast as the caller takes events.
func (w *Watcher[T]) Events() <-chan WatchEvent[T] { return w.events }

// Stop ends the watch and waits until its goroutine has returned and the channel is
// closed. It is safe to call more than once, and after the watch has ended.
func (w *Watcher[T]) Stop() {
	w.stop.Do(w.cancel)
	<-w.done
}

// Watch opens a watch of T in namespace (all namespaces if empty) and delivers its events
// until the server ends it, it fails, ctx is cancelled or Stop is called. An error here
// means the watch could not be opened at all: an unknown type, a bad selector, a refused
// request, or a resource version the server has already forgotten (a 410, which
// apierrors.IsResourceExpired or IsGone reports, like an Expired event).
//
// Unlike client-go's watch.Interface, a stream broken off mid-event is reported (as a
// StreamError) rather than ending the watch silently, so that a caller can tell a clean
// end (TimeoutSeconds, or the server's own limit) from a failure.
func Watch[T Object](ctx context.Context, c *Client, namespace string, opts WatchOptions) (*Watcher[T], error) {
	r, err := resolve[T](ctx, c)
	if err != nil {
		return nil, watchError(typeName[T](), where(namespace), err)
	}
	about := r.kind() + r.where(namespace)
	if err := r.checkNamespace(namespace, false); err != nil {
		return nil, fmt.Errorf("watching %s: %w", about, err)
	}
	lo := opts.metav1()
	ctx, cancel := context.WithCancel(ctx)
	body, err := r.request(http.MethodGet, namespace).
		VersionedParams(&lo, c.s.paramCodec).
		// JSON whatever the type: the stream's decoder is chosen before the response's
		// content type is known.
		SetHeader("Accept", runtime.ContentTypeJSON).
		Stream(ctx)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("watching %s: %w", about, err)
	}
	objects, framed, framer, err := runtime.NewClientNegotiator(c.s.serializer, r.gvk.GroupVersion()).StreamDecoder(runtime.ContentTypeJSON, nil)
	if err != nil {
		cancel()
		body.Close()
		return nil, fmt.Errorf("watching %s: %w", about, err)
	}
	dec := restclientwatch.NewDecoder(streaming.NewDecoder(framer.NewFrameReader(body), framed), objects)
	w := &Watcher[T]{
		events: make(chan WatchEvent[T]),
		cancel: cancel,
		done:   make(chan struct{}),
		about:  about,
	}
	go w.run(ctx, dec)
	return w, nil
}

// run reads events until the stream ends, fails or the watch is stopped.
func (w *Watcher[T]) run(ctx context.Context, dec *restclientwatch.Decoder) {
	defer close(w.done)
	defer close(w.events)
	defer w.cancel() // releases the request when the stream ends on its own
	defer dec.Close()
	for {
		typ, obj, err := dec.Decode()
		if err != nil {
			switch {
			case ctx.Err() != nil: // stopped: the caller asked for no more events
			case errors.Is(err, io.EOF): // the server ended the watch
			default:
				w.send(ctx, WatchEvent[T]{Type: StreamError, Err: fmt.Errorf("watching %s: reading the stream: %w", w.about, err)})
			}
			return
		}
		ev := w.event(typ, obj)
		if !w.send(ctx, ev) || ev.Type == Expired || ev.Type == StreamError {
			return
		}
	}
}

// event converts one decoded watch event.
func (w *Watcher[T]) event(typ watch.EventType, obj runtime.Object) WatchEvent[T] {
	if typ == watch.Error {
		err := fmt.Errorf("watching %s: %w", w.about, apierrors.FromObject(obj))
		if isExpired(err) {
			return WatchEvent[T]{Type: Expired, Err: err}
		}
		return WatchEvent[T]{Type: StreamError, Err: err}
	}
	t, ok := obj.(T)
	if !ok {
		return WatchEvent[T]{Type: StreamError, Err: fmt.Errorf("watching %s: a %s event holds a %T, not a %s", w.about, typ, obj, typeName[T]())}
	}
	ev := WatchEvent[T]{Object: t, ResourceVersion: t.GetResourceVersion()}
	switch typ {
	case watch.Added:
		ev.Type = Added
	case watch.Modified:
		ev.Type = Modified
	case watch.Deleted:
		ev.Type = Deleted
	case watch.Bookmark:
		ev.Type = Bookmark
		ev.InitialEventsEnd = t.GetAnnotations()[metav1.InitialEventsAnnotationKey] == "true"
	default: // the decoder admits no other type
		return WatchEvent[T]{Type: StreamError, Err: fmt.Errorf("watching %s: unknown event type %q", w.about, typ)}
	}
	return ev
}

// send delivers ev unless the watch is stopped first.
func (w *Watcher[T]) send(ctx context.Context, ev WatchEvent[T]) bool {
	select {
	case w.events <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

// isExpired reports a 410: the history asked for is gone, and only a new list helps.
func isExpired(err error) bool {
	if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
		return true
	}
	var status apierrors.APIStatus
	return errors.As(err, &status) && status.Status().Code == http.StatusGone
}

// watchError wraps an error of opening a watch, as listError does a list's.
func watchError(kind, where string, err error) error {
	return fmt.Errorf("watching %s%s: %w", kind, where, err)
}
