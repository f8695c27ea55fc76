package simulators

import "math"

// stepEnv is what every machine's physics sees at one step.
type stepEnv struct {
	dt  float64 // seconds
	lag lags
}

// lags are the per-step smoothing factors 1-exp(-dt/tau) of the first-order lags, computed
// once per plant because exp is the most expensive thing in a step.
type lags struct {
	speed, power, bearing, winding, oil float64
}

func newLags(dt float64) lags {
	a := func(tau float64) float64 { return 1 - math.Exp(-dt/tau) }
	return lags{
		speed:   a(6),    // drive ramps to a new speed in ~20 s
		power:   a(2),    // electrical power settles in seconds
		bearing: a(900),  // bearing housing: 15 min time constant
		winding: a(1500), // stator winding and frame: 25 min
		oil:     a(240),  // compressor oil circuit: 4 min
	}
}

// effects are the physical consequences of the active machine faults, 0 = none.
type effects struct {
	bearing    float64 // bearing damage 0..1
	imbalance  float64 // imbalance/misalignment severity 0..1
	cooling    float64 // loss of cooling 0..1
	cavitation float64 // 0..1
	leak       float64 // 0..1
}

// follow moves x toward target by the lag factor a: a discretised first-order system.
func follow(x, target, a float64) float64 { return x + (target-x)*a }

// approachSetPoints ramps the actual speed and load toward the regime's set points.
func approachSetPoints(m *machine, env *stepEnv) {
	ts, tl := m.setSpeed, m.setLoad
	if !m.running {
		ts, tl = 0, 0
	}
	m.speed = follow(m.speed, ts, env.lag.speed)
	m.load = follow(m.load, tl, env.lag.speed)
}

// vibration is an ISO 10816-style velocity RMS in mm/s: the residual-unbalance
// component grows with speed squared (centrifugal force), bearing defects add a
// component proportional to speed and damage, and the quadrature sum is what an RMS
// meter over a broad band reads.
func vibration(n, base, imbalance, bearing, extra float64) float64 {
	unb := base * n * n * (1 + 4*imbalance)
	brg := 9 * bearing * n
	floor := 0.3 * n
	return math.Sqrt(unb*unb+brg*brg+floor*floor+extra*extra) + 0.05
}

// stepPump: centrifugal pump, 30 kW, 1480 rpm, 120 m3/h. Affinity laws: flow ~ n,
// head ~ n^2, power ~ n^3; the load set point is the discharge valve opening.
func stepPump(m *machine, env *stepEnv, out []float64) {
	approachSetPoints(m, env)
	n, v, e := m.speed, m.load, &m.eff
	cavNoise := 0.0
	if e.cavitation > 0 && n > 0.2 {
		cavNoise = e.cavitation * m.rng.NormFloat64()
	}
	q := 120 * n * math.Sqrt(v) * (1 - 0.15*e.cavitation) * (1 + 0.04*cavNoise)
	rel := q / (120 * math.Max(n, 0.05))
	p := 6.5 * n * n * (1 - 0.35*rel*rel) * (1 - 0.1*e.cavitation) * (1 + 0.05*cavNoise)
	power := 30 * n * n * n * (0.35 + 0.65*v) * (1 + 0.15*e.bearing)
	m.power = follow(m.power, power, env.lag.power)
	current := 0.0
	if n > 0.01 {
		current = 14*n + 41*m.power/30
	}
	rise := (6*n + 20*m.power/30 + 35*e.bearing) / (1 - 0.6*e.cooling)
	m.th[0] = follow(m.th[0], m.amb+rise, env.lag.bearing)
	out[0] = 1480 * n
	out[1] = math.Max(q, 0)
	out[2] = math.Max(p, 0)
	out[3] = current
	out[4] = m.th[0]
	out[5] = vibration(n, 0.9, e.imbalance, e.bearing, 3*e.cavitation*math.Abs(cavNoise)*n)
	out[6] = m.amb
}

