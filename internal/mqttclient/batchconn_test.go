package mqttclient

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	acc := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		acc <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-acc
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

func TestBatchConnKeepsOrderAndFlushesOnClose(t *testing.T) {
	c, srv := tcpPair(t)
	b := newBatchConn(c)
	var want bytes.Buffer
	for i := range 20000 {
		p := []byte{0x40, 0x02, byte(i >> 8), byte(i)} // PUBACK-sized writes
		want.Write(p)
		if n, err := b.Write(p); n != 4 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(srv)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("server read %d bytes, want %d in order", len(got), want.Len())
	}
	if _, err := b.Write([]byte{1}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close = %v, want net.ErrClosed", err)
	}
}

func TestBatchConnReadsThroughBuffer(t *testing.T) {
	c, srv := tcpPair(t)
	b := newBatchConn(c)
	defer b.Close()
	msg := bytes.Repeat([]byte("mqtt"), 1000)
	go func() { srv.Write(msg); srv.Close() }()
	got, err := io.ReadAll(b)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("read %d bytes, err %v; want %d", len(got), err, len(msg))
	}
}

func TestBatchConnWriteErrorSurfaces(t *testing.T) {
	c, srv := tcpPair(t)
	b := newBatchConn(c)
	srv.Close()
	c.Close() // the socket is gone: the flusher's write fails
	var err error
	for range 1000 {
		if _, err = b.Write([]byte("x")); err != nil {
			break
		}
	}
	<-b.done
	if _, err = b.Write([]byte("x")); err == nil {
		t.Fatal("Write after a failed flush returned no error")
	}
	b.Close()
}
