// Command simulate measures the simulator: messages per second and the CPU (from
// rusage) that 1,000 and 10,000 machines at 1 Hz need for generating and encoding,
// and, with -mqtt-url, for publishing to a real broker as well.
//
//	go run ./bench/simulate [-steps 120] [-machines 1000,10000] [-mqtt-url tcp://127.0.0.1:1883 -qos 1]
//
// cpu_cores is CPU seconds per simulated second at 1 Hz: the share of a core the
// simulator needs to keep real time (the broker's own CPU is not included).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/telemetry"
	"github.com/faultline/faultline/simulators"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench/simulate:", err)
		os.Exit(1)
	}
}

type discard struct{}

func (discard) Publish(context.Context, string, byte, bool, []byte) error { return nil }

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	steps := fs.Int("steps", 120, "simulated seconds (1 Hz steps) per measurement")
	list := fs.String("machines", "1000,10000", "plant sizes to measure")
	url := fs.String("mqtt-url", "", "also publish to this broker (empty: generate and encode only)")
	qos := fs.Int("qos", 0, "MQTT QoS when publishing")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintf(out, "# GOMAXPROCS=%d GOARCH=%s %s steps=%d broker=%q qos=%d\n", runtime.GOMAXPROCS(0), runtime.GOARCH, runtime.Version(), *steps, *url, *qos)
	for _, s := range strings.Split(*list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("-machines %q: %w", s, err)
		}
		if err := measure(out, n, *steps, *url, byte(*qos)); err != nil {
			return err
		}
	}
	return nil
}

func measure(out io.Writer, machines, steps int, url string, qos byte) error {
	cfg := simulators.DefaultConfig()
	cfg.Machines, cfg.FaultRate = machines, 1
	plant, err := simulators.NewPlant(cfg)
	if err != nil {
		return err
	}
	var pub simulators.Publisher = discard{}
	if url != "" {
		mc := mqttclient.DefaultConfig()
		mc.URL, mc.ClientID, mc.OrderMatters = url, fmt.Sprintf("bench-simulate-%d", os.Getpid()), false
		cl, err := mqttclient.New(mc, zerolog.Nop())
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := cl.Connect(ctx); err != nil {
			return err
		}
		defer cl.Disconnect(500 * time.Millisecond)
		pub = cl
	}
	st := &simulators.Stats{}
	cpu0, wall0 := cpuTime(), time.Now()
	err = plant.Run(context.Background(), pub, simulators.RunOptions{Topics: telemetry.MustTopics(""), QoS: qos,
		Duration: time.Duration(steps) * time.Second, Stats: st})
	wall, cpu := time.Since(wall0).Seconds(), (cpuTime() - cpu0).Seconds()
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "machines=%d msgs_per_s=%.0f cpu_cores=%.4f publish_errors=%d wall_s=%.2f\n",
		machines, float64(st.Messages.Load())/wall, cpu/float64(steps), st.PublishErrors.Load(), wall)
	return nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
