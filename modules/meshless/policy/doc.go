// Package policy makes the Meshless node agent's decisions for each new connection: may this
// Pod call that service, and which Pod serves it. It is pure Go, with no Caddy and no
// sockets: the agent asks, and then dials, tunnels and logs.
//
// A connection goes through three steps:
//
//  1. [Policy.Caller] finds the calling meshlet from the Pod whose socket the application
//     connected on: the Pod's meshless/meshlet label names a Meshlet in its namespace.
//  2. [Policy.Authorize] looks the service up (the destination Meshlet must exist and list
//     it in spec.server.services, else code 4, service not found) and checks access (the
//     caller's Meshlet must list it in spec.client, else code 5, not allowed). On the other
//     end of a tunnel, [Policy.AuthorizeInbound] repeats the check for the meshlet named by
//     the peer's certificate, and [Destination.Endpoint] and [Destination.Full] check the
//     Pod that the tunnel names.
//  3. [Destination.Pick] chooses the Pods to try, best first.
//
// Refusals are [*Error] values carrying the reply code and the reason; [CodeOf] maps any
// result to its code.
//
// # Who may call
//
// A Pod that the Policy does not know, a Pod without the meshless/meshlet label, and a Pod
// whose Meshlet does not exist are all answered 5, not allowed: they have no client list,
// and an empty client list allows nothing. The service is looked up before access is
// checked, as the issue orders it, so an unknown service is 4 even for a caller that could
// not have used it anyway.
//
// # Endpoints
//
// The endpoints of a meshlet are the Pods of its namespace that carry every label of
// spec.server.selector and that serve: phase Running, condition Ready true, not being
// deleted, and with a Pod IP. This is the EndpointSlice controller's rule; a terminating Pod
// gets no new connections even while it is still Ready.
//
// # Canary
//
// Without spec.server.canary, every endpoint takes traffic alike. With it, a new connection
// first draws a version by weight, then goes to a Pod whose "version" label has that value:
//
//   - Only the listed versions with a weight above 0 take traffic. Pods of other versions,
//     or without the label, get none: a canary list says where all of the traffic goes.
//     If all listed weights are 0, nothing takes traffic (code 6).
//   - A weighted version with no ready Pod gets nothing, and its share goes to the versions
//     that have Pods, in proportion to their weights: with v1: 60, v2: 30, v3: 10 and no
//     Pod of v3, v1 gets 2/3 and v2 1/3. So removing a version's Pods never fails calls
//     while another version can take them. If no weighted version has a ready Pod, the
//     answer is 6, no available endpoint.
//
// # Least connections and maxConn
//
// Within the chosen version, the Pod with the fewest active connections of the service wins,
// as the agent's [ActiveConns] counts them; equally loaded Pods are chosen between at random,
// so that idle Pods share new connections evenly. A Pod holding maxConn connections of the
// service is skipped. If every Pod of the chosen version is full, the other weighted versions
// are tried, heaviest first, before answering 7, connection limit reached: a full canary
// overflows to the stable version rather than refusing calls that other Pods could serve.
// The split then leans toward the versions with room, which is the point of a limit.
//
// The candidates after the first follow the same order: the chosen version's other Pods,
// least loaded first, then the other versions'. maxConn is counted at the destination, so a
// source agent's counts are an estimate; the destination agent re-checks with its own counts
// ([Destination.Full]) and answers 7, and the source agent moves to its next candidate.
//
// # Freshness and cost
//
// The Policy derives, from its two input collections, each Pod's meshlet label, one compiled
// view per Meshlet (its client list as a set, its services as a map) and one endpoint
// snapshot per serving Meshlet, joined with its Pods on one label of its selector. Both follow their inputs as any derived
// collection does: a change to a Meshlet or a Pod rebuilds only the snapshots it touches,
// shortly after the change, and decisions already made keep the snapshot they were made on.
// A decision reads these through one map lookup each, under the derived collection's read
// lock for that lookup only (writers hold it just to store a snapshot built beforehand, so
// a rebuild never stalls a decision), and scans only the destination's own Pods. An allowed
// call allocates nothing but the lookup keys longer than Go's 32-byte stack buffer.
package policy
