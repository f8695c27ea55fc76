// Package mqttclient is Faultline's one adapter over paho.mqtt.golang: TLS, credentials
// from env or files, auto-reconnect with a capped backoff, subscriptions made in the
// on-connect handler (so every reconnect resubscribes), QoS 1, optional persistent
// sessions with a fixed client id, and manual acknowledgement.
package mqttclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/rs/zerolog"
)

// Config of one MQTT connection. Secrets are never printed by String or in errors.
type Config struct {
	URL          string // tcp://host:1883, ssl://host:8883, ws://...
	ClientID     string // fixed id; required for a persistent session
	Username     string
	Password     string `json:"-"`
	CleanSession bool   // false = persistent session: the broker queues QoS 1 while we are away
	KeepAlive    time.Duration
	// MaxReconnectInterval caps the exponential reconnect backoff.
	MaxReconnectInterval time.Duration
	ConnectTimeout       time.Duration
	// ManualAck: handlers must call Message.Ack once the message is safe; the broker
	// redelivers unacknowledged QoS 1 messages after a reconnect.
	ManualAck bool
	// OrderMatters makes paho call handlers one at a time in arrival order. Handlers
	// that block then hold back the connection: that is the backpressure ingest wants.
	OrderMatters bool
	TLS          TLSConfig
	// Will is published by the broker when we vanish; Online is published (retained)
	// on every connect to the same topic.
	Will   *StatusMessage
	Online *StatusMessage
	// BatchIO buffers reads and coalesces writes on tcp:// and mqtt:// connections (see
	// batchconn.go): far fewer system calls for a high-rate consumer. A failed write
	// surfaces as a lost connection. Ignored for TLS and websockets.
	BatchIO bool
}

// TLSConfig for ssl:// and wss:// URLs.
type TLSConfig struct {
	CAFile             string
	CertFile           string
	KeyFile            string
	InsecureSkipVerify bool // testing only
	ServerName         string
}

// StatusMessage is a retained status payload (last will or online marker).
type StatusMessage struct {
	Topic   string
	Payload []byte
	// QoS is the last will's QoS. The online marker is always published at QoS 0,
	// whatever QoS says (see onConnect for why); it is retained and re-sent on every
	// connect.
	QoS byte
}

// DefaultConfig returns sane defaults for a service.
func DefaultConfig() Config {
	return Config{
		URL:                  "tcp://127.0.0.1:1883",
		CleanSession:         true,
		KeepAlive:            30 * time.Second,
		MaxReconnectInterval: 10 * time.Second,
		ConnectTimeout:       10 * time.Second,
		OrderMatters:         true,
	}
}

// Validate checks the configuration without connecting.
func (c Config) Validate() error {
	if c.URL == "" {
		return errors.New("mqtt: URL is empty (set --mqtt-url or FAULTLINE_MQTT_URL)")
	}
	scheme, _, ok := strings.Cut(c.URL, "://")
	if !ok {
		return fmt.Errorf("mqtt: URL %q has no scheme; use tcp://host:1883 or ssl://host:8883", c.URL)
	}
	switch scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "ws", "wss":
	default:
		return fmt.Errorf("mqtt: URL scheme %q not supported; use tcp, ssl, ws or wss", scheme)
	}
	if u, err := url.Parse(c.URL); err == nil && u.User != nil {
		return errors.New("mqtt: the URL carries credentials; they would end up in logs: give --mqtt-username and the password in FAULTLINE_MQTT_PASSWORD or --mqtt-password-file")
	}
	if !c.CleanSession && c.ClientID == "" {
		return errors.New("mqtt: a persistent session (clean session off) needs a fixed client id")
	}
	if len(c.ClientID) > 65535 {
		return errors.New("mqtt: client id too long")
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		return errors.New("mqtt: TLS client certificate and key must be given together")
	}
	return nil
}

// Message is a received message.
type Message interface {
	Topic() string
	Payload() []byte
	Duplicate() bool
	// Retained says the broker kept the message and sent it on subscribing: state,
	// not news.
	Retained() bool
	Ack()
}

// Handler is called for each message of a subscription.
type Handler func(Message)

