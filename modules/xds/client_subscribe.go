package xds

import "fmt"

// subscribeCmd is a Subscribe or Unsubscribe call on its way to the client's loop, with
// its names checked and canonical.
type subscribeCmd struct {
	typeURL   TypeURL
	names     []string
	wildcard  bool
	subscribe bool
}

// Subscribe asks the server for resources of typeURL: the given names, or every resource
// of the type when no name (or "*") is given. Names may be plain or xdstp:// names; they
// are sent in canonical form (ResourceName.String). It returns at once: the request goes
// out on the stream in the background, right away even while a response is pending, or
// when the stream is next opened. Subscribing twice to a name is harmless.
//
// Errors are *Error: KindInvalidResource for a malformed type URL or name, KindClosed
// after Close.
func (c *AdsClient) Subscribe(typeURL TypeURL, names ...string) error {
	return c.command(typeURL, names, true)
}

// Unsubscribe withdraws names subscribed with Subscribe, or the wildcard when no name (or
// "*") is given. Resources no longer subscribed at all leave State and are reported in
// Removed; a name that auto-subscription still follows stays. Errors are as Subscribe's.
func (c *AdsClient) Unsubscribe(typeURL TypeURL, names ...string) error {
	return c.command(typeURL, names, false)
}

func (c *AdsClient) command(typeURL TypeURL, names []string, subscribe bool) error {
	if c.isClosed() {
		return &Error{Kind: KindClosed, TypeURL: typeURL, Msg: "client is closed"}
	}
	cmd, err := parseSubscription(typeURL, names, subscribe, c.cfg.UseDelta())
	if err != nil {
		return err
	}
	c.inbox.push(cmd)
	return nil
}

// parseSubscription checks a Subscribe or Unsubscribe call's arguments. xdstp:// names
// must be of the type subscribed, and glob collections need delta, the only protocol in
// which a server can add members to and remove members from a collection.
func parseSubscription(typeURL TypeURL, names []string, subscribe, delta bool) (subscribeCmd, error) {
	if err := typeURL.Validate(); err != nil {
		return subscribeCmd{}, &Error{Kind: KindInvalidResource, TypeURL: typeURL, Msg: "cannot subscribe", Err: err}
	}
	cmd := subscribeCmd{typeURL: typeURL, subscribe: subscribe, wildcard: len(names) == 0}
	for _, s := range names {
		if s == Wildcard {
			cmd.wildcard = true
			continue
		}
		n, err := ParseResourceName(s)
		if err != nil {
			return subscribeCmd{}, &Error{Kind: KindInvalidResource, TypeURL: typeURL, Name: s, Msg: "cannot subscribe", Err: err}
		}
		if n.IsXDSTP() && n.Type() != typeURL {
			return subscribeCmd{}, &Error{Kind: KindInvalidResource, TypeURL: typeURL, Name: s,
				Msg: fmt.Sprintf("cannot subscribe: the name is of type %s", n.Type())}
		}
		if n.IsGlob() && !delta {
			return subscribeCmd{}, &Error{Kind: KindInvalidResource, TypeURL: typeURL, Name: s,
				Msg: "cannot subscribe: xdstp glob collections need the delta protocol"}
		}
		cmd.names = append(cmd.names, n.String())
	}
	return cmd, nil
}
