package trainer

import (
	"context"
	"testing"

	"github.com/faultline/faultline/internal/artifact"
)

// The level score and hold-off options reach the model file, where scoring and
// alerting read them.
func TestFitCarriesLevelAndHoldoff(t *testing.T) {
	train := Data{Columns: []string{"v"}, Series: []Series{wave(800, 0, 1)}}
	lv := &artifact.Likelihood{Short: 10, Long: 400, MinHistory: 100, MinStd: 0.05, Lag: 50}
	o := Options{Seed: 1, Epochs: 5, Forecast: 1, Window: 10, Holdoff: 288,
		Likelihood: &artifact.Likelihood{Short: 5, Long: 400, MinHistory: 100, MinStd: 0.05}, Level: lv}
	m, _, err := Fit(context.Background(), train, o)
	if err != nil {
		t.Fatal(err)
	}
	if m.Level == nil || *m.Level != *lv || m.Alert.Holdoff != 288 {
		t.Fatalf("level %+v holdoff %d, want %+v and 288", m.Level, m.Alert.Holdoff, lv)
	}
}
