package deploy_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// connRefusedNotAuthorized is the MQTT 3.1.1 CONNACK return code 5.
const connRefusedNotAuthorized = 5

// connackCode sends one MQTT 3.1.1 CONNECT on a raw TCP connection and returns the
// CONNACK return code (0 accepted, 4 bad user name or password, 5 not authorised).
// It exists because the paho adapter retries refused connects silently.
func connackCode(t *testing.T, port int, clientID, user, password string) byte {
	t.Helper()
	code, err := tryConnack(port, clientID, user, password)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func tryConnack(port int, clientID, user, password string) (byte, error) {
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write(connectPacket(clientID, user, password)); err != nil {
		return 0, fmt.Errorf("write CONNECT: %w", err)
	}
	var ack [4]byte
	if _, err := io.ReadFull(conn, ack[:]); err != nil {
		return 0, fmt.Errorf("read CONNACK: %w", err)
	}
	if ack[0] != 0x20 || ack[1] != 2 {
		return 0, fmt.Errorf("not a CONNACK: % x", ack)
	}
	return ack[3], nil
}

func connectPacket(clientID, user, password string) []byte {
	str := func(dst []byte, s string) []byte {
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
		return append(dst, s...)
	}
	flags := byte(0x02) // clean session
	body := str(nil, "MQTT")
	body = append(body, 4) // protocol level 3.1.1
	if user != "" {
		flags |= 0x80 | 0x40
	}
	body = append(body, flags, 0, 30) // keep alive 30 s
	body = str(body, clientID)
	if user != "" {
		body = str(body, user)
		body = str(body, password)
	}
	pkt := []byte{0x10}
	for n := len(body); ; { // remaining length, variable-length encoding
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		pkt = append(pkt, b)
		if n == 0 {
			break
		}
	}
	return append(pkt, body...)
}
