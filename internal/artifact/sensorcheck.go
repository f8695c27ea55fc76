package artifact

import "math"

// SensorCheck holds, for each target, the limits of its own signal seen in healthy
// operation. A sensor that breaks one is faulty itself (stuck, spiking or silent):
// the alert says kind "sensor" and names it, because the fix is a technician with a
// spare transmitter, not a bearing. The rules (scoring.sensorChecker):
//
//   - stuck: the window's standard deviation is below StuckRatio x MinStd[k] (the
//     smallest seen healthy, which must be > 0: a sensor that is legitimately flat at
//     times cannot be judged stuck);
//   - spike: a step from one sample to the next larger than JumpFactor x MaxJump[k]
//     (the largest healthy step);
//   - silent: no value for SilentRows consecutive rows while other sensors report.
type SensorCheck struct {
	MinStd     []float64 `json:"min_std"`
	MaxJump    []float64 `json:"max_jump"`
	StuckRatio float64   `json:"stuck_ratio"`
	JumpFactor float64   `json:"jump_factor"`
	SilentRows int       `json:"silent_rows"`
}

func (c *SensorCheck) validate(nt int, add func(string, ...any)) {
	if len(c.MinStd) != nt || len(c.MaxJump) != nt {
		add("sensor_check: min_std (%d) and max_jump (%d) need one value per target (%d)", len(c.MinStd), len(c.MaxJump), nt)
		return
	}
	for k := range nt {
		if !(c.MinStd[k] >= 0) || math.IsInf(c.MinStd[k], 0) || !(c.MaxJump[k] >= 0) || math.IsInf(c.MaxJump[k], 0) {
			add("sensor_check of target %d: min_std %v, max_jump %v: want finite and >= 0", k, c.MinStd[k], c.MaxJump[k])
		}
	}
	if !(c.StuckRatio >= 0 && c.StuckRatio < 1) {
		add("sensor_check stuck_ratio %v: want 0 <= ratio < 1", c.StuckRatio)
	}
	if !(c.JumpFactor >= 1) || math.IsInf(c.JumpFactor, 0) {
		add("sensor_check jump_factor %v: want a finite value >= 1", c.JumpFactor)
	}
	if c.SilentRows < 0 || c.SilentRows > 1<<20 {
		add("sensor_check silent_rows %d: want 0 (off) to 2^20", c.SilentRows)
	}
}
