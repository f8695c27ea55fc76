package artifact

import "math"

// SensorCheck holds, for each of the spec's sensors (context ones too), the limits of its own signal seen in healthy
// operation, learned and applied by scoring.SensorChecker over the model's window. A
// sensor that breaks one is faulty itself, and the alert says fault "sensor" and names
// it: the fix is a technician with a spare transmitter, not a bearing.
//
//   - stuck: the observed values of the latest quarter window span at most StuckRatio
//     x MinRange[k] (the smallest such span in healthy operation; 0 turns the rule off
//     for a sensor that is legitimately flat at times), at a value strictly inside the
//     healthy range (Lo, Hi);
//   - spiking: a spike in the window, a spike being one sample that goes out and
//     comes back (an excursion) by more than JumpFactor x MaxSpike[k], the largest
//     healthy excursion, or a tenth of MaxJump[k], the largest healthy step, if more;
//     a start or stop is a step, not an excursion, so on/off sensors keep the rule;
//   - silent: more than a fifth of the window's values missing, and more than twice
//     MaxMissing[k] (the largest share a healthy window missed), while every other
//     target reports; a sensor with MaxMissing[k] >= 0.25 is not judged.
//
// Spikes that are the process's, not the transmitter's (scoring.IssueImpulsive): a
// spike while another sensor makes an excursion beyond its healthy ones (MaxSpike, or
// a tenth of MaxJump if more) on the same sample, or a spike in a signal that is
// itself rough, making two or more other reversals beyond MaxReversal[k] (the
// largest healthy one: out and turning back, wherever it lands; format 6, absent in
// older files, which leaves the rough rule off).
//
// A spike beyond twice the largest healthy step, out and straight back, is rare
// enough in healthy operation that one is evidence; the simulator's spiking sensors
// spike about once an hour, and a rule that waited for two missed most of them.
type SensorCheck struct {
	// Lo and Hi are each sensor's lowest and highest healthy value: a value stuck at
	// or beyond them is a stopped machine at its floor (0 rpm, 0 A) or a process at a
	// limit, not judged stuck.
	Lo         []float64 `json:"lo"`
	Hi         []float64 `json:"hi"`
	MinRange   []float64 `json:"min_range"`
	MaxJump    []float64 `json:"max_jump"`
	MaxSpike   []float64 `json:"max_spike"`
	MaxMissing []float64 `json:"max_missing"`
	// MaxReversal (format 6) is each sensor's largest healthy reversal: the smaller
	// step of three consecutive observations that go opposite ways.
	MaxReversal []float64 `json:"max_reversal,omitempty"`
	StuckRatio  float64   `json:"stuck_ratio"`
	JumpFactor  float64   `json:"jump_factor"`
}

func (c *SensorCheck) validate(nt int, add func(string, ...any)) {
	if len(c.MinRange) != nt || len(c.MaxJump) != nt || len(c.MaxSpike) != nt || len(c.MaxMissing) != nt || len(c.Lo) != nt || len(c.Hi) != nt {
		add("sensor_check: lo (%d), hi (%d), min_range (%d), max_jump (%d), max_spike (%d) and max_missing (%d) need one value per sensor (%d)", len(c.Lo), len(c.Hi), len(c.MinRange), len(c.MaxJump), len(c.MaxSpike), len(c.MaxMissing), nt)
		return
	}
	for k := range nt {
		if math.IsNaN(c.Lo[k]) || math.IsNaN(c.Hi[k]) || c.Lo[k] > c.Hi[k] {
			add("sensor_check of sensor %d: lo %v, hi %v: want lo <= hi", k, c.Lo[k], c.Hi[k])
		}
	}
	for k := range nt {
		for _, v := range []float64{c.MinRange[k], c.MaxJump[k], c.MaxSpike[k], c.MaxMissing[k]} {
			if !(v >= 0) || math.IsInf(v, 0) {
				add("sensor_check of sensor %d: limits %v, %v, %v, %v: want finite and >= 0", k, c.MinRange[k], c.MaxJump[k], c.MaxSpike[k], c.MaxMissing[k])
				break
			}
		}
	}
	if len(c.MaxReversal) > 0 {
		if len(c.MaxReversal) != nt {
			add("sensor_check: max_reversal (%d) needs one value per sensor (%d) or none", len(c.MaxReversal), nt)
		} else {
			for k, v := range c.MaxReversal {
				if !(v >= 0) || math.IsInf(v, 0) {
					add("sensor_check of sensor %d: max_reversal %v: want finite and >= 0", k, v)
					break
				}
			}
		}
	}
	if !(c.StuckRatio >= 0 && c.StuckRatio < 1) {
		add("sensor_check stuck_ratio %v: want 0 <= ratio < 1", c.StuckRatio)
	}
	if !(c.JumpFactor >= 1) || math.IsInf(c.JumpFactor, 0) {
		add("sensor_check jump_factor %v: want a finite value >= 1", c.JumpFactor)
	}
}
