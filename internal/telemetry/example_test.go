package telemetry_test

import (
	"fmt"
	"time"

	"github.com/faultline/faultline/internal/telemetry"
)

func Example() {
	topics := telemetry.MustTopics("factory")
	pump := telemetry.Machine{Site: "plant1", Line: "line-a", Machine: "pump_07"}
	topic := topics.Telemetry(pump)
	fmt.Println(topic)

	// A subscriber learns the machine from the topic...
	parsed, err := topics.Parse(topic)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(parsed.Kind, parsed.Machine.Key())

	// ...and the values from the payload. The string value is dropped and reported;
	// the good values are kept.
	payload := []byte(`{"ts":"2025-06-01T12:00:00Z","values":{"temp_c":71.5,"vib_rms":0.02,"rpm":"fast"}}`)
	now := time.Date(2025, 6, 1, 12, 0, 1, 0, time.UTC)
	samples, rejected, err := telemetry.DecodeTelemetry(payload, telemetry.DefaultLimits(), now)
	if err != nil {
		fmt.Println("rejected:", telemetry.ReasonOf(err))
		return
	}
	for _, s := range samples {
		for _, v := range s.Values {
			fmt.Println(s.Time.Format(time.RFC3339), v.Sensor, v.V)
		}
	}
	for _, r := range rejected {
		fmt.Println("dropped", r.Sensor, r.Reason)
	}

	// A message with nothing usable is rejected as a whole, with a reason for the metrics.
	_, _, err = telemetry.DecodeTelemetry([]byte(`{"values":{"temp_c":70}}`), telemetry.DefaultLimits(), now)
	fmt.Println("rejected:", telemetry.ReasonOf(err))

	// Output:
	// factory/plant1/line-a/pump_07/telemetry
	// telemetry plant1/line-a/pump_07
	// 2025-06-01T12:00:00Z temp_c 71.5
	// 2025-06-01T12:00:00Z vib_rms 0.02
	// dropped rpm wrong_type
	// rejected: missing_timestamp
}

func ExampleEncodeTelemetry() {
	s := telemetry.Sample{
		Time:   time.Date(2025, 6, 1, 12, 0, 0, 500_000_000, time.UTC),
		Values: []telemetry.Value{{Sensor: "temp_c", V: 71.5}, {Sensor: "flow_lpm", V: 120}},
	}
	fmt.Println(string(telemetry.EncodeTelemetry(nil, s)))
	// Output:
	// {"ts":"2025-06-01T12:00:00.5Z","values":{"temp_c":71.5,"flow_lpm":120}}
}
