package xds

import (
	"fmt"

	"github.com/caddymesh/caddymesh/modules/xds/resource"
)

// EventType says what an Event reports, so that a consumer can switch on it instead of
// guessing from which fields are set.
type EventType uint8

// The events the client delivers through Next.
const (
	// EventResponse reports one state-of-the-world DiscoveryResponse after validation.
	EventResponse EventType = iota + 1
	// EventDeltaResponse reports one DeltaDiscoveryResponse after validation.
	EventDeltaResponse
	// EventReconnected reports that a stream answered again after EventDisconnected: the
	// server is reachable and accepts our credentials. Every subscription has been sent
	// again; the responses follow as their own events.
	EventReconnected
	// EventDisconnected reports that a stream could not be opened or broke. Err says why.
	// The client retries with backoff, and State keeps the last good resources meanwhile.
	// It is delivered for each failed attempt, so a long outage shows as several.
	EventDisconnected
	// EventDoesNotExist reports subscribed names that the server did not send within
	// AdsConfig.ResourceDoesNotExistTimeout, or that it said it does not have. Consumers
	// waiting for them (to become ready, say) should stop waiting.
	EventDoesNotExist
)

var eventTypeNames = [...]string{
	EventResponse:      "response",
	EventDeltaResponse: "delta-response",
	EventReconnected:   "reconnected",
	EventDisconnected:  "disconnected",
	EventDoesNotExist:  "does-not-exist",
}

// String names the type for logs.
func (t EventType) String() string {
	if int(t) < len(eventTypeNames) && eventTypeNames[t] != "" {
		return eventTypeNames[t]
	}
	return fmt.Sprintf("EventType(%d)", uint8(t))
}

// Event is one thing that happened on the ADS stream, in the order it happened. A consumer
// keeping its own copy of the resources applies Resources and then Removed of each
// response event, and has the same state as AdsClient.State.
//
// Resource names, in map keys and lists, are canonical (ResourceName.String): an xdstp://
// name the server spelled differently is keyed by its canonical form, while the view's
// Name() keeps the server's spelling.
type Event struct {
	// Type says what happened.
	Type EventType
	// TypeURL is the resource type concerned; "" for EventDisconnected and
	// EventReconnected, which concern the stream.
	TypeURL TypeURL
	// Version is the response's version_info (state of the world) or
	// system_version_info (delta).
	Version string
	// Nonce is the response's nonce. It is "" for the removal events the client makes
	// itself when a subscription ends (see Removed).
	Nonce string
	// Resources are the resources of this response that were accepted, by name. For a
	// state-of-the-world response of a full-state type (LDS, CDS) it is every accepted
	// resource the server holds for us; for RDS, EDS and SDS only those it sent; for
	// delta, those added or updated. A rejected resource is never here: its last good
	// value stays in State and it is not in Removed either.
	Resources map[string]resource.Resource
	// Removed lists the resources that are gone from State: those in a delta response's
	// removed_resources, those missing from a state-of-the-world response of a full-state
	// type, and those no longer subscribed (an Unsubscribe, or an auto-subscription whose
	// last referrer went away; those come as an event of their own with an empty Nonce).
	Removed []string
	// Rejected holds, by name, each resource of this response that failed validation and
	// was NACKed; each error is an *Error of KindInvalidResource, or KindOverLimit when
	// the whole response was refused for exceeding AdsConfig.ResourceLimit. A resource
	// whose name could not be read is keyed "[i]", its index in the response.
	Rejected map[string]error
	// Err says why, for EventDisconnected (an *Error of KindConnection or KindAuth). For a
	// response that was NACKed it summarises the rejection (an *Error of KindNack, or
	// KindOverLimit). It is nil otherwise, and for EventDoesNotExist.
	Err error
	// Names lists the names that do not exist, for EventDoesNotExist.
	Names []string
}
