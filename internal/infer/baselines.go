package infer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/faultline/faultline/internal/durable"
	"github.com/faultline/faultline/internal/scoring"
)

// BaselinesFile is the file in the queue directory that carries each machine's
// baseline (scoring.BaselineState) across a restart.
const BaselinesFile = "baselines.json"

// savedBaseline is one machine's baseline, kept for the model it was learned under: a
// different model (another file, or a new version) calibrates its own scores, and a
// baseline of the old one would mean nothing to it.
type savedBaseline struct {
	Model   string                `json:"model"`
	Version string                `json:"version"`
	State   scoring.BaselineState `json:"state"`
}

// baselinesFile is the file's content, keyed by telemetry topic.
type baselinesFile struct {
	Machines map[string]savedBaseline `json:"machines"`
}

// Baselines returns the baseline of every machine whose model has one.
func (e *Engine) Baselines() map[string]savedBaseline {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[string]savedBaseline, len(e.machines)+len(e.baselines))
	for topic, b := range e.baselines { // not seen yet since the start: kept for later
		out[topic] = b
	}
	for topic, m := range e.machines {
		if s, ok := m.st.BaselineState(); ok {
			a := m.mdl.Artifact()
			out[topic] = savedBaseline{Model: a.Name, Version: a.Version, State: s}
		}
	}
	return out
}

// restoreBaselines holds saved baselines until each machine's stream exists.
func (e *Engine) restoreBaselines(saved map[string]savedBaseline) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for topic, b := range saved {
		if len(e.baselines) >= e.max {
			return
		}
		e.baselines[topic] = b
	}
}

// adoptBaseline gives a new stream its saved baseline, if the model is the same.
func (e *Engine) adoptBaseline(topic string, m *machine) {
	b, ok := e.baselines[topic]
	if !ok {
		return
	}
	delete(e.baselines, topic)
	a := m.mdl.Artifact()
	if b.Model != a.Name || b.Version != a.Version {
		return
	}
	if err := m.st.RestoreBaseline(b.State); err != nil {
		e.log.Warn().Err(err).Str("machine", m.id.Key()).Msg("saved baseline refused; the machine's baseline starts afresh")
	}
}

// saveBaselines writes the engine's baselines to path (written whole, fsync'd and
// renamed into place, so a crash leaves the previous file).
func saveBaselines(path string, e *Engine) error {
	saved := e.Baselines()
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

// loadBaselines reads path into the engine. A missing file is a first start; a file
// that does not parse is reported and set aside (renamed *.corrupt) so the daemon
// starts with fresh baselines instead of refusing to run.
func loadBaselines(path string, e *Engine) (int, error) {
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
	e.restoreBaselines(f.Machines)
	return len(f.Machines), nil
}
