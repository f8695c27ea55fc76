package ops

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Service is a long-running service as its command drives it (ingest.Service and
// infer.Daemon have it): Run until ctx ends, Ready for /readyz.
type Service interface {
	Run(ctx context.Context) error
	Ready(ctx context.Context) error
}

// Endpoints are what a command serves beside its service.
type Endpoints struct {
	HTTPAddr  string // /healthz, /readyz, /metrics ("" = off)
	PprofAddr string // net/http/pprof on its own listener ("" = off)
	Registry  *prometheus.Registry
	// Hangup, when set, is called on each SIGHUP while the service runs. Without it
	// SIGHUP keeps Go's default, which exits without the service's drain; a systemd
	// unit's ExecReload sends it.
	Hangup func()
}

// Serve is the one way the services are started: it binds the endpoints (a busy
// address is refused before the service runs), runs svc until ctx ends and stops the
// endpoints once Run returned, so /metrics answers through the whole shutdown.
func Serve(ctx context.Context, svc Service, e Endpoints, log zerolog.Logger) error {
	if e.Hangup != nil {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		hctx, stop := context.WithCancel(ctx)
		defer stop()
		go func() {
			for {
				select {
				case <-hctx.Done():
					return
				case <-hup:
					e.Hangup()
				}
			}
		}()
	}
	srv, err := Start(e.HTTPAddr, e.Registry, svc.Ready, log)
	if err != nil {
		return fmt.Errorf("listen on --http-addr %s: %w (choose another address, or '' to disable)", e.HTTPAddr, err)
	}
	stopPprof, err := StartPprof(e.PprofAddr, log)
	if err != nil {
		shutdown(srv)
		return fmt.Errorf("listen on --pprof-addr %s: %w", e.PprofAddr, err)
	}
	defer stopPprof()
	defer shutdown(srv)
	return svc.Run(ctx)
}

func shutdown(srv *Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(ctx)
}
