// Command mqttrate measures raw QoS 1 delivery from a real Mosquitto to one paho
// subscriber through internal/mqttclient, the ceiling every Faultline consumer shares.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/faultline/faultline/internal/mqttclient"
	"github.com/faultline/faultline/internal/servers"
)

func main() {
	n := flag.Int("n", 20000, "messages")
	manual := flag.Bool("manual-ack", false, "ack manually right away")
	order := flag.Bool("order", true, "OrderMatters")
	extra := flag.String("extra", "", "extra mosquitto config")
	flag.Parse()
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "mqttrate")
	defer os.RemoveAll(dir)
	m, err := servers.StartMosquitto(ctx, dir, servers.MosquittoOptions{Extra: *extra})
	if err != nil {
		panic(err)
	}
	defer m.Stop()
	cfg := mqttclient.DefaultConfig()
	cfg.URL, cfg.ClientID, cfg.CleanSession, cfg.ManualAck, cfg.OrderMatters = m.URL, "sub", false, *manual, *order
	sub, _ := mqttclient.New(cfg, zerolog.Nop())
	var got atomic.Int64
	sub.Subscribe("t/#", 1, func(msg mqttclient.Message) {
		got.Add(1)
		if *manual {
			msg.Ack()
		}
	})
	if err := sub.Connect(ctx); err != nil {
		panic(err)
	}
	time.Sleep(300 * time.Millisecond)
	pcfg := mqttclient.DefaultConfig()
	pcfg.URL, pcfg.ClientID = m.URL, "pub"
	pub, _ := mqttclient.New(pcfg, zerolog.Nop())
	if err := pub.Connect(ctx); err != nil {
		panic(err)
	}
	start := time.Now()
	payload := []byte(`{"ts":"2026-01-01T00:00:00Z","values":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8}}`)
	window := make(chan (<-chan struct{}), 256)
	go func() {
		for d := range window {
			<-d
		}
	}()
	for i := 0; i < *n; i++ {
		for i-int(got.Load()) > 800 { // stay under mosquitto's 1000-message queue
			time.Sleep(100 * time.Microsecond)
		}
		d, _ := pub.PublishAsync(fmt.Sprintf("t/%d", i%100), 1, false, payload)
		window <- d
	}
	deadline := time.Now().Add(30 * time.Second)
	for got.Load() < int64(*n) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	el := time.Since(start)
	fmt.Printf("received=%d of %d msgs_per_s=%.0f\n", got.Load(), *n, float64(got.Load())/el.Seconds())
}
