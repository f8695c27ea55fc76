// Package influxstore is Faultline's one adapter over influxdb-client-go/v2. Everything
// speaks the InfluxDB v2 API (line-protocol writes, Flux reads); the few places where
// InfluxDB 1.8's v2-compatible API differs from 2.x (database creation, bucket naming,
// token form, version detection) live in compat.go and nowhere else.
package influxstore

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	ihttp "github.com/influxdata/influxdb-client-go/v2/api/http"
)

// Config of a store. The token is a secret: never print it.
type Config struct {
	URL    string
	Token  string `json:"-"` // 2.x API token, or "user:password" on 1.8, or "" without auth
	Org    string // ignored by 1.8
	Bucket string // 2.x bucket; on 1.8 "db" or "db/retention" ("factory" means factory/autogen)
	Gzip   bool
	// Timeout bounds each HTTP request.
	Timeout time.Duration
	// CAFile is a PEM bundle of the CAs that may sign an https server's certificate
	// (a private CA in a cluster); empty means the system's roots.
	CAFile             string
	InsecureSkipVerify bool
	// QueryLanguage of history reads: QueryFlux, QueryInfluxQL, or QueryAuto ("":
	// InfluxQL on InfluxDB 3, which has no Flux; Flux on 1.8 and 2.x). See influxql.go.
	QueryLanguage string
}

// DefaultConfig returns the defaults of the common flags.
func DefaultConfig() Config {
	return Config{URL: "http://127.0.0.1:8086", Org: "faultline", Bucket: "factory", Timeout: 10 * time.Second}
}

// Validate checks the configuration without connecting.
func (c Config) Validate() error {
	if c.URL == "" {
		return errors.New("influx: URL is empty (set --influx-url or FAULTLINE_INFLUX_URL)")
	}
	if !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://") {
		return fmt.Errorf("influx: URL %q must start with http:// or https://", c.URL)
	}
	if c.Bucket == "" {
		return errors.New("influx: bucket is empty (set --influx-bucket)")
	}
	if err := validQueryLanguage(c.QueryLanguage); err != nil {
		return err
	}
	if u, err := url.Parse(c.URL); err == nil && u.User != nil {
		return errors.New("influx: the URL carries credentials; they would end up in logs: give the token in FAULTLINE_INFLUX_TOKEN or --influx-token-file")
	}
	return nil
}

// Store writes and reads Faultline's time series.
type Store struct {
	cfg    Config
	client influxdb2.Client
	// writeURL is /api/v2/write with org, bucket and precision=ns.
	writeURL string
	query    api.QueryAPI

	httpc   *http.Client
	mu      sync.Mutex
	flavor  flavor
	version string
}

// New creates a store; no request is made until first use.
func New(cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // opt-in
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("influx: read CA file: %w (set --influx-ca-file to a readable PEM bundle)", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("influx: CA file %s holds no PEM certificate", cfg.CAFile)
		}
	}
	httpc := &http.Client{Timeout: timeout, Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
		TLSClientConfig:     tc,
	}}
	opts := influxdb2.DefaultOptions().
		SetUseGZip(cfg.Gzip).
		SetHTTPRequestTimeout(uint(timeout / time.Second)).
		SetPrecision(time.Nanosecond).
		SetHTTPClient(httpc)
	c := influxdb2.NewClientWithOptions(cfg.URL, cfg.Token, opts)
	s := &Store{cfg: cfg, client: c, httpc: httpc}
	s.writeURL = writeURL(c.HTTPService().ServerAPIURL(), cfg.Org, s.bucketName())
	s.query = c.QueryAPI(cfg.Org)
	return s, nil
}

// Close releases idle connections.
func (s *Store) Close() { s.client.Close() }

// Bucket returns the bucket name as the server expects it (db/rp on 1.8).
func (s *Store) Bucket() string { return s.bucketName() }

// WriteError classifies a failed write so callers can decide: retry later (server down,
// overloaded, throttled) or give up on the batch (it will never be accepted).
type WriteError struct {
	Status     int           // HTTP status, 0 for network errors
	Retryable  bool          // try again later; the data is fine
	RetryAfter time.Duration // server's hint, if any
	// Dropped is the number of points a partial write refused (1.8's "partial write:
	// ... dropped=N"; the server kept the others), or -1 when not a partial write.
	Dropped int
	Err     error
}

func (e *WriteError) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("influx write: %v", e.Err)
	}
	return fmt.Sprintf("influx write: HTTP %d: %v", e.Status, e.Err)
}

func (e *WriteError) Unwrap() error { return e.Err }

