package docs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// check says how one documented command is run and what it must produce.
type check struct {
	// needs names datasets under ../shared/datasets the command reads; without them
	// the command is skipped, by name, with that reason.
	needs []string
	// rewrite replaces old with new in the command, for why; only to keep a run short
	// or inside the test's temp dir, never to change what is tested.
	rewrite []string
	why     string
	// built: the command is `make build`, which TestMain runs.
	built bool
	// before prepares what the command reads (the doc's reader brings those files).
	before func(t *testing.T, w *workspace)
	// daemon: a long-running command; running waits for its promised effect, then it
	// gets SIGINT and must exit 0; afterwards (if set) checks what it left.
	daemon  bool
	running func(t *testing.T, w *workspace, p *proc)
	// limit bounds a command that runs to completion (default 2 minutes).
	limit time.Duration
	// after checks the outcome once the command exited 0.
	after func(t *testing.T, w *workspace, p *proc)
}

// checks, by the command's exact text: a changed command in the docs needs its check
// updated, so what the docs show and what is tested cannot drift apart.
var checks = map[string]check{
	// README.md, "Using the programs".
	"make build": {built: true},
	"bin/simulate --machines 30 --rate 1 --speed 60 --truth-out truth.jsonl": {
		daemon: true,
		running: func(t *testing.T, w *workspace, p *proc) {
			tel := w.watch("factory/+/+/+/telemetry")
			waitUntil(t, p, "telemetry of pump-0001 on the broker and truth in truth.jsonl", time.Minute, func() bool {
				return tel.any("/pump-0001/telemetry") && fileHas(filepath.Join(w.dir, "truth.jsonl"), 1)
			})
		},
		after: statusOffline("simulate", ""),
	},
	"bin/ingest --spool-dir /var/lib/faultline/spool": {
		rewrite: []string{"/var/lib/faultline/spool", "var/lib/faultline/spool"},
		why:     "the test writes nothing outside its temp dir",
		daemon:  true,
		running: func(t *testing.T, w *workspace, p *proc) {
			st := w.watch("factory/_status/ingest/+")
			waitUntil(t, p, "/readyz 200 and a retained online status", time.Minute, func() bool {
				return httpOK("http://"+p.httpAddr+"/readyz") && st.anyPayload("online")
			})
			if !fileHas(filepath.Join(w.dir, "var/lib/faultline/spool"), 0) {
				t.Error("the spool directory was not created")
			}
		},
		after: statusOffline("ingest", ""),
	},
	"bin/train --source influx --all --group-by type --start -72h --out-dir models --report reports": {
		before: seedInflux,
		limit:  4 * time.Minute,
		after: func(t *testing.T, w *workspace, _ *proc) {
			for _, typ := range []string{"pump", "motor", "compressor"} {
				wantFiles(t, w, "models/"+typ+".model", "reports/"+typ+"/metrics.json")
			}
		},
	},
	"bin/train --csv history.csv --time-column ts --out pump.model --report report/": {
		before: historyCSV,
		after: func(t *testing.T, w *workspace, _ *proc) {
			wantFiles(t, w, "pump.model", "report/metrics.json")
		},
	},
	"bin/train --task rul --cmapss --csv ../shared/datasets/cmapss/train_FD001.txt --out fd001.model": {
		needs: []string{"cmapss"},
		after: func(t *testing.T, w *workspace, _ *proc) { wantFiles(t, w, "fd001.model") },
	},
	"bin/infer run --route 'pump-*=models/pump.model' --route 'motor-*=models/motor.model'": {
		daemon: true,
		running: func(t *testing.T, w *workspace, p *proc) {
			st := w.watch("factory/_status/infer/+")
			waitUntil(t, p, "/readyz 200 and a retained online status", time.Minute, func() bool {
				return httpOK("http://"+p.httpAddr+"/readyz") && st.last("factory/_status/infer/edge-1") == "online"
			})
			// "scores each window": half an hour of the plant's telemetry at 1 Hz.
			start := time.Now().Add(-30 * time.Minute).UTC().Format(time.RFC3339)
			sim, err := w.run("bin/simulate --machines 3 --speed 0 --duration 30m --fault-rate 0 --seed 9 --start "+start+" --http-addr ''", nil, time.Minute)
			if err != nil {
				t.Fatalf("simulate: %v\n%s", err, sim.output())
			}
			waitUntil(t, p, "scored windows in /metrics", time.Minute, func() bool {
				return metric("http://"+p.httpAddr+"/metrics", "infer_windows_total") > 0
			})
		},
		after: statusOffline("infer", "edge-1"),
	},
	"bin/infer score --model pump.model --csv history.csv --out scores.csv": {
		after: func(t *testing.T, w *workspace, p *proc) {
			in, out := lines(t, w, "history.csv"), lines(t, w, "scores.csv")
			if len(out) != len(in) || !strings.HasPrefix(out[0], "ts,score,threshold,alert,cause") {
				t.Errorf("scores.csv: %d lines (history.csv %d), header %q", len(out), len(in), out[0])
			}
			if !strings.Contains(p.stderr.String(), "scored ") {
				t.Errorf("no summary on stderr: %s", p.output())
			}
		},
	},
	// docs/infer.md, "Maintenance log": README's pump.model scores its history.csv with
	// one piece of work in the middle, written as the doc's example log is.
	"bin/infer score --model pump.model --csv history.csv --maintenance work-orders.csv --out scores-maintained.csv": {
		before: func(t *testing.T, w *workspace) {
			historyCSV(t, w)
			in := lines(t, w, "history.csv")
			ts, _, _ := strings.Cut(in[len(in)/2], ",")
			at, err := time.Parse(time.RFC3339, ts)
			must(t, err)
			log := "done_at,work_order,action\n" + at.Format("2006-01-02 15:04") + ",WO-17,bearing replaced\n"
			must(t, os.WriteFile(filepath.Join(w.dir, "work-orders.csv"), []byte(log), 0o644))
		},
		after: func(t *testing.T, w *workspace, p *proc) {
			in, out := lines(t, w, "history.csv"), lines(t, w, "scores-maintained.csv")
			if len(out) != len(in) {
				t.Fatalf("scores-maintained.csv: %d lines, history.csv %d", len(out), len(in))
			}
			if !strings.Contains(p.stderr.String(), "maintenance log: 1 entries (time column \"done_at\"), 1 resets") {
				t.Errorf("stderr %q: want the reset counted", p.stderr.String())
			}
			// The row of the work starts a new window: no score, no alert.
			if f := strings.Split(out[len(in)/2], ","); len(f) < 4 || f[1] != "" || f[2] != "" || f[3] != "0" {
				t.Errorf("the work's row %q (history %q): want no score and alert 0, a fresh stream", out[len(in)/2], in[len(in)/2])
			}
		},
	},
	"bin/infer watch": {
		daemon: true,
		running: func(t *testing.T, w *workspace, p *proc) {
			alert := []byte(`{"id":"plant1/line-a/pump_07/anomaly/1748779200000","site":"plant1","line":"line-a","machine":"pump_07",` +
				`"kind":"anomaly","state":"raised","severity":"warning","score":4.2,"threshold":3.0,"started_at":"2025-06-01T12:00:00Z",` +
				`"ts":"2025-06-01T12:00:00Z","model":"pump-mlp","model_version":"1","top_sensors":[{"sensor":"temp_c","share":1}],` +
				`"cause":"temp_c","message":"pump_07: anomaly warning, score 4.20 (threshold 3.00); top sensors: temp_c 100%"}`)
			// watch subscribes once it is connected: publish until a line shows up.
			waitUntil(t, p, "a readable line for the alert on stdout", time.Minute, func() bool {
				w.publish("factory/plant1/line-a/pump_07/alerts", false, alert)
				time.Sleep(200 * time.Millisecond)
				return strings.Contains(p.stdout.String(), "pump_07")
			})
		},
	},
	"bin/eval rul --model fd001.model --cmapss --csv ../shared/datasets/cmapss/test_FD001.txt --rul ../shared/datasets/cmapss/RUL_FD001.txt": {
		needs: []string{"cmapss"},
		after: func(t *testing.T, _ *workspace, p *proc) {
			if out := strings.ToLower(p.stdout.String() + p.stderr.String()); !strings.Contains(out, "rmse") {
				t.Errorf("no RMSE in the output:\n%s", p.output())
			}
		},
	},

	// docs/deploy.md
	"deploy/mosquitto/gen-certs.sh deploy/compose/secrets/tls broker.plant.example mosquitto 10.0.0.5": {
		before: func(t *testing.T, w *workspace) {
			must(t, os.MkdirAll(filepath.Join(w.dir, "deploy/mosquitto"), 0o755))
			must(t, os.Symlink(filepath.Join(repoRoot, "deploy/mosquitto/gen-certs.sh"), filepath.Join(w.dir, "deploy/mosquitto/gen-certs.sh")))
		},
		after: func(t *testing.T, w *workspace, _ *proc) {
			wantFiles(t, w, "deploy/compose/secrets/tls/ca.crt", "deploy/compose/secrets/tls/server.crt")
			st, err := os.Stat(filepath.Join(w.dir, "deploy/compose/secrets/tls/server.key"))
			if err != nil || st.Mode().Perm()&0o077 != 0 {
				t.Errorf("server.key: %v, mode %v; want it private", err, st.Mode().Perm())
			}
		},
	},

	// docs/simulator.md
	"bin/simulate --machines 30 --speed 3600 --duration 168h --seed 7 --start 2026-01-01T00:00:00Z --csv-out data/sim --truth-out data/sim/truth.jsonl --no-mqtt": {
		rewrite: []string{"--duration 168h", "--duration 2h"},
		why:     "a simulated week takes about 3 minutes; 2 hours take the same path",
		after: func(t *testing.T, w *workspace, _ *proc) {
			wantFiles(t, w, "data/sim/pump-0001.csv", "data/sim/compressor-0010.csv", "data/sim/truth.jsonl")
		},
	},
	"bin/simulate --machines 100 --schedule 'pump-0001=bearing_wear@2h+6h' --truth-out truth.jsonl": {
		daemon: true,
		running: func(t *testing.T, w *workspace, p *proc) {
			tel := w.watch("factory/+/+/+/telemetry")
			waitUntil(t, p, "telemetry of machine 100 on the broker and truth in truth.jsonl", time.Minute, func() bool {
				return tel.any("/motor-0033/telemetry") && fileHas(filepath.Join(w.dir, "truth.jsonl"), 1)
			})
		},
	},
	"bin/simulate replay --csv machine_temperature_system_failure.csv --speed 300 --machine pump-0001": {
		needs: []string{"nab"},
		before: func(t *testing.T, w *workspace) {
			copyFile(t, filepath.Join(w.shared, "datasets/nab/realKnownCause/machine_temperature_system_failure.csv"),
				filepath.Join(w.dir, "machine_temperature_system_failure.csv"))
		},
		daemon: true,
		running: func(t *testing.T, w *workspace, p *proc) {
			tel := w.watch("factory/+/+/pump-0001/telemetry")
			waitUntil(t, p, "replayed telemetry of pump-0001", time.Minute, func() bool { return tel.any("/pump-0001/telemetry") })
		},
	},
}

