package model

import "math"

// Schedule gives the learning rate for a 0-based epoch.
type Schedule interface {
	LR(epoch int) float64
}

// ConstantLR keeps the rate fixed.
type ConstantLR float64

func (c ConstantLR) LR(int) float64 { return float64(c) }

// StepDecay multiplies the rate by Gamma every Every epochs:
// lr = Base·Gamma^⌊epoch/Every⌋.
type StepDecay struct {
	Base, Gamma float64
	Every       int
}

func (s StepDecay) LR(epoch int) float64 {
	if s.Every <= 0 {
		return s.Base
	}
	return s.Base * math.Pow(s.Gamma, float64(epoch/s.Every))
}

// Cosine anneals from Base to Min over Epochs epochs:
// lr = Min + (Base-Min)·(1 + cos(π·epoch/Epochs))/2, then stays at Min.
type Cosine struct {
	Base, Min float64
	Epochs    int
}

func (c Cosine) LR(epoch int) float64 {
	if c.Epochs <= 0 {
		return c.Base
	}
	if epoch >= c.Epochs {
		return c.Min
	}
	return c.Min + (c.Base-c.Min)*(1+math.Cos(math.Pi*float64(epoch)/float64(c.Epochs)))/2
}