type subscription struct {
	filter  string
	qos     byte
	handler Handler
}

// Client is a connection that resubscribes on every (re)connect.
type Client struct {
	cfg  Config
	log  zerolog.Logger
	c    paho.Client
	mu   sync.Mutex
	subs []subscription

	connects    atomic.Int64
	connLost    atomic.Int64
	unmatched   atomic.Int64
	onConnectFn func()

	lastErr          error
	failures         int
	lastLog          time.Time
	lastUnmatchedLog time.Time
}

// New builds a client; nothing is connected until Connect. Subscriptions added before
// Connect are made on the first connect and on every reconnect.
func New(cfg Config, log zerolog.Logger) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cl := &Client{cfg: cfg, log: log.With().Str("component", "mqtt").Logger()}
	opts := paho.NewClientOptions().AddBroker(cfg.URL)
	opts.SetClientID(cfg.ClientID)
	opts.SetUsername(cfg.Username)
	opts.SetPassword(cfg.Password)
	opts.SetCleanSession(cfg.CleanSession)
	opts.SetKeepAlive(orDefault(cfg.KeepAlive, 30*time.Second))
	opts.SetConnectTimeout(orDefault(cfg.ConnectTimeout, 10*time.Second))
	opts.SetAutoReconnect(true)
	opts.SetConnectRetry(true)
	opts.SetConnectRetryInterval(time.Second)
	opts.SetMaxReconnectInterval(orDefault(cfg.MaxReconnectInterval, 10*time.Second))
	opts.SetOrderMatters(cfg.OrderMatters)
	opts.SetAutoAckDisabled(cfg.ManualAck)
	// Paho resumes in-flight publishes after reconnect from its in-memory store.
	opts.SetResumeSubs(false) // we resubscribe ourselves in OnConnect
	opts.SetWriteTimeout(10 * time.Second)
	opts.SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { cl.unrouted(m) })
	if cfg.Will != nil {
		opts.SetBinaryWill(cfg.Will.Topic, cfg.Will.Payload, cfg.Will.QoS, true)
	}
	if strings.HasPrefix(cfg.URL, "ssl") || strings.HasPrefix(cfg.URL, "tls") || strings.HasPrefix(cfg.URL, "mqtts") || strings.HasPrefix(cfg.URL, "wss") || cfg.TLS.CAFile != "" {
		tc, err := cfg.TLS.build()
		if err != nil {
			return nil, err
		}
		opts.SetTLSConfig(tc)
	}
	if cfg.BatchIO && (strings.HasPrefix(cfg.URL, "tcp://") || strings.HasPrefix(cfg.URL, "mqtt://")) && cfg.TLS.CAFile == "" {
		opts.SetCustomOpenConnectionFn(dialBatched)
	}
	opts.SetOnConnectHandler(cl.onConnect)
	opts.SetConnectionLostHandler(func(_ paho.Client, err error) {
		cl.connLost.Add(1)
		cl.log.Warn().Err(err).Msg("connection lost; reconnecting")
	})
	opts.SetReconnectingHandler(func(_ paho.Client, _ *paho.ClientOptions) {
		cl.log.Debug().Msg("reconnecting")
	})
	opts.SetConnectionNotificationHandler(func(_ paho.Client, n paho.ConnectionNotification) {
		switch n := n.(type) {
		case paho.ConnectionNotificationFailed:
			cl.connectFailed(n.Reason)
		case paho.ConnectionNotificationBrokerFailed:
			cl.connectFailed(n.Reason)
		}
	})
	cl.c = paho.NewClient(opts)
	return cl, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func (t TLSConfig) build() (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: t.InsecureSkipVerify, ServerName: t.ServerName} //nolint:gosec // opt-in for tests
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt: read CA file %s: %w", t.CAFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt: CA file %s holds no PEM certificate", t.CAFile)
		}
		tc.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt: load client certificate %s: %w", t.CertFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// connectFailed logs a refused or failed connection attempt, at most every 30 s with
