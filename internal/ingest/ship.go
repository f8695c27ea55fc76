package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
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
// retryable errors and the data waits in the spool. Once a write has succeeded the
// database evidently exists: a token that may write but not create or list databases
// (the least privilege ingest needs) then stops the attempts instead of warning forever.
func (sh *shipper) ensureBucket(ctx context.Context) {
	for delay := 500 * time.Millisecond; ; delay = min(delay*2, 10*time.Second) {
		err := sh.w.EnsureBucket(ctx)
		if err == nil {
			return
		}
		if sh.healthy.Load() {
			sh.log.Info().Err(err).Msg("cannot check or create the InfluxDB database (a write-only token?), but writes succeed: not checking again")
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
		res, failed := sh.write(ctx, body, points)
		if failed {
			// A failed request's transport may still be reading body: start a new one.
			body = nil
		}
		if res.done {
			if err := sh.sp.Release(b); err != nil {
				sh.log.Error().Err(err).Msg("spool release")
			}
			// Only what InfluxDB kept counts as written; values are counted in
			// proportion when some points of the batch were dropped.
			sh.c.written.Add(int64(res.written))
			if points > 0 {
				sh.c.values.Add(int64(values) * int64(res.written) / int64(points))
			}
			sh.markWritten(maxTS)
		}
		if cap(body) > 4*sh.batch {
			body = nil
		}
	}
}

// writeResult says what became of a batch.
type writeResult struct {
	done    bool // written, or refused for good (and counted as dropped): release it
	written int  // points InfluxDB kept
}

// write writes body, splitting it when InfluxDB says it is too large (HTTP 413) and
// retrying retryable failures until ctx ends. failed is true when any attempt failed.
func (sh *shipper) write(ctx context.Context, body []byte, points int) (res writeResult, failed bool) {
	for delay := 100 * time.Millisecond; ; delay = min(delay*2, 5*time.Second) {
		start := time.Now()
		err := sh.w.WriteLines(ctx, body)
		if err == nil {
			sh.c.writeSeconds.Observe(time.Since(start).Seconds())
			sh.healthy.Store(true)
			return writeResult{done: true, written: points}, failed
		}
		failed = true
		if ctx.Err() != nil {
			return writeResult{}, failed // shutting down: the batch stays in the spool for the next run
		}
		sh.c.writeErrors.Add(1)
		var we *influxstore.WriteError
		isWE := errors.As(err, &we)
		if isWE && we.Status == http.StatusRequestEntityTooLarge {
			return sh.split(ctx, body, points, err)
		}
		if !influxstore.IsRetryable(err) {
			// InfluxDB will never take these lines (e.g. a field type conflict). Retrying
			// forever would block everything behind them. On a partial write it kept the
			// valid points and says how many it dropped.
			dropped := points
			if isWE && we.Dropped >= 0 && we.Dropped <= points {
				dropped = we.Dropped
			}
			sh.c.dropped.Add(int64(dropped))
			sh.log.Error().Err(err).Int("points", points).Int("dropped", dropped).Msg("InfluxDB refused points permanently; dropped (see faultline_ingest_points_dropped_total)")
			return writeResult{done: true, written: points - dropped}, failed
		}
		sh.healthy.Store(false)
		if isWE && we.Status == http.StatusNotFound {
			// The database or bucket is gone (dropped, or a retention job removed it):
			// create it again rather than retrying into a 404 until a restart.
			if berr := sh.w.EnsureBucket(ctx); berr != nil {
				err = fmt.Errorf("%w; re-creating the database: %v", err, berr)
			}
		}
		if isWE && we.RetryAfter > delay {
			delay = we.RetryAfter
		}
		if e := sh.rlog.event(&sh.log, zerolog.WarnLevel, "write_retry"); e != nil {
			e.Err(err).Dur("retry_in", delay).Int64("spool_pending_bytes", sh.sp.Pending()).Msg("InfluxDB write failed; data is safe in the spool, retrying")
		}
		select {
		case <-ctx.Done():
			return writeResult{}, failed
		case <-time.After(delay):
		}
	}
}

// split writes the two halves of a batch InfluxDB found too large (its body limit may be
// below --batch-bytes, e.g. a proxy's 1 MiB), down to single lines; a single line it
// still refuses is dropped and counted. The halves are new slices: the failed request's
// transport may still read body.
func (sh *shipper) split(ctx context.Context, body []byte, points int, cause error) (writeResult, bool) {
	lines := bytes.Count(body, []byte{'\n'})
	if lines <= 1 {
		sh.c.dropped.Add(int64(points))
		sh.log.Error().Err(cause).Int("bytes", len(body)).Msg("InfluxDB refuses a single line as too large; dropped (see faultline_ingest_points_dropped_total)")
		return writeResult{done: true}, true
	}
	if e := sh.rlog.event(&sh.log, zerolog.WarnLevel, "write_split"); e != nil {
		e.Err(cause).Int("bytes", len(body)).Msg("InfluxDB says the batch is too large; writing it in halves (lower --batch-bytes to match the server's body limit)")
	}
	cut := lineBoundary(body, lines/2)
	first, second := bytes.Clone(body[:cut]), bytes.Clone(body[cut:])
	p1 := points * (lines / 2) / lines // points are lines; kept proportional should they differ
	var out writeResult
	for _, half := range []struct {
		b []byte
		p int
	}{{first, p1}, {second, points - p1}} {
		r, _ := sh.write(ctx, half.b, half.p)
		if !r.done {
			return writeResult{}, true // shutting down: the whole batch is shipped again next run
		}
		out.written += r.written
	}
	out.done = true
	return out, true
}

// lineBoundary returns the offset just after the n-th newline of b.
func lineBoundary(b []byte, n int) int {
	off := 0
	for range n {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			return len(b)
		}
		off += i + 1
	}
	return off
}

// markWritten records the payload time of the newest point written; the lag gauge is
// computed from it when scraped, so it grows while nothing is written.
func (sh *shipper) markWritten(maxTS int64) {
	for {
		cur := sh.c.newestWritten.Load()
		if maxTS <= cur || sh.c.newestWritten.CompareAndSwap(cur, maxTS) {
			return
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
