package infer

import (
	"errors"
	"fmt"
	"os"
	"path"
	"time"

	"github.com/faultline/faultline/internal/artifact"
	"github.com/faultline/faultline/internal/scoring"
)

// Model is one loaded, usable model file.
type Model struct {
	Path   string
	Scorer *scoring.Scorer
	// col maps an input column name (sensor or setting) to its index in a row.
	col   map[string]int
	mtime time.Time
	size  int64
}

// Artifact returns the model's content.
func (m *Model) Artifact() *artifact.Model { return m.Scorer.M }

// LoadModel reads, verifies (checksum, validation) and prepares a model file for
// scoring. Any failure leaves the caller's current model in place.
func LoadModel(file string) (*Model, error) {
	st, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", file, err)
	}
	a, err := artifact.Load(file)
	if err != nil {
		return nil, err
	}
	sc, err := scoring.New(a)
	if err != nil {
		return nil, fmt.Errorf("model %s is not usable for scoring: %w", file, err)
	}
	if _, err := sc.NewStream(); err != nil {
		return nil, fmt.Errorf("model %s is not usable for scoring: %w", file, err)
	}
	m := &Model{Path: file, Scorer: sc, col: map[string]int{}, mtime: st.ModTime(), size: st.Size()}
	for i, c := range sc.Columns() {
		m.col[c] = i
	}
	return m, nil
}

// registry holds the model files and routes. Not safe for concurrent use: the engine
// guards it with its lock.
type registry struct {
	def    string
	routes []Route
	models map[string]*Model
	// seen remembers the last stat of a file that failed to load, so polling does not
	// retry (and log) the same bad file every few seconds.
	seen map[string]fileStamp
}

type fileStamp struct {
	mtime time.Time
	size  int64
}

func newRegistry(def string, routes []Route) (*registry, error) {
	r := &registry{def: def, routes: routes, models: map[string]*Model{}, seen: map[string]fileStamp{}}
	var errs []error
	for _, p := range r.paths() {
		m, err := LoadModel(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.models[p] = m
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("%w (fix or replace the file; the daemon refuses to start on a bad model)", err)
	}
	return r, nil
}

// paths lists each model file once.
func (r *registry) paths() []string {
	var out []string
	add := func(p string) {
		for _, q := range out {
			if q == p {
				return
			}
		}
		out = append(out, p)
	}
	for _, rt := range r.routes {
		add(rt.Path)
	}
	if r.def != "" {
		add(r.def)
	}
	return out
}

// route picks the model for a machine id: the first --route whose glob (or, for a
// route without glob, the model's Match) matches; then the default model when its
// Match is empty or matches. nil means the machine has no model.
func (r *registry) route(machine string) *Model {
	for _, rt := range r.routes {
		m := r.models[rt.Path]
		if m == nil {
			continue
		}
		glob := rt.Glob
		if glob == "" {
			glob = m.Artifact().Match
		}
		if glob == "" || globMatch(glob, machine) {
			return m
		}
	}
	if m := r.models[r.def]; m != nil {
		if g := m.Artifact().Match; g == "" || globMatch(g, machine) {
			return m
		}
	}
	return nil
}

func globMatch(glob, s string) bool {
	ok, err := path.Match(glob, s)
	return err == nil && ok
}

// changed lists files whose mtime or size differs from the loaded (or last refused)
// version.
func (r *registry) changed() []string {
	var out []string
	for _, p := range r.paths() {
		st, err := os.Stat(p)
		if err != nil {
			continue // a file being replaced; the next poll sees the new one
		}
		now := fileStamp{st.ModTime(), st.Size()}
		if m := r.models[p]; m != nil && m.mtime.Equal(now.mtime) && m.size == now.size {
			continue
		}
		if s, ok := r.seen[p]; ok && s == now {
			continue
		}
		out = append(out, p)
	}
	return out
}

func statStamp(p string) (fileStamp, error) {
	st, err := os.Stat(p)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{st.ModTime(), st.Size()}, nil
}