// ownedElsewhere are docs this suite may not mark: their commands are listed and
// skipped by name with this reason. Empty: every doc carries its own markers.
var ownedElsewhere = map[string]string{}

func statusOffline(service, instance string) func(t *testing.T, w *workspace, p *proc) {
	return func(t *testing.T, w *workspace, p *proc) {
		st := w.watch("factory/_status/" + service + "/+")
		waitUntil(t, nil, "the retained status", 10*time.Second, func() bool { return st.anyPayload("") })
		st.mu.Lock()
		defer st.mu.Unlock()
		for topic, payload := range st.msgs {
			if (instance == "" || strings.HasSuffix(topic, "/"+instance)) && payload != "offline" {
				t.Errorf("after a graceful stop %s = %q, want offline", topic, payload)
			}
		}
	}
}

func (wt *watcher) anyPayload(want string) bool {
	wt.mu.Lock()
	defer wt.mu.Unlock()
	for _, p := range wt.msgs {
		if want == "" || p == want {
			return true
		}
	}
	return false
}

func wantFiles(t *testing.T, w *workspace, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if !fileHas(filepath.Join(w.dir, p), 1) {
			t.Errorf("%s is missing or empty", p)
		}
	}
}

func lines(t *testing.T, w *workspace, path string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(w.dir, path))
	must(t, err)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	must(t, err)
	must(t, os.WriteFile(to, b, 0o644))
}