// the number of attempts in between: paho retries silently, and a wrong password or
// a missing ACL must not look like a hang.
func (cl *Client) connectFailed(err error) {
	if err == nil {
		return
	}
	cl.mu.Lock()
	cl.lastErr = err
	cl.failures++
	now := time.Now()
	if now.Sub(cl.lastLog) < 30*time.Second {
		cl.mu.Unlock()
		return
	}
	n := cl.failures
	cl.failures, cl.lastLog = 0, now
	cl.mu.Unlock()
	cl.log.Error().Err(err).Int("attempts", n).Str("url", cl.cfg.URL).
		Msg("cannot connect to the broker; retrying (check the URL, credentials and TLS settings)")
}

// LastError is the reason of the latest failed connection attempt, nil if none.
func (cl *Client) LastError() error {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return cl.lastErr
}

// OnConnect registers fn to run after every successful (re)connect and resubscribe.
// Call before Connect.
func (cl *Client) OnConnect(fn func()) { cl.onConnectFn = fn }

func (cl *Client) onConnect(c paho.Client) {
	n := cl.connects.Add(1)
	cl.log.Info().Int64("connects", n).Str("url", cl.cfg.URL).Msg("connected")
	cl.mu.Lock()
	subs := append([]subscription(nil), cl.subs...)
	cl.mu.Unlock()
	for _, s := range subs {
		cl.subscribeNow(c, s)
	}
	if o := cl.cfg.Online; o != nil {
		// QoS 0 on purpose: with a persistent session paho re-sends its stored QoS 1
		// publishes right after connecting and flips their DUP flag while the writer
		// may be sending them; a QoS 1 publish from this handler lands in that store
		// and races (seen under -race). The marker is retained and re-sent on every
		// connect, so QoS 0 loses nothing that matters. Not waited for: the connect
		// handler must return for the client to run.
		c.Publish(o.Topic, 0, true, o.Payload)
	}
	if cl.onConnectFn != nil {
		cl.onConnectFn()
	}
}

func (cl *Client) subscribeNow(c paho.Client, s subscription) {
	tok := c.Subscribe(s.filter, s.qos, func(_ paho.Client, m paho.Message) { s.handler(m) })
	go func() {
		if !tok.WaitTimeout(30 * time.Second) {
			cl.log.Error().Str("filter", s.filter).Msg("subscribe timed out")
			return
		}
		if err := tok.Error(); err != nil {
			cl.log.Error().Err(err).Str("filter", s.filter).Msg("subscribe failed")
			return
		}
		if st, ok := tok.(*paho.SubscribeToken); ok {
			for f, code := range st.Result() {
				if code >= 0x80 {
					cl.log.Error().Str("filter", f).Msg("broker refused subscription (check ACLs)")
				}
			}
		}
		cl.log.Debug().Str("filter", s.filter).Uint8("qos", s.qos).Msg("subscribed")
	}()
}

// unrouted takes a message paho found no route for. A broker delivers a persistent
// session's queued messages right after CONNACK, possibly before the resubscribe in
// onConnect has registered its route. paho leaves a message it cannot route
// unacknowledged, and once the broker's in-flight window (Mosquitto's
// max_inflight_messages) is full of them it sends this client nothing more until the
// next reconnect: a daemon that is connected but hears nothing. So such messages go to
// the handlers of our own subscriptions that match. A message matching none (a
// subscription a persistent session kept from an earlier configuration) is
// acknowledged (paho does that for auto-ack), counted and dropped.
func (cl *Client) unrouted(m paho.Message) {
	cl.mu.Lock()
	var hs []Handler
	for _, s := range cl.subs {
		if FilterMatches(s.filter, m.Topic()) {
			hs = append(hs, s.handler)
		}
	}
	cl.mu.Unlock()
	for _, h := range hs {
		h(m)
	}
	if len(hs) == 0 {
		n := cl.unmatched.Add(1)
		if cl.cfg.ManualAck {
			m.Ack()
		}
		cl.mu.Lock()
		now := time.Now()
		logIt := now.Sub(cl.lastUnmatchedLog) >= 30*time.Second
		if logIt {
			cl.lastUnmatchedLog = now
		}
		cl.mu.Unlock()
		if logIt {
			cl.log.Warn().Str("topic", m.Topic()).Int64("total", n).
				Msg("message matches none of our subscriptions (left in a persistent session by an earlier configuration?); dropped")
		}
	}
}

