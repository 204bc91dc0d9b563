package forward

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/vecron/vecron/shared/event"
	"github.com/vecron/vecron/shared/lograte"
	"github.com/vecron/vecron/shared/metric"
	"github.com/vecron/vecron/shared/sink"
)

// CallbackPath is where the tick takes an OpenFaaS gateway's callbacks, on
// forward.callback_port (docs/deploy.md §6).
const CallbackPath = "/forward/callback"

// The OpenFaaS gateway's asynchronous contract: a post carrying X-Callback-Url is answered 202
// with the X-Call-Id of the invocation, and the queue-worker posts the function's answer to that
// URL with X-Call-Id and the function's status in X-Function-Status (its headers, Retry-After
// among them, and its body come along).
const (
	headerCallbackURL    = "X-Callback-Url"
	headerCallID         = "X-Call-Id"
	headerFunctionStatus = "X-Function-Status"
)

const (
	// tokenParam is the callback URL's query parameter holding the token.
	tokenParam = "vecron_callback"
	// maxCallbackBody bounds what a callback may carry: the function's answer, which for an
	// executor's push handler is a status and at most an error line.
	maxCallbackBody = 64 << 10
	// maxTokenLen and maxCallIDLen bound what is read of a callback before it is judged.
	maxTokenLen  = 160
	maxCallIDLen = 128
	// relayTimeout bounds the wait for the replica holding the message to take a callback.
	relayTimeout = 5 * time.Second
	// callbackGrace is what a due event's wait for its callback adds to the job's timeout: the
	// gateway's queue, a cold start, the executor's own bookkeeping.
	callbackGrace = time.Minute
	// waiterBacklog bounds the callbacks one delivery may have waiting for its holder: a
	// gateway invoking twice, plus what a hostile caller with the token could add.
	waiterBacklog = 4
)

// Answers of the holder to a relayed callback.
var (
	relayTaken   = []byte("taken")
	relayRefused = []byte("refused")
	// relayUnrecorded refuses a success for a fire the executors have not recorded: a token
	// and call id read from the queue-worker's logs are not enough to acknowledge a fire that
	// never ran (docs/deploy-openfaas.md).
	relayUnrecorded = []byte("unrecorded")
)

// delivery is one delivery of one message of the due stream: what a callback token names.
type delivery struct {
	seq uint64 // stream sequence
	n   uint64 // delivery count
}

// callback is a gateway's report of one invocation, relayed to the replica holding its message.
type callback struct {
	callID     string
	status     int
	retryAfter time.Duration
	// earlier marks a callback for an earlier delivery of the message a wait holds: the
	// invocation a timed-out wait gave up on, answering late.
	earlier bool
	// answer tells the replica that took the callback what became of it: relayTaken,
	// relayRefused or relayUnrecorded.
	answer func(reply []byte)
}

// waiter is a delivery waiting for its callback.
type waiter struct {
	calls chan callback
}

// callbacks correlates the gateway's callbacks with the messages this replica holds. Tokens are
// signed under a key made at start that never leaves the process: only the replica that minted
// a token can check it, so a callback reaching another replica is relayed to the minter (its
// holder id is in the token) over NATS, and a callback for a replica that is gone is refused —
// its message comes back after the ack wait and is invoked again with the same idempotency key.
type callbacks struct {
	url     *url.URL
	holder  string // this replica's id: 16 hex digits
	key     []byte
	subject string // where this replica takes relayed callbacks

	mu      sync.Mutex
	waiting map[delivery]*waiter
}

func newCallbacks(callbackURL string, names event.Names) (*callbacks, error) {
	u, err := url.Parse(callbackURL)
	if err != nil {
		return nil, errors.New("forward.callback_url: must be an http or https URL with a host")
	}
	var id [8]byte
	key := make([]byte, 32)
	if _, err := rand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("forward: make the callback key: %w", err)
	}
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("forward: make the callback key: %w", err)
	}
	holder := hex.EncodeToString(id[:])
	return &callbacks{url: u, holder: holder, key: key, subject: names.ForwardCallbackSubject(holder), waiting: map[delivery]*waiter{}}, nil
}

