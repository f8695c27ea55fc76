// Package artifact is Faultline's model file: everything the edge daemon needs to score
// a machine exactly as the trainer evaluated it — the feature Spec, regime model,
// scalers, networks, residual scales, thresholds and alert settings — plus training
// metadata, in one versioned, checksummed file.
//
// Layout: one ASCII header line, then a JSON payload.
//
//	FAULTLINE-MODEL <format> <payload bytes> sha256:<hex of payload>\n
//	{...payload...}
//
// The header is checked before the payload is read, so a truncated, corrupt or
// future-format file is refused with a clear error and never allocates what its header
// claims beyond MaxPayload.
package artifact

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/faultline/faultline/internal/alerting"
	"github.com/faultline/faultline/internal/features"
	"github.com/faultline/faultline/internal/model"
)

// Format is the newest file format version this build writes; readers accept
// 1..Format. A model is written with the oldest version that can score it right
// (Model.FormatVersion): a reader that silently ignored a field that changes the score
// would score wrong without a word, so such fields raise the version and older
// daemons refuse the file instead.
//
//	1: everything up to the likelihood, level, novelty, history and members fields
//	2: target_feature and envelope
//	3: monitor (the PCA monitor), sensor_check, models without networks, per-target
//	   envelope allowances
//	4: baseline (the score follows a moving normal)
//	5: age_column (a rul model's age input read from a column of each row)
//	6: baseline tail_rate (the baseline also holds the recent past to a false-alarm
//	   rate) and sensor_check max_reversal (spikes in a rough signal are the process's)
//	7: target_features (each target's network predicts its own window feature)
//	8: history_ewma on an anomaly model (its networks see the context sensors'
//	   means over the stream's history, restarted at outages), and leave-one-out
//	   models with several networks per target
const Format = 8

// FormatVersion is the file format version Encode writes for m.
func (m *Model) FormatVersion() int {
	if m.Task == TaskAnomaly && len(m.HistoryEWMA) > 0 || m.TargetNets() > 1 {
		return 8
	}
	if len(m.TargetFeatures) > 0 {
		return 7
	}
	if m.Baseline != nil && m.Baseline.TailRate > 0 || m.SensorCheck != nil && len(m.SensorCheck.MaxReversal) > 0 {
		return 6
	}
	if m.AgeColumn != "" {
		return 5
	}
	if m.Baseline != nil {
		return 4
	}
	if m.Monitor != nil || m.SensorCheck != nil || len(m.Nets) == 0 || m.Envelope != nil && len(m.Envelope.Allowances) > 0 {
		return 3
	}
	if m.TargetFeature != "" || m.Envelope != nil {
		return 2
	}
	return 1
}

// MaxPayload bounds a model file (networks for edge gateways are small).
const MaxPayload = 256 << 20

const magic = "FAULTLINE-MODEL"

// CombineMax scores a window by its largest normalised residual.
const CombineMax = "max"

// Tasks.
const (
	TaskAnomaly = "anomaly"
	TaskRUL     = "rul"
)