// Unmatched counts messages that matched no subscription and were dropped.
func (cl *Client) Unmatched() int64 { return cl.unmatched.Load() }

// FilterMatches reports whether topic matches the MQTT subscription filter (with +
// and # wildcards; a shared subscription's $share/group/ or $queue/ prefix is ignored,
// as paho's router does).
func FilterMatches(filter, topic string) bool {
	if rest, ok := strings.CutPrefix(filter, "$share/"); ok {
		_, filter, _ = strings.Cut(rest, "/")
	}
	filter = strings.TrimPrefix(filter, "$queue/")
	// A filter starting with a wildcard never matches a $SYS-style topic.
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false
	}
	for {
		f, fRest, fMore := strings.Cut(filter, "/")
		if f == "#" {
			return true
		}
		t, tRest, tMore := strings.Cut(topic, "/")
		if f != "+" && f != t {
			return false
		}
		if !fMore || !tMore {
			// "a/#" also matches "a": the # stands for the parent level too.
			return fMore == tMore || fMore && fRest == "#"
		}
		filter, topic = fRest, tRest
	}
}

// Subscribe adds a subscription. Before Connect it is only recorded; when connected it is
// also made now. Either way every reconnect makes it again.
func (cl *Client) Subscribe(filter string, qos byte, h Handler) {
	s := subscription{filter: filter, qos: qos, handler: h}
	cl.mu.Lock()
	cl.subs = append(cl.subs, s)
	cl.mu.Unlock()
	if cl.c.IsConnectionOpen() {
		cl.subscribeNow(cl.c, s)
	}
}

// Connect starts connecting and waits until the first connection is up or ctx ends.
// The client keeps retrying in the background after a failed first attempt, so a
// caller may also choose to carry on and let it connect later.
func (cl *Client) Connect(ctx context.Context) error {
	tok := cl.c.Connect()
	for {
		// The token, not IsConnectionOpen: paho reports the connection open before it
		// has resumed the session's stored messages (CleanSession false), and a
		// publish made meanwhile races with the resume (it marks stored packets as
		// duplicates while they are being written; paho.mqtt.golang issue 703, seen
		// under -race in TestKillNineLosesNothingIntegration). With ConnectRetry the
		// token completes once the first connection is up and resumed.
		if tok.WaitTimeout(50 * time.Millisecond) {
			if err := tok.Error(); err != nil {
				return fmt.Errorf("mqtt: connect to %s: %w", cl.cfg.URL, err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("mqtt: connect to %s: %w (is the broker running and reachable?)", cl.cfg.URL, ctx.Err())
		default:
		}
	}
}

// Publish sends one message and, for QoS > 0, waits for the broker's acknowledgement or ctx.
func (cl *Client) Publish(ctx context.Context, topic string, qos byte, retained bool, payload []byte) error {
	tok := cl.c.Publish(topic, qos, retained, payload)
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("mqtt: publish %s: %w", topic, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("mqtt: publish %s: %w", topic, ctx.Err())
	}
}

// PublishAsync sends without waiting; the returned channel closes when the broker has
// acknowledged (QoS > 0) or the message was written (QoS 0), and err reports failure.
func (cl *Client) PublishAsync(topic string, qos byte, retained bool, payload []byte) (done <-chan struct{}, err func() error) {
	tok := cl.c.Publish(topic, qos, retained, payload)
	return tok.Done(), tok.Error
}

// Connected reports whether the connection is up now.
func (cl *Client) Connected() bool { return cl.c.IsConnectionOpen() }

// Connects counts successful connects (1 + reconnects).
func (cl *Client) Connects() int64 { return cl.connects.Load() }

// Disconnect publishes nothing further and closes the connection, waiting up to quiesce
// for in-flight work. A graceful disconnect does not trigger the last will, so a
// service with a status topic should publish "offline" before calling it.
func (cl *Client) Disconnect(quiesce time.Duration) {
	cl.c.Disconnect(uint(quiesce.Milliseconds()))
}
