package infer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/durable"
	"github.com/faultline/faultline/internal/scoring"
)

// BaselinesFile is the file in the queue directory that carries each machine's
// long-lived scoring state across a restart: an anomaly model's baseline
// (scoring.BaselineState), a rul model's history (scoring.HistoryState).
const BaselinesFile = "baselines.json"

// savedBaseline is one machine's long-lived state, kept for the model it was learned
// under: a different model (another file, a new version, or a retrain that kept its
// version but calibrated another Ref) scores on its own scale, and a state of the old
// one would mean nothing to it. An anomaly model's entry holds a baseline; a rul
// model's holds History (the baseline fields then zero).
type savedBaseline struct {
	Model    string                `json:"model"`
	Version  string                `json:"version"`
	Ref      float64               `json:"ref"`
	Quantile float64               `json:"quantile"`
	HalfLife float64               `json:"half_life_s"`
	State    scoring.BaselineState `json:"state"`
	History  *scoring.HistoryState `json:"history,omitempty"`
	// Trained is the model's creation time: a retrain that kept its name and version
	// may normalise the sensors otherwise, and its history would be on another scale.
	Trained time.Time `json:"trained,omitzero"`
}

// saved is m's state as kept, and false when it has none to keep.
func saved(m *machine) (savedBaseline, bool) {
	a := m.mdl.Artifact()
	b := savedBaseline{Model: a.Name, Version: a.Version, Trained: a.Created}
	s, okB := m.st.BaselineState()
	if okB {
		b.Ref, b.Quantile, b.HalfLife, b.State = a.Baseline.Ref, a.Baseline.Quantile, a.Baseline.HalfLife, s
	}
	if h, ok := m.st.HistoryState(); ok {
		b.History = &h
	}
	return b, okB || b.History != nil
}

// fits says whether b's baseline was learned under a model calibrated as a.
func (b savedBaseline) fits(a *artifact.Model) bool {
	return a.Baseline != nil && b.HalfLife > 0 && b.Model == a.Name && b.Version == a.Version && b.Ref == a.Baseline.Ref &&
		b.Quantile == a.Baseline.Quantile && b.HalfLife == a.Baseline.HalfLife
}

// historyFits says whether b's history was kept under the model a (the same
// name, version and training).
func (b savedBaseline) historyFits(a *artifact.Model) bool {
	return b.History != nil && b.Model == a.Name && b.Version == a.Version && b.Trained.Equal(a.Created)
}

// staleAfter is how many half-lives a baseline is kept for a machine that stopped
// reporting: after four its counts weigh a sixteenth and the machine is likely gone.
const staleAfter = 4

// historyKeep is how long a rul history is kept for a machine that stopped reporting:
// wear does not fade while a machine stands, but after a quarter of a year without a
// sample it is likely gone, and its work announced as maintenance clears it sooner.
const historyKeep = 90 * 24 * time.Hour

// fresh says whether b is still worth keeping at now.
func (b savedBaseline) fresh(now time.Time) bool {
	if b.HalfLife > 0 && now.Sub(b.State.Last).Seconds() <= staleAfter*b.HalfLife {
		return true
	}
	return b.History != nil && now.Sub(b.History.Last) <= historyKeep
}

// last is when b last learned.
func (b savedBaseline) last() time.Time {
	if b.History != nil && b.History.Last.After(b.State.Last) {
		return b.History.Last
	}
	return b.State.Last
}

// baselinesFile is the file's content, keyed by telemetry topic.
type baselinesFile struct {
	Machines map[string]savedBaseline `json:"machines"`
}

// Baselines returns the baseline of every machine whose model has one, and those
// kept from an earlier run or model for machines that have not reported since, unless
// they are staleAfter half-lives old (by now).
func (e *Engine) Baselines(now time.Time) map[string]savedBaseline {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]savedBaseline, len(e.machines)+len(e.baselines))
	for topic, b := range e.baselines {
		if b.fresh(now) {
			out[topic] = b
		}
	}
	for topic, m := range e.machines {
		if b, ok := saved(m); ok {
			out[topic] = b
		}
	}
	return out
}

// restoreBaselines holds saved baselines until each machine's stream exists, at most
// the engine's machine limit of them, the most recently learned first, leaving out
// those staleAfter half-lives old at now. It returns how many it kept.
func (e *Engine) restoreBaselines(in map[string]savedBaseline, now time.Time) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	topics := make([]string, 0, len(in))
	for t, b := range in {
		if b.fresh(now) {
			topics = append(topics, t)
		}
	}
	sort.Slice(topics, func(i, j int) bool { return in[topics[i]].last().After(in[topics[j]].last()) })
	n := 0
	for _, t := range topics {
		if len(e.baselines) >= e.max {
			break
		}
		e.baselines[t] = in[t]
		n++
	}
	return n
}

// keepBaseline holds m's baseline for its next stream (a model reload restarts the
// machine's stream): the new model adopts it if it is calibrated the same.
func (e *Engine) keepBaseline(topic string, m *machine) {
	if b, ok := saved(m); ok && len(e.baselines) < e.max {
		e.baselines[topic] = b
	}
}

// adoptBaseline gives a new stream its saved baseline and history, if the model is
// the same.
func (e *Engine) adoptBaseline(topic string, m *machine) {
	b, ok := e.baselines[topic]
	if !ok {
		return
	}
	delete(e.baselines, topic)
	a := m.mdl.Artifact()
	if b.fits(a) {
		if err := m.st.RestoreBaseline(b.State); err != nil {
			e.log.Warn().Err(err).Str("machine", m.id.Key()).Msg("saved baseline refused; the machine's baseline starts afresh")
		}
	}
	if b.historyFits(a) {
		if err := m.st.RestoreHistory(*b.History); err != nil {
			e.log.Warn().Err(err).Str("machine", m.id.Key()).Msg("saved history refused; the machine's history starts afresh")
		}
	}
}

// saveBaselines writes the engine's baselines to path (written whole, fsync'd and
// renamed into place, so a crash leaves the previous file).
func saveBaselines(path string, e *Engine) error {
	saved := e.Baselines(time.Now())
	if len(saved) == 0 {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil // no model with a baseline, and none kept from before
		}
	}
	b, err := json.Marshal(baselinesFile{Machines: saved})
	if err != nil {
		return fmt.Errorf("encode baselines: %w", err)
	}
	tmp := path + ".tmp"
	if err := durable.WriteFile(tmp, b, 0o640); err != nil {
		return fmt.Errorf("save baselines to %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save baselines: %w", err)
	}
	return durable.SyncDir(filepath.Dir(path))
}

// loadBaselines reads path into the engine (baselines stale at now left out). A missing file is a first start; a file
// that does not parse is reported and set aside (renamed *.corrupt) so the daemon
// starts with fresh baselines instead of refusing to run.
func loadBaselines(path string, e *Engine, now time.Time) (int, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read baselines %s: %w", path, err)
	}
	var f baselinesFile
	if err := json.Unmarshal(b, &f); err != nil {
		aside := path + ".corrupt"
		if rerr := os.Rename(path, aside); rerr != nil {
			return 0, fmt.Errorf("baselines %s do not parse (%v), and setting them aside failed: %w", path, err, rerr)
		}
		return 0, fmt.Errorf("baselines %s do not parse (%v); moved to %s, baselines start afresh", path, err, aside)
	}
	return e.restoreBaselines(f.Machines, now), nil
}
