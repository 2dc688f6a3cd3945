package gatewayapi

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// conditions builds the conditions of one object at one generation. Every condition gets
// the translation's clock as lastTransitionTime: the status writer keeps the old time of a
// condition whose status did not change, so stamping Now on all of them is both simple
// and correct.
type conditions struct {
	generation int64
	now        metav1.Time
	list       []metav1.Condition
}

func newConditions(generation int64, now metav1.Time) *conditions {
	return &conditions{generation: generation, now: now}
}

// set appends a condition; reason is any of the API's string reason types.
func set[R ~string](c *conditions, typ string, ok bool, reason R, message string) {
	status := metav1.ConditionFalse
	if ok {
		status = metav1.ConditionTrue
	}
	c.list = append(c.list, metav1.Condition{
		Type:               typ,
		Status:             status,
		ObservedGeneration: c.generation,
		LastTransitionTime: c.now,
		Reason:             string(reason),
		Message:            message,
	})
}

// problems collects what is wrong with an object's references or rules, keeping the
// reason of the first problem (the status condition has one reason) and the messages of
// the first few (the message says what to fix; a list of thousands helps nobody).
type problems[R ~string] struct {
	reason   R
	messages []string
	count    int
}

// maxMessages bounds how many problems a condition message lists.
const maxMessages = 8

func (p *problems[R]) add(reason R, format string, args ...any) {
	if p.count == 0 {
		p.reason = reason
	}
	p.count++
	if len(p.messages) < maxMessages {
		p.messages = append(p.messages, fmt.Sprintf(format, args...))
	}
}

func (p *problems[R]) empty() bool { return p.count == 0 }

// message joins the collected messages, saying how many were left out.
func (p *problems[R]) message() string {
	msg := strings.Join(p.messages, "; ")
	if n := p.count - len(p.messages); n > 0 {
		msg += fmt.Sprintf("; and %d more", n)
	}
	return msg
}
