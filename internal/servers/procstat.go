package servers

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// StatusKB reads one kB field (VmRSS:, VmHWM:) of /proc/PID/status; 0 when the
// process is gone or the field is missing.
func StatusKB(pid int, key string) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key); ok {
			if f := strings.Fields(v); len(f) > 0 {
				n, _ := strconv.ParseInt(f[0], 10, 64)
				return n
			}
		}
	}
	return 0
}

// MemWatch keeps the peak of one /proc/PID/status memory field of a process, sampled
// until Stop; pid is asked on every sample, so a restarted process keeps being watched.
type MemWatch struct {
	peak atomic.Int64 // kB
	stop chan struct{}
	wg   sync.WaitGroup
}

// WatchMem samples key ("VmRSS:" for the resident set now, "VmHWM:" for the kernel's
// own high-water mark) every interval.
func WatchMem(pid func() int, key string, every time.Duration) *MemWatch {
	w := &MemWatch{stop: make(chan struct{})}
	w.wg.Go(func() {
		for {
			if kb := StatusKB(pid(), key); kb > w.peak.Load() {
				w.peak.Store(kb)
			}
			select {
			case <-w.stop:
				return
			case <-time.After(every):
			}
		}
	})
	return w
}

// Stop ends the sampling and returns the peak in MB.
func (w *MemWatch) Stop() float64 {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	w.wg.Wait()
	return w.PeakMB()
}

// PeakMB is the highest value seen so far, in MB.
func (w *MemWatch) PeakMB() float64 { return float64(w.peak.Load()) / 1024 }