// stepMotor: induction motor + gearbox, 45 kW, 1485 rpm, 80 A. Current is the
// quadrature sum of magnetising and load current; copper losses ~ I^2 heat the winding
// with a 25 min lag; bearing defects make vibration impulsive (kurtosis rises early in
// wear and falls back as damage spreads and the signal becomes noise-like again).
func stepMotor(m *machine, env *stepEnv, out []float64) {
	approachSetPoints(m, env)
	n, l, e := m.speed, m.load, &m.eff
	torque := l + 0.06*e.bearing*n
	m.power = follow(m.power, 45*torque*n, env.lag.power)
	current := 0.0
	if n > 0.01 {
		mag, act := 0.35*80*math.Min(n*1.5, 1), 0.94*80*torque
		current = math.Sqrt(mag*mag + act*act)
	}
	i := current / 80
	windRise := (85*i*i + 6*n) / (1 - 0.65*e.cooling)
	brgRise := (10*n + 8*torque + 40*e.bearing) / (1 - 0.25*e.cooling)
	m.th[0] = follow(m.th[0], m.amb+windRise, env.lag.winding)
	m.th[1] = follow(m.th[1], m.amb+brgRise, env.lag.bearing)
	kurt := 3.0
	if n > 0.05 {
		kurt += 7 * math.Sqrt(e.bearing) * (1 - e.bearing)
	}
	out[0] = 1485 * n
	out[1] = 100 * torque * b2f(n > 0.01)
	out[2] = current
	out[3] = m.th[0]
	out[4] = m.th[1]
	out[5] = vibration(n, 1.0, e.imbalance, e.bearing, 0)
	out[6] = kurt
	out[7] = m.amb
}

// stepCompressor: oil-injected screw compressor, 55 kW, 9 m3/min free air delivery,
// 6 m3 receiver, loads below 6.5 bar and unloads above 7.5 bar (gauge). The receiver
// pressure integrates delivery minus demand; a leak adds demand, so the compressor
// runs loaded longer and uses more energy while production (out[6]) stays the same.
// The drive runs at a fixed 2970 rpm (out[7]) or stands.
// Oil (discharge) temperature follows power with a 4 min lag.
func stepCompressor(m *machine, env *stepEnv, out []float64) {
	approachSetPoints(m, env)
	// Air demand is the plant's, not the compressor's: it goes on while the compressor
	// is stopped, and the receiver pressure falls.
	m.load = follow(m.load, m.setLoad, env.lag.speed)
	n, e := m.speed, &m.eff
	running := m.running && n > 0.5
	switch {
	case !running:
		m.loaded = false
	case m.pTank <= 6.5:
		m.loaded = true
	case m.pTank >= 7.5:
		m.loaded = false
	}
	demand := (9*m.load + 2.2*e.leak) * math.Min(1, m.pTank/6.5+0.1)
	delivery := 0.0
	power := 0.0
	if running {
		power = 0.3 * 55
		if m.loaded {
			delivery = 9 * (1 - 0.05*e.bearing)
			power = 55 * (0.85 + 0.15*m.pTank/7.5) * (1 + 0.1*e.bearing)
		}
	}
	m.pTank = math.Max(0, m.pTank+(delivery-demand)/60*1.013/6*env.dt)
	m.power = follow(m.power, power, env.lag.power)
	m.th[0] = follow(m.th[0], m.amb+1.1*m.power/(1-0.6*e.cooling), env.lag.oil)
	out[0] = m.pTank
	out[1] = m.th[0]
	out[2] = m.power
	out[3] = demand
	out[4] = vibration(n, 1.4, e.imbalance, e.bearing, 0.8*b2f(m.loaded))
	out[5] = m.amb
	// Production drives the plant's air demand (the loads are shares of the rated
	// delivery; the busiest level, 0.8, is full production); it goes on while the
	// compressor is stopped.
	out[6] = 100 * m.load / 0.8
	out[7] = 2970 * n
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