// historyCSV is the reader's history.csv: 3 days of a simulated pump at one sample a
// minute, as `simulate --csv-out` writes it.
func historyCSV(t *testing.T, w *workspace) {
	t.Helper()
	if fileHas(filepath.Join(w.dir, "history.csv"), 1) {
		return
	}
	p, err := w.run("bin/simulate --machines 1 --speed 0 --duration 72h --rate 0.0166667 --fault-rate 0 --seed 3 --csv-out history --no-mqtt --http-addr ''", nil, time.Minute)
	if err != nil {
		t.Fatalf("simulate history: %v\n%s", err, p.output())
	}
	must(t, os.Rename(filepath.Join(w.dir, "history/pump-0001.csv"), filepath.Join(w.dir, "history.csv")))
}

// seedInflux stores 3 days of healthy telemetry of a pump, a motor and a compressor the
// way the README's pipeline does: simulate publishes to the broker, ingest stores it.
func seedInflux(t *testing.T, w *workspace) {
	t.Helper()
	ing := w.start("bin/ingest --spool-dir seed-spool --client-id docs-seed-ingest", nil)
	waitUntil(t, ing, "ingest ready", time.Minute, func() bool { return httpOK("http://" + ing.httpAddr + "/readyz") })
	start := time.Now().Add(-70 * time.Hour).UTC().Format(time.RFC3339)
	sim, err := w.run("bin/simulate --machines 3 --speed 0 --duration 70h --rate 0.0166667 --fault-rate 0 --seed 5 --start "+start+" --http-addr ''", nil, 2*time.Minute)
	if err != nil {
		t.Fatalf("simulate to the broker: %v\n%s", err, sim.output())
	}
	// Every message simulate sent was acknowledged by the broker; ingest has it or gets
	// it from its persistent session, and a graceful stop ships its whole spool.
	waitUntil(t, ing, "ingest to take every message", time.Minute, func() bool {
		return metric("http://"+ing.httpAddr+"/metrics", "faultline_ingest_messages_total") >= 3*70*60-3
	})
	if err := ing.stop(t); err != nil {
		t.Fatalf("ingest stop: %v\n%s", err, ing.output())
	}
}