// Model is the content of a model file.
type Model struct {
	Name    string    `json:"name"`
	Version string    `json:"version"` // model version, e.g. a timestamp or a tag
	Created time.Time `json:"created"`
	Task    string    `json:"task"`
	// Match says which machines the model is for: a glob over the machine id
	// ("pump-*") or "" for the fleet. The daemon's routing may override it.
	Match string `json:"match,omitempty"`

	Spec features.Spec `json:"spec"`
	// Settings are the operating-setting columns used to pick a regime; empty when
	// the model has no regime normalisation.
	Settings []string              `json:"settings,omitempty"`
	Regimes  *features.RegimeModel `json:"regimes,omitempty"`
	// Input scales the feature vector before the networks.
	Input *features.Scaler `json:"input"`

	// Targets name the network outputs: sensors (anomaly) or "rul".
	Targets []string `json:"targets"`
	// TargetCenter/TargetScale map network outputs back to units: y = center + scale*out.
	TargetCenter []float64 `json:"target_center"`
	TargetScale  []float64 `json:"target_scale"`
	// TargetFeature (anomaly) is the window feature each network predicts and the
	// residual compares: "" or "mean" (the window mean), or "ewma" / "last", which follow
	// the sensor within a few rows while the inputs still summarise the whole window's
	// operating history. A fast fault (a machine that overheats within the hour after
	// its load rises) has left the window mean behind by the time it trips.
	TargetFeature string `json:"target_feature,omitempty"`
	// TargetFeatures (anomaly, format 7), when set, name each target's feature in
	// Targets order and override TargetFeature: the trainer picks, per sensor, the
	// feature its network predicts best on held-out data. A persistent fault shifts
	// every window feature of a sensor by the same amount, so the one with the smaller
	// healthy residual shows it sooner; a temperature that lags its load by a quarter
	// hour is followed by its EWMA far better than by its hour's mean.
	TargetFeatures []string `json:"target_features,omitempty"`
	// TargetHistory (anomaly with HistoryEWMA, format 8), when set, says per target
	// whether its network sees the context sensors' history means; nil: every
	// target's does. The trainer gives them to a target whose held-out residual they
	// shrink (a lagging temperature), not to one that has nothing to remember and
	// would only learn a spurious dependence on them.
	TargetHistory []bool `json:"target_history,omitempty"`
	// ResidualScale is each target's typical residual on normal validation data
	// (anomaly); residuals are divided by it before they are combined.
	ResidualScale []float64 `json:"residual_scale,omitempty"`
	// Smoothing is the EWMA factor applied to the anomaly score (1 = none).
	Smoothing float64 `json:"smoothing,omitempty"`
	// Combine says how per-target residuals become one score: "" (RMS over targets)
	// or CombineMax (the largest absolute residual). RMS lets healthy sensors dilute
	// a fault that shows on one sensor only (a machine with five targets needs one
	// residual sqrt(5) times larger to reach the same score).
	Combine string `json:"combine,omitempty"`
	// RULCap is the cap of the training target (rul).
	RULCap float64 `json:"rul_cap,omitempty"`
	// Period is the nominal sampling period in seconds seen in training (0 = unknown).
	// Scoring uses it to tell a short gap (forward-filled) from an outage (restart the
	// window).
	Period float64 `json:"period_s,omitempty"`

	// Nets is an ensemble whose outputs are averaged; each is model.MLP[float32] bytes.
	// With LeaveOneOut, each network instead predicts one target, from the features
	// with the target's hidden inputs masked (HiddenInputs; set to their training
	// mean): target k's are Nets[k*n : (k+1)*n], n = TargetNets(), averaged (n > 1 is
	// format 8).
	Nets [][]byte `json:"nets"`
	// LeaveOneOut: each sensor is explained by the others (a normal-behaviour model),
	// so a sensor that departs from its usual relation to the rest owns its residual.
	LeaveOneOut bool `json:"leave_one_out,omitempty"`
	// Context names operating-condition sensors (load, speed, ambient). When set,
	// with LeaveOneOut, each target is predicted from the context sensors' features
	// only: the classic normal-behaviour model, whose residuals never blame a healthy
	// sensor for a faulty one. Context sensors are inputs, never targets.
	Context []string `json:"context,omitempty"`

	// Modes are the optional modes (modes.go). Embedded without a tag, so their
	// fields stay top-level JSON fields of the file, at this place, under their names.
	Modes

	Alert alerting.Config `json:"alert"`

	Training map[string]any `json:"training,omitempty"`
}

// NumInputs is the networks' input width: the spec's features plus the age input
// (row count or age column) and the whole-history EWMA inputs.
func (m *Model) NumInputs() int {
	n := m.Spec.NumFeatures() + len(m.HistoryEWMA)*len(m.Spec.Sensors)
	if m.HasAge() {
		return n + 1
	}
	return n
}

// InputNames names the networks' inputs in order: the window features
// ("sensor.feature"), the age input ("age") and the history means
// ("sensor.hewma<k>").
func (m *Model) InputNames() []string {
	names := m.Spec.FeatureNames()
	if m.HasAge() {
		names = append(names, "age")
	}
	return append(names, features.HistoryNames(m.Spec.Sensors, m.HistoryEWMA)...)
}

