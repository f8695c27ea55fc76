package servers

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// InfluxOptions change how influxd runs.
type InfluxOptions struct {
	// Auth enables authentication; AdminUser/AdminPassword are created on start.
	Auth          bool
	AdminUser     string
	AdminPassword string
	Port          int
	// MaxBodySize is the largest write body in bytes (HTTP 413 above it); 0 = no limit.
	MaxBodySize int
	// TLSCertFile and TLSKeyFile, when set, make influxd serve https with them; the
	// harness's own readiness and query requests then skip verification (the clients
	// under test do not).
	TLSCertFile, TLSKeyFile string
}

// Influx is a real InfluxDB 1.8 process (the pinned influxd) serving the v2 API with
// Flux enabled. Its data survives Stop/Start, so tests can take it down mid-stream.
type Influx struct {
	URL  string // http://127.0.0.1:port (https:// with InfluxOptions.TLSCertFile)
	Port int
	Dir  string
	opts InfluxOptions
	p    *Process
	hc   *http.Client
}

// InfluxdBinary finds influxd: $FAULTLINE_INFLUXD, <module>/bin/influxd, PATH.
func InfluxdBinary() (string, error) {
	root := ModuleRoot()
	c := ""
	if root != "" {
		c = filepath.Join(root, "bin", "influxd")
	}
	return findBinary("FAULTLINE_INFLUXD", c, "influxd")
}

// StartInflux starts influxd with its meta/data/wal dirs under dir.
func StartInflux(ctx context.Context, dir string, o InfluxOptions) (*Influx, error) {
	bin, err := InfluxdBinary()
	if err != nil {
		return nil, err
	}
	port := o.Port
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	rpc, err := FreePort()
	if err != nil {
		return nil, err
	}
	env := []string{
		"INFLUXDB_HTTP_BIND_ADDRESS=127.0.0.1:" + itoa(port),
		"INFLUXDB_BIND_ADDRESS=127.0.0.1:" + itoa(rpc),
		"INFLUXDB_META_DIR=" + filepath.Join(dir, "meta"),
		"INFLUXDB_DATA_DIR=" + filepath.Join(dir, "data"),
		"INFLUXDB_DATA_WAL_DIR=" + filepath.Join(dir, "wal"),
		"INFLUXDB_HTTP_FLUX_ENABLED=true",
		"INFLUXDB_REPORTING_DISABLED=true",
		"INFLUXDB_HTTP_LOG_ENABLED=false",
		"INFLUXDB_DATA_QUERY_LOG_ENABLED=false",
		"INFLUXDB_LOGGING_LEVEL=warn",
		"INFLUXDB_HTTP_MAX_BODY_SIZE=" + itoa(o.MaxBodySize),
		fmt.Sprintf("INFLUXDB_HTTP_AUTH_ENABLED=%t", o.Auth),
	}
	scheme, hc := "http", http.DefaultClient
	if o.TLSCertFile != "" {
		env = append(env, "INFLUXDB_HTTP_HTTPS_ENABLED=true", "INFLUXDB_HTTP_HTTPS_CERTIFICATE="+o.TLSCertFile, "INFLUXDB_HTTP_HTTPS_PRIVATE_KEY="+o.TLSKeyFile)
		scheme = "https"
		hc = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the harness's own probe
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("influxd dir: %w", err)
	}
	in := &Influx{URL: fmt.Sprintf("%s://127.0.0.1:%d", scheme, port), Port: port, Dir: dir, opts: o, hc: hc,
		p: &Process{Name: "influxd", Path: bin, Args: []string{"run"}, Env: append(os.Environ(), env...), LogPath: filepath.Join(dir, "influxd.log")}}
	if err := in.Start(ctx); err != nil {
		return nil, err
	}
	if o.Auth {
		q := fmt.Sprintf("CREATE USER %q WITH PASSWORD '%s' WITH ALL PRIVILEGES", o.AdminUser, o.AdminPassword)
		if err := in.Query(ctx, q, "", ""); err != nil {
			in.Stop()
			return nil, err
		}
	}
	return in, nil
}

// Start (re)starts influxd and waits until /ping answers.
func (in *Influx) Start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := in.p.Start(); err != nil {
		return err
	}
	if err := waitTCP(ctx, in.p, fmt.Sprintf("127.0.0.1:%d", in.Port)); err != nil {
		in.p.Signal(syscall.SIGKILL, time.Second)
		return err
	}
	for {
		resp, err := in.hc.Get(in.URL + "/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("influxd /ping not ready: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop stops influxd gracefully.
func (in *Influx) Stop() { in.p.Stop(10 * time.Second) }

// PID of the running influxd, 0 when stopped.
func (in *Influx) PID() int { return in.p.PID() }

// Log returns influxd's log so far.
func (in *Influx) Log() string { return in.p.Log() }

// CreateDatabase runs CREATE DATABASE on the 1.x /query endpoint.
func (in *Influx) CreateDatabase(ctx context.Context, db string) error {
	return in.Query(ctx, fmt.Sprintf("CREATE DATABASE %q", db), in.opts.AdminUser, in.opts.AdminPassword)
}

// Query runs an InfluxQL statement on /query (POST) and fails on any error in the response.
func (in *Influx) Query(ctx context.Context, q, user, pass string) error {
	form := url.Values{"q": {q}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.URL+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := in.hc.Do(req)
	if err != nil {
		return fmt.Errorf("influxql %q: %w", q, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK || strings.Contains(string(body), `"error"`) {
		return fmt.Errorf("influxql %q: HTTP %d: %s", q, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}
