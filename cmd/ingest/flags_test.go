package main

import (
	"bytes"
	"strings"
	"testing"
)

// The flags -> Config half of ingest: parsing, environment fallbacks and the refusals
// of Config.Validate (which ingest.Build and ingest.New run first, before any adapter;
// internal/ingest tests that nothing connects before it).

func noEnv(string) string { return "" }

// checkArgs parses args as run does and validates the config as ingest.Build does.
func checkArgs(args []string, getenv func(string) string) error {
	o, err := parseFlags(args, getenv, &bytes.Buffer{})
	if err != nil {
		return err
	}
	return o.cfg.Validate()
}

func TestFlagsEnvFallbacks(t *testing.T) {
	env := map[string]string{"FAULTLINE_INGEST_WRITERS": "3", "FAULTLINE_INGEST_SHARE_GROUP": "g",
		"FAULTLINE_INGEST_PPROF_ADDR": "127.0.0.1:6060", "FAULTLINE_HTTP_ADDR": "127.0.0.1:9999"}
	o, err := parseFlags([]string{"--mqtt-connections", "2", "--spool-max-mb", "64", "--topics", " a/#, ,b/+ "}, func(k string) string { return env[k] }, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	if c.Writers != 3 || c.ShareGroup != "g" || c.Connections != 2 || c.SpoolMaxBytes != 64<<20 || strings.Join(c.Filters, " ") != "a/# b/+" {
		t.Fatalf("cfg = %+v", c)
	}
	if o.pprofAddr != "127.0.0.1:6060" || o.com.HTTPAddr != "127.0.0.1:9999" {
		t.Fatalf("pprof %q, http %q: want both from the environment", o.pprofAddr, o.com.HTTPAddr)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d, err := parseFlags(nil, noEnv, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if d.com.HTTPAddr != "127.0.0.1:9101" || d.pprofAddr != "" || d.cfg.Influx.Timeout.Seconds() != 30 {
		t.Fatalf("defaults: http %q, pprof %q, influx timeout %v", d.com.HTTPAddr, d.pprofAddr, d.cfg.Influx.Timeout)
	}
	for _, bad := range [][]string{
		{"--mqtt-connections", "2"}, // without a share group
		{"--writers", "0"},
		{"--tag-template", "site/line"},
		{"--spool-max-mb", "0"},
		{"extra-arg"},
	} {
		if err := checkArgs(bad, noEnv); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// TestNumericFlagsBounded (issue 16.13): every numeric flag out of its range is refused
// before anything connects, with the allowed range in the message. Before, for example,
// --max-payload 0 was accepted and then every message was acknowledged and discarded.
func TestNumericFlagsBounded(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--max-payload", "0"}, "--max-payload 0 bytes: use 64..268435456"},
		{[]string{"--max-payload", "-5"}, "--max-payload -5 bytes: use 64.."},
		{[]string{"--max-payload", "1073741824"}, "--max-payload 1073741824 bytes: use 64.."},
		{[]string{"--batch-bytes", "100"}, "--batch-bytes 100: use 1024..16777216"},
		{[]string{"--batch-bytes", "1073741824"}, "--batch-bytes 1073741824: use 1024..16777216"},
		{[]string{"--max-pending-bytes", "-1"}, "--max-pending-bytes -1: use 1024.."},
		{[]string{"--max-pending-bytes", "4294967296"}, "--max-pending-bytes 4294967296: use 1024.."},
		{[]string{"--spool-max-mb", "-3"}, "--spool-max-mb -3: use 1..1048576"},
		{[]string{"--writers", "1000"}, "--writers 1000: use 1..64"},
		{[]string{"--max-machines", "-1"}, "--max-machines -1 (0 = unlimited): use 0..10000000"},
		{[]string{"--flush-interval", "0s"}, "--flush-interval 0s: use 1ms..1m0s"},
		{[]string{"--flush-interval", "2h"}, "--flush-interval 2h0m0s: use 1ms..1m0s"},
		{[]string{"--shutdown-timeout", "-1s"}, "--shutdown-timeout -1s: use 0s..1h0m0s"},
		{[]string{"--mqtt-connections", "0"}, "--mqtt-connections 0: use 1..64"},
	} {
		if err := checkArgs(tc.args, noEnv); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v = %v, want an error containing %q", tc.args, err, tc.want)
		}
	}
	for _, ok := range [][]string{{"--max-payload", "64"}, {"--batch-bytes", "16777216"}, {"--shutdown-timeout", "0s"}, {"--max-machines", "0"}} {
		if err := checkArgs(ok, noEnv); err != nil {
			t.Errorf("%v: %v (the bound itself is allowed)", ok, err)
		}
	}
}

func TestMalformedEnvRefused(t *testing.T) {
	if _, err := parseFlags(nil, func(k string) string { return map[string]string{"FAULTLINE_INGEST_WRITERS": "many"}[k] }, &bytes.Buffer{}); err == nil {
		t.Error("a malformed env value must be an error")
	}
}

func TestSparkplugFlags(t *testing.T) {
	o, err := parseFlags([]string{"--sparkplug", "--sparkplug-group", "plant1", "--sparkplug-map", "site=plant9,line=group,machine=device"}, noEnv, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if o.cfg.Sparkplug == nil || o.cfg.Sparkplug.Mapping.Site != "plant9" || o.cfg.SparkplugGroup != "plant1" {
		t.Fatalf("cfg %+v", o.cfg.Sparkplug)
	}
	for bad, args := range map[string][]string{
		"--mqtt-connections 1": {"--sparkplug", "--mqtt-connections", "2", "--share-group", "g"},
		"100ms..1h":            {"--sparkplug", "--sparkplug-rebirth-interval", "1ms"},
		"--sparkplug-map":      {"--sparkplug", "--sparkplug-map", "rack=group"},
		"--sparkplug-group":    {"--sparkplug", "--sparkplug-group", "a/b"},
	} {
		if err := checkArgs(args, noEnv); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%v = %v, want an error mentioning %q", args, err, bad)
		}
	}
}