// HiddenInputs lists the inputs (by index into names, as InputNames gives them)
// that target's leave-one-out network does not see: with context columns, every
// input that is not a context sensor's (the target is explained by the operating
// conditions alone); without, the target's own (it is explained by the other
// sensors). The trainer masks them to 0, the scaled training mean, and the scorer
// does the same. An input of no sensor (the age) is seen by every network; the
// history means ("sensor.hewma<k>") only when history says so (SeesHistory).
func HiddenInputs(names, context []string, target string, history bool) []int {
	var out []int
	for i, n := range names {
		k := strings.LastIndexByte(n, '.')
		if k < 0 {
			continue
		}
		src := n[:k]
		hide := src == target
		if len(context) > 0 {
			hide = !slices.Contains(context, src)
		}
		if hide || !history && strings.HasPrefix(n[k+1:], "hewma") {
			out = append(out, i)
		}
	}
	return out
}

// TargetNets is how many networks a leave-one-out model averages per target (1
// before format 8).
func (m *Model) TargetNets() int {
	if !m.LeaveOneOut || len(m.Targets) == 0 || len(m.Nets) < len(m.Targets) {
		return 1
	}
	return len(m.Nets) / len(m.Targets)
}

// SeesHistory says whether target k's network sees the history means
// (TargetHistory).
func (m *Model) SeesHistory(k int) bool {
	return len(m.HistoryEWMA) > 0 && (len(m.TargetHistory) == 0 || m.TargetHistory[k])
}

// HasAge says whether the networks take an age input (AgeFeature or AgeColumn).
func (m *Model) HasAge() bool { return m.AgeFeature || m.AgeColumn != "" }

// Networks decodes the ensemble.
func (m *Model) Networks() ([]*model.MLP[float32], error) {
	out := make([]*model.MLP[float32], len(m.Nets))
	for i, b := range m.Nets {
		n := new(model.MLP[float32])
		if err := n.UnmarshalBinary(b); err != nil {
			return nil, fmt.Errorf("network %d: %w", i, err)
		}
		out[i] = n
	}
	return out, nil
}

