package servers

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// MosquittoOptions change the generated broker configuration.
type MosquittoOptions struct {
	// Extra is appended to the generated mosquitto.conf (password_file, acl_file,
	// TLS listeners, max_queued_messages...). When it declares its own listener,
	// set NoDefaultListener.
	Extra string
	// NoDefaultListener leaves the plain loopback listener out of the config.
	NoDefaultListener bool
	// Port fixes the port; 0 picks a free one.
	Port int
}

// Mosquitto is a real Mosquitto broker process with persistence in a temp dir, so
// persistent sessions and queued QoS 1 messages survive Restart.
type Mosquitto struct {
	URL  string // tcp://127.0.0.1:port
	Port int
	Dir  string
	p    *Process
}

// MosquittoBinary finds mosquitto: $FAULTLINE_MOSQUITTO, PATH, /usr/sbin/mosquitto.
func MosquittoBinary() (string, error) {
	return findBinary("FAULTLINE_MOSQUITTO", "mosquitto", "/usr/sbin/mosquitto")
}

// StartMosquitto starts a broker in dir (created if needed) and waits until it listens.
func StartMosquitto(ctx context.Context, dir string, o MosquittoOptions) (*Mosquitto, error) {
	bin, err := MosquittoBinary()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("mosquitto dir: %w", err)
	}
	port := o.Port
	if port == 0 {
		if port, err = FreePort(); err != nil {
			return nil, err
		}
	}
	var conf strings.Builder
	if os.Geteuid() == 0 {
		// Started as root, mosquitto drops to user "mosquitto", which cannot write the
		// persistence file in our root-owned temp dir ("Error: Permission denied" on
		// save): retained messages and queued QoS 1 would then not survive Restart.
		conf.WriteString("user root\n")
	}
	fmt.Fprintf(&conf, "persistence true\npersistence_location %s/\nlog_dest stdout\nlog_type error\nlog_type warning\nlog_type notice\n", dir)
	// Without a listener line, allow_anonymous defaults to false in mosquitto 2.x.
	if !o.NoDefaultListener {
		fmt.Fprintf(&conf, "listener %d 127.0.0.1\nallow_anonymous true\n", port)
	}
	conf.WriteString(strings.ReplaceAll(o.Extra, "{{PORT}}", itoa(port)))
	confPath := filepath.Join(dir, "mosquitto.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		return nil, fmt.Errorf("write mosquitto config: %w", err)
	}
	m := &Mosquitto{URL: fmt.Sprintf("tcp://127.0.0.1:%d", port), Port: port, Dir: dir,
		p: &Process{Name: "mosquitto", Path: bin, Args: []string{"-c", confPath}, Env: os.Environ(), LogPath: filepath.Join(dir, "mosquitto.log")}}
	if err := m.Start(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

// Start (re)starts the broker on the same port and waits for it.
func (m *Mosquitto) Start(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	for {
		if err := m.p.Start(); err != nil {
			return err
		}
		err := waitTCP(ctx, m.p, fmt.Sprintf("127.0.0.1:%d", m.Port))
		if err == nil {
			return nil
		}
		// The port may still be held by the previous instance's socket; retry.
		m.p.Signal(syscall.SIGKILL, time.Second)
		if ctx.Err() != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Stop stops the broker gracefully (it saves persistent state on SIGTERM).
func (m *Mosquitto) Stop() { m.p.Stop(5 * time.Second) }

// Restart stops and starts the broker.
func (m *Mosquitto) Restart(ctx context.Context) error {
	m.Stop()
	return m.Start(ctx)
}

// PID of the running broker, 0 when stopped.
func (m *Mosquitto) PID() int { return m.p.PID() }

// Log returns the broker's log so far.
func (m *Mosquitto) Log() string { return m.p.Log() }
