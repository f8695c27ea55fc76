package simulators

import "math"

// Operating regimes. Each machine runs a sequence of segments of 20-120 minutes; each
// segment either stops the machine (stop probability StopProb) or picks a speed and a
// load level from the type's discrete levels, so normal data shows distinct operating
// points, start-ups and cool-downs. The night shift (22:00-06:00 simulated UTC) runs
// at 75% of the day's load.

const (
	segMin   = 20 * 60 // seconds
	segMax   = 120 * 60
	stopMin  = 10 * 60
	stopMax  = 90 * 60
	nightMul = 0.75
)

// nextSegment draws the machine's next operating segment starting at step k.
func (m *machine) nextSegment(k int64, p *Plant) {
	r := m.rng
	if r.Float64() < p.cfg.StopProb {
		m.running = false
		m.segEnd = k + p.steps(stopMin+r.Float64()*(stopMax-stopMin))
		return
	}
	m.running = true
	spec := m.spec
	m.setSpeed = spec.speeds[r.IntN(len(spec.speeds))]
	m.setLoad = spec.loads[r.IntN(len(spec.loads))]
	if h := p.hourOfDay(k); h >= 22 || h < 6 {
		m.setLoad *= nightMul
	}
	m.segEnd = k + p.steps(segMin+r.Float64()*(segMax-segMin))
}

// ambientAt is the plant's daily temperature cycle: 20 degC mean, +-6 degC, warmest at
// 15:00 simulated UTC. Each machine adds its own offset (its place in the hall) and a
// slow random walk (weather, doors), updated in updateAmbient.
func (p *Plant) ambientAt(k int64) float64 {
	h := p.hourOfDay(k)
	return 20 + 6*math.Sin(2*math.Pi*(h-9)/24)
}

func (p *Plant) hourOfDay(k int64) float64 {
	sec := p.startUnix + float64(k)*p.dt
	return math.Mod(sec, 86400) / 3600
}

// updateAmbient advances the machine's Ornstein-Uhlenbeck ambient deviation
// (sd 1.5 degC, 6 h correlation time) and sets m.amb.
func (m *machine) updateAmbient(p *Plant, base float64) {
	m.ambWalk = m.ambWalk*p.walkRho + 1.5*p.walkSd*m.rng.NormFloat64()
	m.amb = base + m.ambOff + m.ambWalk
}