// Validate checks internal consistency: the daemon must never load a model that would
// fail or produce garbage at scoring time.
func (m *Model) Validate() error {
	var errs []error
	add := func(f string, a ...any) { errs = append(errs, fmt.Errorf(f, a...)) }
	if m.Task != TaskAnomaly && m.Task != TaskRUL {
		add("task %q: want %q or %q", m.Task, TaskAnomaly, TaskRUL)
	}
	if err := m.Spec.Validate(); err != nil {
		add("feature spec: %w", err)
	}
	if m.Input == nil {
		add("no input scaler")
	} else if err := m.Input.Validate(); err != nil {
		add("input scaler: %w", err)
	} else if m.Input.Dim() != m.NumInputs() {
		add("input scaler has %d columns, model takes %d inputs", m.Input.Dim(), m.NumInputs())
	}
	m.validateModes(add)
	if m.Regimes != nil {
		if err := m.Regimes.Validate(); err != nil {
			add("regimes: %w", err)
		}
		if len(m.Settings) == 0 {
			add("regimes need setting columns")
		}
		for _, s := range m.Settings {
			if indexOf(m.Spec.Sensors, s) >= 0 {
				add("regime setting %q is also a feature sensor", s)
			}
		}
	}
	nt := len(m.Targets)
	if nt == 0 || len(m.TargetCenter) != nt || len(m.TargetScale) != nt {
		add("targets (%d), target_center (%d), target_scale (%d) must have equal, non-zero length", nt, len(m.TargetCenter), len(m.TargetScale))
	}
	for _, c := range m.Context {
		if indexOf(m.Spec.Sensors, c) < 0 || indexOf(m.Targets, c) >= 0 {
			add("context sensor %q must be a spec sensor and not a target", c)
		}
	}
	if len(m.Context) > 0 && !m.LeaveOneOut {
		add("context sensors need leave_one_out networks")
	}
	if m.Task != TaskAnomaly && (m.TargetFeature != "" || len(m.TargetFeatures) > 0 || len(m.TargetHistory) > 0) {
		add("target_feature, target_features and target_history are for anomaly models only")
	}
	if m.Task == TaskAnomaly {
		if f := m.TargetFeature; f != "" && !slices.Contains(m.Spec.Features, f) {
			add("target_feature %q is not a spec feature (have %v)", f, m.Spec.Features)
		}
		if m.TargetFeature != "" && m.Forecast > 0 {
			add("target_feature %q and forecast %d exclude each other: a forecaster predicts the coming rows' mean", m.TargetFeature, m.Forecast)
		}
		if th := m.TargetHistory; len(th) > 0 && (len(th) != nt || len(m.HistoryEWMA) == 0) {
			add("target_history has %d values for %d targets and %d history means: want one per target, and history_ewma", len(th), nt, len(m.HistoryEWMA))
		}
		if tf := m.TargetFeatures; len(tf) > 0 {
			if len(tf) != nt {
				add("target_features has %d values, want one per target (%d)", len(tf), nt)
			}
			if m.Forecast > 0 {
				add("target_features and forecast %d exclude each other: a forecaster predicts the coming rows' mean", m.Forecast)
			}
			for _, f := range tf {
				if !slices.Contains(m.Spec.Features, f) {
					add("target_features: %q is not a spec feature (have %v)", f, m.Spec.Features)
				}
			}
		}
		if len(m.ResidualScale) != nt {
			add("residual_scale has %d values, want %d", len(m.ResidualScale), nt)
		}
		for k, v := range m.ResidualScale {
			if !(v > 0) {
				// Residuals are divided by it: 0 makes every score infinite or NaN,
				// and a model that never alerts would load without a word.
				add("residual_scale of target %d is %v: want > 0 (retrain the model)", k, v)
			}
		}
		for _, t := range m.Targets {
			if indexOf(m.Spec.Sensors, t) < 0 {
				add("target %q is not a spec sensor", t)
			}
		}
	}
	for _, v := range [][]float64{m.TargetCenter, m.TargetScale, m.ResidualScale} {
		for _, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				add("non-finite scale or center")
			}
		}
	}
	if m.Combine != "" && m.Combine != CombineMax {
		add("combine %q: want \"\" (rms) or %q", m.Combine, CombineMax)
	}
	if !(m.Smoothing >= 0 && m.Smoothing <= 1) {
		add("smoothing %v not in [0,1]", m.Smoothing)
	}
	if len(m.Nets) == 0 && (m.Monitor == nil || m.Task != TaskAnomaly) {
		add("no networks (only an anomaly model with a monitor may have none)")
	}
	if c := m.SensorCheck; c != nil {
		if m.Task != TaskAnomaly {
			add("sensor_check needs an anomaly model")
		}
		c.validate(len(m.Spec.Sensors), add)
	}
	if m.Baseline != nil {
		if m.Task != TaskAnomaly {
			add("baseline needs an anomaly model")
		}
		m.Baseline.validate(add)
	}
	if m.Monitor != nil {
		if m.Task != TaskAnomaly {
			add("monitor needs an anomaly model")
		}
		m.Monitor.validate(m.NumInputs(), add)
	}
	nets, err := m.Networks()
	if err != nil {
		add("%w", err)
	}
	wantOut := nt
	if m.LeaveOneOut {
		wantOut = 1
		if nt > 0 && len(nets)%nt != 0 {
			add("leave-one-out model has %d networks for %d targets: want the same number for each", len(nets), nt)
		}
	}
	for i, n := range nets {
		if n.Inputs() != m.NumInputs() || n.Outputs() != wantOut {
			add("network %d is %d->%d, want %d->%d", i, n.Inputs(), n.Outputs(), m.NumInputs(), wantOut)
		}
	}
	if err := m.Alert.Validate(); err != nil {
		add("alert config: %w", err)
	}
	if e := m.Envelope; e != nil {
		if m.Task != TaskAnomaly || len(e.Min) != nt || len(e.Max) != nt {
			add("envelope: anomaly only, with min and max for each of the %d targets (have %d, %d)", nt, len(e.Min), len(e.Max))
		}
		if !slices.Contains(m.Spec.Features, features.FeatLast) {
			add("envelope needs the %q feature in the spec", features.FeatLast)
		}
		if !(e.Allowance > 0) || math.IsInf(e.Allowance, 0) {
			add("envelope allowance %v: want > 0", e.Allowance)
		}
		if len(e.Allowances) > 0 && len(e.Allowances) != nt {
			add("envelope allowances: %d values for %d targets", len(e.Allowances), nt)
		}
		for _, a := range e.Allowances {
			if !(a >= 0) || math.IsInf(a, 0) {
				add("envelope allowance %v: want finite and >= 0 (0 = off for the target)", a)
			}
		}
		for k := range min(len(e.Min), len(e.Max)) {
			if !(e.Max[k] >= e.Min[k]) || math.IsInf(e.Min[k], 0) || math.IsInf(e.Max[k], 0) {
				add("envelope of target %d: [%v, %v] is not a finite range", k, e.Min[k], e.Max[k])
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}

// ResidualFeature is the window feature an anomaly model's residual compares for
// target k (TargetFeatures[k], else TargetFeature, default the mean).
func (m *Model) ResidualFeature(k int) string {
	if k < len(m.TargetFeatures) {
		return m.TargetFeatures[k]
	}
	return ResidualFeature(m.TargetFeature)
}

// ResidualFeature maps a TargetFeature setting to the window feature it names: ""
// is the mean.
func ResidualFeature(targetFeature string) string {
	if targetFeature == "" {
		return features.FeatMean
	}
	return targetFeature
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// Encode writes the file format to w.
func (m *Model) Encode(w io.Writer) error {
	payload, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode model: %w", err)
	}
	sum := sha256.Sum256(payload)
	if _, err := fmt.Fprintf(w, "%s %d %d sha256:%s\n", magic, m.FormatVersion(), len(payload), hex.EncodeToString(sum[:])); err != nil {
		return err
	}
	_, err = w.Write(payload)
	return err
}

// Save validates and writes the model atomically (temp file + rename), so a daemon
// watching the path never sees half a file.
func (m *Model) Save(path string) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("save model %s: invalid model: %w", path, err)
	}
	var buf bytes.Buffer
	if err := m.Encode(&buf); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".model-*")
	if err != nil {
		return fmt.Errorf("save model %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("save model %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("save model %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("save model %s: %w", path, err)
	}
	return nil
}

// ErrFormat is wrapped by every refusal of a file's content.
var ErrFormat = errors.New("not a valid Faultline model file")

// Decode reads and verifies a model.
func Decode(r io.Reader) (*Model, error) {
	br := bufio.NewReader(io.LimitReader(r, MaxPayload+512))
	line, err := br.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("%w: no header line (%v)", ErrFormat, err)
	}
	f := strings.Fields(line)
	if len(f) != 4 || f[0] != magic || !strings.HasPrefix(f[3], "sha256:") {
		return nil, fmt.Errorf("%w: bad header %q", ErrFormat, truncate(line))
	}
	ver, err := strconv.Atoi(f[1])
	if err != nil || ver < 1 {
		return nil, fmt.Errorf("%w: bad format version %q", ErrFormat, f[1])
	}
	if ver > Format {
		return nil, fmt.Errorf("%w: format version %d is newer than this build reads (%d); upgrade faultline", ErrFormat, ver, Format)
	}
	n, err := strconv.Atoi(f[2])
	if err != nil || n <= 0 || n > MaxPayload {
		return nil, fmt.Errorf("%w: payload size %q out of range", ErrFormat, f[2])
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(br, payload); err != nil {
		return nil, fmt.Errorf("%w: truncated: header promises %d bytes: %v", ErrFormat, n, err)
	}
	sum := sha256.Sum256(payload)
	if hex.EncodeToString(sum[:]) != strings.TrimPrefix(f[3], "sha256:") {
		return nil, fmt.Errorf("%w: checksum mismatch (file corrupted or edited)", ErrFormat)
	}
	var m Model
	if err := json.Unmarshal(payload, &m); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrFormat, err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	return &m, nil
}

// Load reads and verifies a model file.
func Load(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open model %s: %w", path, err)
	}
	defer f.Close()
	m, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	return m, nil
}

func truncate(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
