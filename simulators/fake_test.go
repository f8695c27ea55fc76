package simulators

import (
	"context"
	"hash"
	"sync"
)

// recorder is an in-process Publisher for unit tests: it hashes every (topic, payload).
type recorder struct {
	mu    sync.Mutex
	h     hash.Hash
	count int
	msgs  []message
	keep  bool
}

type message struct {
	topic   string
	payload []byte
}

func (r *recorder) Publish(_ context.Context, topic string, _ byte, _ bool, payload []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.count++
	if r.h != nil {
		r.h.Write([]byte(topic))
		r.h.Write(payload)
	}
	if r.keep {
		r.msgs = append(r.msgs, message{topic, append([]byte(nil), payload...)})
	}
	return nil
}
