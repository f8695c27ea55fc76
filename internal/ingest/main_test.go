package ingest

import (
	"io"
	"testing"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func zerologTo(w io.Writer) zerolog.Logger { return zerolog.New(w) }
