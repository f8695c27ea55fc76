package ingest_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/faultline/faultline/internal/testenv"
)

// The path to a burst-safe default with an unconfigured broker (issue 16.11, docs/ingest.md
// "Broker limits"): with MQTT 3.1.1 the broker alone sets how many QoS 1 messages a
// subscriber may have unacknowledged (Mosquitto: max_inflight_messages, 20), and ingest
// acknowledges after fsync, so one connection takes about 20 messages per commit. An
// MQTT v5 subscriber sets that window itself (Receive Maximum), and Mosquitto's default
// configuration honours it. This pins that fact with a minimal v5 subscriber written
// out here (ingest's client library speaks 3.1.1 only): unacknowledged, it is sent
// exactly its Receive Maximum; with 20 (Mosquitto's own window) it gets 20.
func TestMosquittoHonoursV5ReceiveMaximumIntegration(t *testing.T) {
	broker := testenv.Mosquitto(t)
	addr := strings.TrimPrefix(broker.URL, "tcp://")
	pub := newPublisher(t, broker.URL, "rm-pub")
	for _, rm := range []int{20, 1000} {
		c, r := v5Subscribe(t, addr, fmt.Sprintf("rm-sub-%d", rm), rm, "rm/#")
		for i := range 1500 {
			pub.send(fmt.Sprintf("rm/%d", rm), fmt.Append(nil, i))
		}
		n := 0
		for {
			// Never acknowledged: the broker stops at the window.
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			h, _, err := v5Read(r)
			if err != nil {
				break
			}
			if h>>4 == 3 {
				n++
			}
		}
		c.Close()
		if n != rm {
			t.Errorf("Receive Maximum %d: %d messages in flight unacknowledged, want %d", rm, n, rm)
		}
	}
}

// v5Subscribe connects with MQTT v5 (clean start, Receive Maximum rm) and subscribes to
// filter with QoS 1.
func v5Subscribe(t *testing.T, addr, id string, rm int, filter string) (net.Conn, *bufio.Reader) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	props := []byte{0x21, byte(rm >> 8), byte(rm)} // Receive Maximum
	body := append(v5Str("MQTT"), 5, 0x02, 0, 30)  // v5, clean start, keepalive 30 s
	body = append(append(append(body, byte(len(props))), props...), v5Str(id)...)
	sub := append(append([]byte{0, 1, 0}, v5Str(filter)...), 1) // id 1, no properties, QoS 1
	for _, p := range []struct {
		packet []byte
		typ    byte
		ok     func(b []byte) bool // the reason code says success
	}{
		{v5Packet(0x10, body), 2, func(b []byte) bool { return len(b) >= 2 && b[1] == 0 }},
		{v5Packet(0x82, sub), 9, func(b []byte) bool { return len(b) >= 4 && b[len(b)-1] == 1 }},
	} {
		if _, err := c.Write(p.packet); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if h, b, err := v5Read(r); err != nil || h>>4 != p.typ || !p.ok(b) {
			t.Fatalf("packet type %d answered %x %x %v", p.typ, h, b, err)
		}
	}
	return c, r
}

func v5Str(s string) []byte { return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...) }

func v5Packet(typ byte, body []byte) []byte {
	return append(append([]byte{typ}, binary.AppendUvarint(nil, uint64(len(body)))...), body...)
}

func v5Read(r *bufio.Reader) (byte, []byte, error) {
	h, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return 0, nil, err
	}
	b := make([]byte, n)
	_, err = io.ReadFull(r, b)
	return h, b, err
}