// mac signs a token's fields.
func (c *callbacks) mac(holder string, d delivery, exp int64) string {
	h := hmac.New(sha256.New, c.key)
	fmt.Fprintf(h, "vecron forward callback v1|%s|%d|%d|%d", holder, d.seq, d.n, exp)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// mint returns the token of d, valid until exp: "<holder>.<seq>.<n>.<exp>.<mac>".
func (c *callbacks) mint(d delivery, exp time.Time) string {
	e := exp.Unix()
	return fmt.Sprintf("%s.%d.%d.%d.%s", c.holder, d.seq, d.n, e, c.mac(c.holder, d, e))
}

// callbackURL returns forward.callback_url with token added to its query.
func (c *callbacks) callbackURL(token string) string {
	u := *c.url
	q := u.Query()
	q.Set(tokenParam, token)
	u.RawQuery = q.Encode()
	return u.String()
}

// holderOf returns the holder id a token names, or false when the token is not shaped as one.
// It checks nothing else: only the holder can.
func holderOf(token string) (string, bool) {
	if len(token) > maxTokenLen {
		return "", false
	}
	holder, _, ok := strings.Cut(token, ".")
	if !ok || len(holder) != 16 {
		return "", false
	}
	if _, err := hex.DecodeString(holder); err != nil || strings.ToLower(holder) != holder {
		return "", false
	}
	return holder, true
}

// verify returns the delivery a token names when this replica minted it and it has not expired
// at now.
func (c *callbacks) verify(token string, now time.Time) (delivery, bool) {
	parts := strings.Split(token, ".")
	if len(token) > maxTokenLen || len(parts) != 5 || parts[0] != c.holder {
		return delivery{}, false
	}
	seq, err1 := strconv.ParseUint(parts[1], 10, 64)
	n, err2 := strconv.ParseUint(parts[2], 10, 64)
	exp, err3 := strconv.ParseInt(parts[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return delivery{}, false
	}
	d := delivery{seq: seq, n: n}
	if !hmac.Equal([]byte(parts[4]), []byte(c.mac(c.holder, d, exp))) || now.Unix() > exp {
		return delivery{}, false
	}
	return d, true
}

// add registers d as waiting for its callback; remove ends the wait.
func (c *callbacks) add(d delivery) *waiter {
	w := &waiter{calls: make(chan callback, waiterBacklog)}
	c.mu.Lock()
	c.waiting[d] = w
	c.mu.Unlock()
	return w
}

// remove ends d's wait and refuses the callbacks still queued for it: a second invocation's,
// or one for a delivery already settled.
func (c *callbacks) remove(d delivery, w *waiter) {
	c.mu.Lock()
	if c.waiting[d] == w {
		delete(c.waiting, d)
	}
	c.mu.Unlock()
	for {
		select {
		case cb := <-w.calls:
			cb.answer(relayRefused)
		default:
			return
		}
	}
}

// laterDelivery returns the wait of a later delivery of d's message, nil when there is none;
// c.mu is held.
func (c *callbacks) laterDelivery(d delivery) *waiter {
	for k, w := range c.waiting {
		if k.seq == d.seq && k.n > d.n {
			return w
		}
	}
	return nil
}

// relayed is a callback as one replica hands it to the holder of its message.
type relayed struct {
	Token        string `json:"token"`
	CallID       string `json:"call_id"`
	Status       int    `json:"status"`
	RetryAfterMS int64  `json:"retry_after_ms,omitempty"`
}

// serve takes a relayed callback: one for a delivery this replica waits on, under a token it
// minted and that has not expired, is handed to that wait, which answers it; any other is
// refused at once.
func (c *callbacks) serve(now func() time.Time) nats.MsgHandler {
	return func(msg *nats.Msg) {
		var rq relayed
		if err := json.Unmarshal(msg.Data, &rq); err != nil {
			_ = msg.Respond(relayRefused)
			return
		}
		d, ok := c.verify(rq.Token, now())
		if !ok {
			_ = msg.Respond(relayRefused)
			return
		}
		// Clamped again here: the relaying replica is another process, and a wait it computed
		// wrong must not become a negative or century-long delay.
		retryAfter := time.Duration(min(max(rq.RetryAfterMS, 0), sink.MaxRetryAfter.Milliseconds())) * time.Millisecond
		cb := callback{callID: rq.CallID, status: rq.Status, retryAfter: retryAfter,
			answer: func(reply []byte) { _ = msg.Respond(reply) }}
		c.mu.Lock()
		w := c.waiting[d]
		if w == nil {
			w, cb.earlier = c.laterDelivery(d), true
		}
		sent := false
		if w != nil {
			select {
			case w.calls <- cb:
				sent = true
			default:
			}
		}
		c.mu.Unlock()
		if !sent {
			_ = msg.Respond(relayRefused)
		}
	}
}

// CallbackHandler returns the handler of CallbackPath: it takes a gateway's callback, checks its
// shape and size, and relays it to the replica that holds its message, which settles the message
// when the token is its own, unexpired, for a delivery it still waits on, and the X-Call-Id is the
// one the gateway gave that delivery — and, for a success of a due fire, when the executors
// have recorded that fire. It answers 204 when the callback settled something, 409 for a
// success of a fire not recorded (the message keeps waiting: the real callback may still come),
// 403 for any other refusal (one answer for them all), 400 for a callback without a status or
// call id, 413 for one larger than 64 KiB, 503 when NATS could not be asked. Refusals are
// counted (vecron_forward_callback_refusals_total) and logged at most once a minute; the token
// is never logged.
func (f *Forwarder) CallbackHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			problem(w, http.StatusMethodNotAllowed, "method", "POST a callback")
			return
		}
		if _, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, maxCallbackBody)); err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				problem(w, http.StatusRequestEntityTooLarge, "body", "a callback carries at most 64 KiB")
				return
			}
			problem(w, http.StatusBadRequest, "body", "the callback's body could not be read")
			return
		}
		token := r.URL.Query().Get(tokenParam)
		status, err := strconv.Atoi(r.Header.Get(headerFunctionStatus))
		callID := r.Header.Get(headerCallID)
		switch {
		case err != nil || status < 100 || status > 599:
			problem(w, http.StatusBadRequest, headerFunctionStatus, "must be the function's HTTP status")
			return
		case callID == "" || len(callID) > maxCallIDLen:
			problem(w, http.StatusBadRequest, headerCallID, "must be the gateway's call id, at most 128 bytes")
			return
		}
		holder, ok := holderOf(token)
		if !ok || f.callbacks == nil {
			f.refusedCallback(r, callID, metric.RefusalNoToken)
			problem(w, http.StatusForbidden, tokenParam, "callback refused")
			return
		}
		body, _ := json.Marshal(relayed{Token: token, CallID: callID, Status: status,
			RetryAfterMS: sink.RetryAfter(status, r.Header).Milliseconds()})
		ctx, cancel := context.WithTimeout(r.Context(), relayTimeout)
		defer cancel()
		reply, err := f.js.Conn().RequestWithContext(ctx, f.names.ForwardCallbackSubject(holder), body)
		switch {
		case errors.Is(err, nats.ErrNoResponders):
			// The holder is gone: its message comes back after the ack wait.
			f.refusedCallback(r, callID, metric.RefusalHolderGone)
			problem(w, http.StatusForbidden, tokenParam, "callback refused")
		case err != nil:
			f.log.Warn("forward: relay a callback", "call_id", printable(callID), "error", err)
			problem(w, http.StatusServiceUnavailable, "", "the callback could not be relayed")
		case string(reply.Data) == string(relayTaken):
			w.WriteHeader(http.StatusNoContent)
		case string(reply.Data) == string(relayUnrecorded):
			f.refusedCallback(r, callID, metric.RefusalUnrecorded)
			problem(w, http.StatusConflict, headerFunctionStatus, "a success for a fire not recorded")
		default:
			f.refusedCallback(r, callID, metric.RefusalNotWaiting)
			problem(w, http.StatusForbidden, tokenParam, "callback refused")
		}
	})
}

// refusalLogEvery is the most often refused callbacks are logged: anyone who reaches the
// callback port can post them, and a log line each would let them flood the log.
const refusalLogEvery = time.Minute

// refusals counts refused callbacks and logs the first, then at most one per refusalLogEvery
// with the number refused since the last line.
type refusals struct {
	lograte.Limiter
	counter *metric.CounterVec
}

// refusedCallback counts a refused callback and logs it, without its token, unless another was
// logged within refusalLogEvery.
func (f *Forwarder) refusedCallback(r *http.Request, callID, reason string) {
	f.refusals.counter.Inc(reason)
	if n, ok := f.refusals.Allow(f.clock.Now(), refusalLogEvery); ok {
		f.log.Warn("forward: callback refused; logged at most once a minute, all counted in vecron_forward_callback_refusals_total",
			"reason", reason, "call_id", printable(callID), "remote_addr", r.RemoteAddr, "refused_since_last_line", n)
	}
}

func problem(w http.ResponseWriter, status int, field, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"title": http.StatusText(status), "status": status, "detail": detail, "field": field})
}
