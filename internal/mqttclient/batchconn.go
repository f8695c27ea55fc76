package mqttclient

import (
	"bufio"
	"net"
	"net/url"
	"runtime"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// Config.BatchIO: paho reads every packet with three or more read calls (header byte,
// each length byte, body) straight from the socket and writes every packet, a 4-byte
// PUBACK included, with its own write call. At tens of thousands of messages a second
// those system calls cost a consumer more CPU than decoding the payloads (measured in
// docs/ingest.md). batchConn reads through a buffer and hands writes to a flusher
// goroutine, which writes whatever accumulated while its previous write was in the
// kernel: no added latency when idle, few system calls under load.

const (
	batchReadBuffer = 64 << 10
	batchMaxPending = 1 << 20          // Write blocks beyond this: the socket is not draining
	batchWriteLimit = 10 * time.Second // per flush, like paho's own write timeout
)

// dialBatched is paho's CustomOpenConnectionFn for plain TCP URLs with BatchIO.
func dialBatched(uri *url.URL, o paho.ClientOptions) (net.Conn, error) {
	d := net.Dialer{Timeout: o.ConnectTimeout}
	c, err := d.Dial("tcp", uri.Host)
	if err != nil {
		return nil, err
	}
	return newBatchConn(c), nil
}

// batchConn wraps a TCP connection. A write error is returned by the next Write and
// closes the socket, so paho's reader fails and the client reconnects; a QoS 1
// acknowledgement lost that way is redelivered by the broker, as after any connection loss.
type batchConn struct {
	net.Conn
	r *bufio.Reader

	mu      sync.Mutex
	cond    *sync.Cond // signalled when the flusher took the pending bytes or failed
	pending []byte
	err     error
	closing bool
	kick    chan struct{} // capacity 1
	done    chan struct{} // closed when the flusher returned
}

func newBatchConn(c net.Conn) *batchConn {
	b := &batchConn{Conn: c, r: bufio.NewReaderSize(c, batchReadBuffer), kick: make(chan struct{}, 1), done: make(chan struct{})}
	b.cond = sync.NewCond(&b.mu)
	go b.flush()
	return b
}

func (b *batchConn) Read(p []byte) (int, error) { return b.r.Read(p) }

// Write queues p for the flusher. It returns an earlier write's error, if any.
func (b *batchConn) Write(p []byte) (int, error) {
	b.mu.Lock()
	for len(b.pending) >= batchMaxPending && b.err == nil && !b.closing {
		b.cond.Wait()
	}
	switch {
	case b.err != nil:
		err := b.err
		b.mu.Unlock()
		return 0, err
	case b.closing:
		b.mu.Unlock()
		return 0, net.ErrClosed
	}
	b.pending = append(b.pending, p...)
	b.mu.Unlock()
	select {
	case b.kick <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (b *batchConn) flush() {
	defer close(b.done)
	var spare []byte
	for {
		<-b.kick
		// Let the writer queue what it has in hand (paho's outgoing goroutine is usually
		// mid-way through a run of PUBACKs) before taking the pending bytes.
		runtime.Gosched()
		b.mu.Lock()
		buf, closing := b.pending, b.closing
		b.pending = spare[:0]
		b.cond.Broadcast()
		b.mu.Unlock()
		if len(buf) > 0 {
			_ = b.Conn.SetWriteDeadline(time.Now().Add(batchWriteLimit))
			if _, err := b.Conn.Write(buf); err != nil {
				b.mu.Lock()
				b.err = err
				b.cond.Broadcast()
				b.mu.Unlock()
				b.Conn.Close()
				return
			}
		}
		if cap(buf) > batchMaxPending {
			buf = nil // do not keep a burst's buffer
		}
		spare = buf
		if closing {
			return
		}
	}
}

// Close writes what is queued (bounded by the write limit), then closes the socket.
func (b *batchConn) Close() error {
	b.mu.Lock()
	already := b.closing
	b.closing = true
	b.cond.Broadcast()
	b.mu.Unlock()
	if !already {
		select {
		case b.kick <- struct{}{}:
		default:
		}
	}
	<-b.done
	return b.Conn.Close()
}

// Write deadlines belong to the flusher; paho's per-packet deadlines would race with
// it. Read deadlines pass through.
func (b *batchConn) SetWriteDeadline(time.Time) error { return nil }

func (b *batchConn) SetDeadline(t time.Time) error { return b.Conn.SetReadDeadline(t) }
