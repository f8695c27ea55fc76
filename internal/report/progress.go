package report

import (
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/model"
)

// Progress renders a training run's epochs. On a terminal it rewrites one line with
// \r (network i/N, epoch, losses, ETA); otherwise it logs a structured line every
// Every epochs and when each network finishes. It is safe for concurrent use, and
// Epoch matches trainer.Options.Progress.
type Progress struct {
	mu        sync.Mutex
	w         io.Writer
	tty       bool
	log       zerolog.Logger
	job       string
	nets      int // expected networks (an estimate: the trainer drops unusable sensors)
	maxEpochs int
	every     int
	now       func() time.Time

	cur, lastNet, lastEpoch int
	last                    model.EpochStats
	netStart, lastDraw      time.Time
	doneDur                 time.Duration
	done                    int
}

// NewProgress returns a progress renderer for one job. nets is the number of networks
// expected, maxEpochs the epoch budget of each.
func NewProgress(w io.Writer, tty bool, log zerolog.Logger, job string, nets, maxEpochs int) *Progress {
	return &Progress{w: w, tty: tty, log: log, job: job, nets: max(1, nets), maxEpochs: max(1, maxEpochs), every: 20, now: time.Now, cur: -1, lastEpoch: math.MaxInt}
}

// Epoch records one epoch of network net.
func (p *Progress) Epoch(net int, s model.EpochStats) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	// The trainer numbers networks within one call; leave-one-out models call it once
	// per sensor, so a restart of the epoch count also means a new network.
	if p.cur < 0 || net != p.lastNet || s.Epoch <= p.lastEpoch {
		if p.cur >= 0 {
			p.finishNet(now)
		}
		p.cur++
		p.netStart = now
	}
	p.lastNet, p.lastEpoch, p.last = net, s.Epoch, s
	if p.cur >= p.nets {
		p.nets = p.cur + 1
	}
	if p.tty {
		if now.Sub(p.lastDraw) >= 100*time.Millisecond {
			p.lastDraw = now
			fmt.Fprintf(p.w, "\r%-80s", p.line(now))
		}
		return
	}
	if s.Epoch%p.every == 0 {
		p.log.Info().Int("net", p.cur+1).Int("nets", p.nets).Int("epoch", s.Epoch).
			Float64("train_loss", s.TrainLoss).Float64("val_loss", nanToNeg(s.ValLoss)).Dur("eta", p.eta(now)).Msg("training")
	}
}

func (p *Progress) finishNet(now time.Time) {
	p.done++
	p.doneDur += now.Sub(p.netStart)
	if !p.tty {
		p.log.Info().Int("net", p.cur+1).Int("nets", p.nets).Int("epochs", p.last.Epoch+1).
			Float64("train_loss", p.last.TrainLoss).Float64("val_loss", nanToNeg(p.last.ValLoss)).Msg("network trained")
	}
}

// Done ends the display: the last network's summary, or a newline after the
// rewritten terminal line.
func (p *Progress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur < 0 {
		return
	}
	if p.tty {
		fmt.Fprintf(p.w, "\r%-80s\n", p.line(p.now()))
		return
	}
	p.finishNet(p.now())
	p.cur = -1
}

func (p *Progress) line(now time.Time) string {
	return fmt.Sprintf("%s net %d/%d epoch %d/%d train %.4g val %.4g ETA %s",
		p.job, p.cur+1, p.nets, p.last.Epoch+1, p.maxEpochs, p.last.TrainLoss, p.last.ValLoss, p.eta(now).Round(time.Second))
}

// eta estimates the time left: finished networks give the typical network time (early
// stopping makes the epoch budget a poor guide); before the first one finishes, the
// current network's epoch rate times the budget is an upper bound.
func (p *Progress) eta(now time.Time) time.Duration {
	inNet := now.Sub(p.netStart)
	perEpoch := inNet / time.Duration(p.last.Epoch+1)
	left := perEpoch * time.Duration(max(0, p.maxEpochs-p.last.Epoch-1))
	perNet := perEpoch * time.Duration(p.maxEpochs)
	if p.done > 0 {
		perNet = p.doneDur / time.Duration(p.done)
		left = min(left, max(0, perNet-inNet))
	}
	return left + perNet*time.Duration(max(0, p.nets-p.cur-1))
}

// nanToNeg maps an undefined loss to -1: zerolog writes NaN as a string, which log
// pipelines parsing numbers choke on.
func nanToNeg(v float64) float64 {
	if math.IsNaN(v) {
		return -1
	}
	return v
}
