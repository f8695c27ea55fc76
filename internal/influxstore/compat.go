package influxstore

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// This file is the only place that knows InfluxDB 1.8 from 2.x/3.x. 1.8's
// v2-compatible API takes writes to bucket "db" or "db/rp" and Flux reads from "db/rp",
// authenticates with a "user:password" token, and has no buckets API: databases are made
// with CREATE DATABASE on /query.

type flavor int

const (
	flavorUnknown flavor = iota
	flavorV1
	flavorV2
)

func (s *Store) bucketName() string { return s.cfg.Bucket }

// fluxBucket is the bucket name Flux's from() needs on this server.
func (s *Store) fluxBucket(ctx context.Context) (string, error) {
	f, err := s.detect(ctx)
	if err != nil {
		return "", err
	}
	if f == flavorV1 && !strings.Contains(s.cfg.Bucket, "/") {
		return s.cfg.Bucket + "/autogen", nil
	}
	return s.cfg.Bucket, nil
}

// Version returns the server's version string, detecting it on first use.
func (s *Store) Version(ctx context.Context) (string, error) {
	if _, err := s.detect(ctx); err != nil {
		return "", err
	}
	return s.version, nil
}

func (s *Store) detect(ctx context.Context) (flavor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flavor != flavorUnknown {
		return s.flavor, nil
	}
	// Not cached on failure: the server may just not be up yet.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(s.cfg.URL, "/")+"/health", nil)
	if err != nil {
		return flavorUnknown, err
	}
	resp, err := s.httpc.Do(req)
	if err != nil {
		return flavorUnknown, fmt.Errorf("influx %s: detect version: %w (is InfluxDB running?)", s.cfg.URL, err)
	}
	defer resp.Body.Close()
	var h struct {
		Version string `json:"version"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&h)
	if h.Version == "" {
		h.Version = resp.Header.Get("X-Influxdb-Version")
	}
	s.version = h.Version
	v := strings.TrimPrefix(h.Version, "v")
	switch {
	case strings.HasPrefix(v, "1."):
		s.flavor = flavorV1
	case strings.HasPrefix(v, "2.") || strings.HasPrefix(v, "3."):
		s.flavor = flavorV2
	default:
		// Builds without version stamping (go install) answer "unknown": 1.x has no
		// buckets API, so a 404 there means 1.x.
		s.flavor = flavorV2
		if s.probeNotFound(ctx, "/api/v2/buckets?limit=1") {
			s.flavor = flavorV1
			s.version = "1.x (" + h.Version + ")"
		}
	}
	return s.flavor, nil
}

func (s *Store) probeNotFound(ctx context.Context, path string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(s.cfg.URL, "/")+path, nil)
	if err != nil {
		return false
	}
	resp, err := s.httpc.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusNotFound
}

// EnsureBucket creates the bucket (2.x) or database (1.8) when it does not exist.
func (s *Store) EnsureBucket(ctx context.Context) error {
	f, err := s.detect(ctx)
	if err != nil {
		return err
	}
	if f == flavorV1 {
		db, _, _ := strings.Cut(s.cfg.Bucket, "/")
		return s.influxQL(ctx, fmt.Sprintf("CREATE DATABASE %q", db))
	}
	b, err := s.client.BucketsAPI().FindBucketByName(ctx, s.cfg.Bucket)
	if err == nil && b != nil {
		return nil
	}
	org, err := s.client.OrganizationsAPI().FindOrganizationByName(ctx, s.cfg.Org)
	if err != nil {
		return fmt.Errorf("influx: find organization %q: %w (check --influx-org and the token's permissions)", s.cfg.Org, err)
	}
	if _, err := s.client.BucketsAPI().CreateBucketWithName(ctx, org, s.cfg.Bucket); err != nil {
		return fmt.Errorf("influx: create bucket %q: %w", s.cfg.Bucket, err)
	}
	return nil
}

// influxQL runs a statement on 1.8's /query with the token's user:password.
func (s *Store) influxQL(ctx context.Context, q string) error {
	form := url.Values{"q": {q}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(s.cfg.URL, "/")+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user, pass, ok := strings.Cut(s.cfg.Token, ":"); ok {
		req.SetBasicAuth(user, pass)
	}
	resp, err := s.httpc.Do(req)
	if err != nil {
		return fmt.Errorf("influx %s: %w", q, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<14))
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return fmt.Errorf("influx %s: HTTP %d: not authorized (give the token as user:password in FAULTLINE_INFLUX_TOKEN or --influx-token-file)", q, resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK || strings.Contains(string(body), `"error"`) {
		return fmt.Errorf("influx %s: HTTP %d: %s", q, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}