// IsRetryable reports whether err is a write failure worth retrying.
func IsRetryable(err error) bool {
	var we *WriteError
	if errors.As(err, &we) {
		return we.Retryable
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// WriteLines writes newline-separated line protocol (nanosecond timestamps). When it
// returns an error, the transport may still read lines for a moment: do not overwrite
// them (retrying with the same bytes is fine). The body
// goes to the server as it is, without the copy into a string that the client's write
// API makes: at hundreds of thousands of values a second those copies were most of
// ingest's garbage (docs/ingest.md). Requests still go through the client's HTTP
// service, so authorization, TLS, the user agent and error decoding are the client's.
func (s *Store) WriteLines(ctx context.Context, lines []byte) error {
	if len(lines) == 0 {
		return nil
	}
	var body io.Reader = bytes.NewReader(lines)
	var gz *gzipBuf
	if s.cfg.Gzip {
		var err error
		if gz, err = compress(lines); err != nil {
			return &WriteError{Err: fmt.Errorf("gzip the batch: %w", err)}
		}
		body = bytes.NewReader(gz.buf.Bytes())
	}
	perr := s.client.HTTPService().DoPostRequest(ctx, s.writeURL, body, func(req *http.Request) {
		req.Header.Set("Content-Type", "text/plain; charset=utf-8")
		if gz != nil {
			req.Header.Set("Content-Encoding", "gzip")
		}
	}, func(resp *http.Response) error {
		_, _ = io.Copy(io.Discard, resp.Body) // keep the connection reusable
		return resp.Body.Close()
	})
	if perr == nil { // a typed nil *Error must not become a non-nil error
		if gz != nil {
			gzipPool.Put(gz)
		}
		return nil
	}
	// After a failure the transport may still be reading the body (an early error
	// answer, a timeout): the gzip buffer is left to the garbage collector rather than
	// reused, and callers must not overwrite lines either (see ingest's shipper).
	return classify(perr)
}

// gzipBuf is a reusable gzip writer with its output buffer.
type gzipBuf struct {
	w   *gzip.Writer
	buf bytes.Buffer
}

var gzipPool = sync.Pool{New: func() any {
	g := &gzipBuf{}
	g.w, _ = gzip.NewWriterLevel(&g.buf, gzip.BestSpeed)
	return g
}}

func compress(b []byte) (*gzipBuf, error) {
	g := gzipPool.Get().(*gzipBuf)
	g.buf.Reset()
	g.w.Reset(&g.buf)
	if _, err := g.w.Write(b); err != nil {
		gzipPool.Put(g)
		return nil, err
	}
	if err := g.w.Close(); err != nil {
		gzipPool.Put(g)
		return nil, err
	}
	return g, nil
}

func classify(err error) error {
	var he *ihttp.Error
	if errors.As(err, &he) {
		st := he.StatusCode
		// 408: the server gave up waiting for the body (a slow link, a proxy): the data
		// is fine, send it again.
		retry := st == 0 || st == http.StatusRequestTimeout || st == http.StatusTooManyRequests || st >= 500
		// 1.8 answers 404 "database not found" until CREATE DATABASE ran, and a rotated,
		// expired or under-privileged token gives 401/403: an operator can fix each
		// without losing data, so keep the points (callers hold them durably and retry).
		if st == http.StatusNotFound || st == http.StatusUnauthorized || st == http.StatusForbidden {
			retry = true
		}
		return &WriteError{Status: st, Retryable: retry, RetryAfter: time.Duration(he.RetryAfter) * time.Second, Dropped: partialDropped(st, he.Error()), Err: err}
	}
	// Network errors, timeouts, refused connections: the server is away.
	return &WriteError{Retryable: true, Dropped: -1, Err: err}
}

// partialDropped reads N from a partial write's "dropped=N", or -1.
func partialDropped(status int, msg string) int {
	if status != http.StatusBadRequest || !strings.Contains(msg, "partial write") {
		return -1
	}
	i := strings.LastIndex(msg, "dropped=")
	if i < 0 {
		return -1
	}
	rest := msg[i+len("dropped="):]
	end := 0
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(rest[:end])
	if err != nil {
		return -1
	}
	return n
}

// Ping checks that the server answers; used by readiness probes.
func (s *Store) Ping(ctx context.Context) error {
	ok, err := s.client.Ping(ctx)
	if err != nil {
		return fmt.Errorf("influx ping %s: %w", s.cfg.URL, err)
	}
	if !ok {
		return fmt.Errorf("influx ping %s: not ready", s.cfg.URL)
	}
	return nil
}

// Query runs a Flux query and calls fn for each record. Errors say which query failed.
func (s *Store) Query(ctx context.Context, flux string, fn func(rec Record) error) error {
	res, err := s.query.Query(ctx, flux)
	if err != nil {
		return fmt.Errorf("flux query: %w", err)
	}
	defer res.Close()
	for res.Next() {
		if err := fn(Record{values: res.Record().Values()}); err != nil {
			return err
		}
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("flux query: %w", err)
	}
	return nil
}

// Record is one row of a Flux result.
type Record struct{ values map[string]any }

// Value returns a column's value.
func (r Record) Value(col string) any { return r.values[col] }

// Values returns all columns.
func (r Record) Values() map[string]any { return r.values }

// Time returns the _time column.
func (r Record) Time() time.Time {
	t, _ := r.values["_time"].(time.Time)
	return t
}

// String returns a string column or "".
func (r Record) String(col string) string {
	s, _ := r.values[col].(string)
	return s
}

// Float returns a numeric column as float64.
func (r Record) Float(col string) (float64, bool) {
	switch v := r.values[col].(type) {
	case float64:
		return v, true
	case int64:
		return float64(v), true
	case uint64:
		return float64(v), true
	}
	return 0, false
}

// writeURL is the v2 write endpoint (apiURL is the client's ".../api/v2/") for org and
// bucket, at nanosecond precision (what AppendLine writes).
func writeURL(apiURL, org, bucket string) string {
	u, err := url.Parse(apiURL + "write")
	if err != nil {
		// New validated the URL already; an unparsable one fails at the first request.
		return apiURL + "write"
	}
	q := url.Values{}
	q.Set("org", org)
	q.Set("bucket", bucket)
	q.Set("precision", "ns")
	u.RawQuery = q.Encode()
	return u.String()
}
