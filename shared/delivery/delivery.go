// Package delivery decides what becomes of a delivered event once its handler returns: acknowledge
// it, have it redelivered (after a delay), or drop it for good. Both transports — JetStream pull
// and HTTP push — ask Decide, so an outcome means the same whichever delivered the event.
package delivery

import (
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"time"
)

// RetryDelayDefault is how soon an event is redelivered after an unclassified error (a database
// or broker outage): soon, because such errors are usually short.
const RetryDelayDefault = time.Second

// ErrPermanent marks an event that can never be handled (malformed, unknown type). Wrap it.
var ErrPermanent = errors.New("permanent")

// ErrShutdown is the cancellation cause a transport gives in-flight handlers when its shutdown
// grace period is over: record what can be recorded and hand the event back.
var ErrShutdown = errors.New("worker shutting down: grace period over")

// RetryError asks for redelivery after a delay.
type RetryError struct {
	After time.Duration
	Err   error
}

func (e *RetryError) Error() string { return fmt.Sprintf("retry in %s: %v", e.After, e.Err) }
func (e *RetryError) Unwrap() error { return e.Err }

// Recovered returns the error a transport gives for a handler that panicked with v. It is not
// permanent, so Decide has the event redelivered: a panic is a bug, which may spare the next
// delivery, another replica or a fixed deploy, while dropping the event would lose the fire. A
// transport knows no secrets to mask, so its text is DescribePanic(v, nil).
func Recovered(v any) error {
	return errors.New("handler panicked: " + DescribePanic(v, nil))
}

// DescribePanic says what may be recorded or logged of a panic's value v. The text of a
// runtime.Error (a nil dereference, an index out of range) is quoted: the Go runtime wrote it,
// and it holds no job data. A string or an error is quoted through mask, when the caller has
// one that knows the secrets in play (a message is where a secret's plain form would be, and
// mask hides every form of it). Any other value — a request, a header map, bytes — may hold a
// secret in a form no mask knows, so only its type is named.
func DescribePanic(v any, mask func(string) string) string {
	if re, ok := v.(runtime.Error); ok {
		return re.Error()
	}
	if mask != nil {
		switch v := v.(type) {
		case string:
			return mask(v)
		case error:
			return mask(v.Error())
		}
	}
	return fmt.Sprintf("a %T (its value is withheld: it may hold a secret)", v)
}

// Action is what a transport does with a delivered event.
type Action int

// Actions.
const (
	// Ack: the event is handled (or was a duplicate); never deliver it again.
	Ack Action = iota
	// Redeliver: deliver the event again after Outcome.Delay.
	Redeliver
	// Drop: the event can never be handled; never deliver it again.
	Drop
)

// Outcome is the decision for one delivery.
type Outcome struct {
	Action Action
	Delay  time.Duration
}

// Decide maps a handler's result to an outcome: nil → Ack; ErrPermanent → Drop; *RetryError →
// Redeliver after its delay; anything else → Redeliver after RetryDelayDefault.
func Decide(err error) Outcome {
	var retry *RetryError
	switch {
	case err == nil:
		return Outcome{Action: Ack}
	case errors.Is(err, ErrPermanent):
		return Outcome{Action: Drop}
	case errors.As(err, &retry):
		return Outcome{Action: Redeliver, Delay: retry.After}
	default:
		return Outcome{Action: Redeliver, Delay: RetryDelayDefault}
	}
}

// HTTPStatus is the status an HTTP push transport answers with: 200 for Ack, 503 for Redeliver
// (Knative's delivery redelivers 5xx), 400 for Drop (not retried; goes to the dead-letter sink).
func (o Outcome) HTTPStatus() int {
	switch o.Action {
	case Ack:
		return http.StatusOK
	case Drop:
		return http.StatusBadRequest
	default:
		return http.StatusServiceUnavailable
	}
}
