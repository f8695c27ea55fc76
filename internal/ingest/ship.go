package ingest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/influxstore"
	"github.com/faultline/faultline/internal/spool"
)

// shipper moves spooled records to InfluxDB with Writers concurrent writers. Each batch is
// released (and its segment eventually deleted) only after InfluxDB accepted it.
type shipper struct {
	sp       *spool.Spool
	w        PointWriter
	c        *counters
	log      zerolog.Logger
	rlog     *rateLog
	batch    int
	interval time.Duration
	healthy  atomic.Bool // last write succeeded
}

func (sh *shipper) run(ctx context.Context, writers int) {
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() { sh.loop(ctx) })
	}
	wg.Go(func() { sh.ensureBucket(ctx) })
	wg.Wait()
}

// ensureBucket creates the database once InfluxDB answers; until then writes fail with
// retryable errors and the data waits in the spool.
func (sh *shipper) ensureBucket(ctx context.Context) {
	for delay := 500 * time.Millisecond; ; delay = min(delay*2, 10*time.Second) {
		err := sh.w.EnsureBucket(ctx)
		if err == nil {
			return
		}
		if e := sh.rlog.event(&sh.log, zerolog.WarnLevel, "ensure_bucket"); e != nil {
			e.Err(err).Msg("cannot create the InfluxDB database yet; retrying (data waits in the spool)")
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
	}
}

func (sh *shipper) loop(ctx context.Context) {
	var body []byte
	rbuf := make([]byte, sh.batch)
	for {
		b, err := sh.sp.NextBuf(ctx, rbuf, sh.batch, sh.interval)
		if err != nil {
			if errors.Is(err, spool.ErrCorrupt) {
				sh.log.Error().Err(err).Msg("spool corruption: a damaged record was skipped; the records after it are kept (disk fault?)")
				continue
			}
			return // ctx done or spool closed
		}
		var maxTS int64
		var points, values int
		body = body[:0]
		for _, r := range b.Records {
			ts, p, v, lines, ok := recordInfo(r)
			if !ok {
				continue
			}
			body = append(body, lines...)
			maxTS, points, values = max(maxTS, ts), points+p, values+v
		}
		done, failed := sh.write(ctx, body, points)
		if failed {
			// A failed request's transport may still be reading body: start a new one.
			body = nil
		}
		if done {
			if err := sh.sp.Release(b); err != nil {
				sh.log.Error().Err(err).Msg("spool release")
			}
			sh.c.written.Add(int64(points))
			sh.c.values.Add(int64(values))
			sh.c.lagNanos.Store(time.Now().UnixNano() - maxTS)
		}
		if cap(body) > 4*sh.batch {
			body = nil
		}
	}
}

// write retries retryable failures until ctx ends; done is true when the batch is done
// with (written, or refused for good and counted as dropped), failed when any attempt
// failed.
func (sh *shipper) write(ctx context.Context, body []byte, points int) (done, failed bool) {
	for delay := 100 * time.Millisecond; ; delay = min(delay*2, 5*time.Second) {
		start := time.Now()
		err := sh.w.WriteLines(ctx, body)
		if err == nil {
			sh.c.writeSeconds.Observe(time.Since(start).Seconds())
			sh.healthy.Store(true)
			return true, failed
		}
		failed = true
		if ctx.Err() != nil {
			return false, failed // shutting down: the batch stays in the spool for the next run
		}
		sh.c.writeErrors.Add(1)
		if !influxstore.IsRetryable(err) {
			// InfluxDB will never take these lines (e.g. a field type conflict). Retrying
			// forever would block everything behind them.
			sh.c.dropped.Add(int64(points))
			sh.log.Error().Err(err).Int("points", points).Msg("InfluxDB refused a batch permanently; dropped (see faultline_ingest_points_dropped_total)")
			return true, failed
		}
		sh.healthy.Store(false)
		var we *influxstore.WriteError
		if errors.As(err, &we) && we.RetryAfter > delay {
			delay = we.RetryAfter
		}
		if e := sh.rlog.event(&sh.log, zerolog.WarnLevel, "write_retry"); e != nil {
			e.Err(err).Dur("retry_in", delay).Int64("spool_pending_bytes", sh.sp.Pending()).Msg("InfluxDB write failed; data is safe in the spool, retrying")
		}
		select {
		case <-ctx.Done():
			return false, failed
		case <-time.After(delay):
		}
	}
}

// drain waits until everything spooled is written or ctx ends.
func (sh *shipper) drain(ctx context.Context) bool {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for sh.sp.Pending() > 0 || sh.sp.Outstanding() > 0 {
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
	return true
}
