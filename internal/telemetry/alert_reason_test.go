package telemetry

import "testing"

// A new cause is named in the text: it need not lead this window's top sensors.
func TestReasonTextNamesTheNewCause(t *testing.T) {
	for _, c := range []struct {
		a    Alert
		want string
	}{
		{Alert{Reason: ReasonNewCause, Cause: "bearing_temp_c"}, "new cause: bearing_temp_c"},
		{Alert{Reason: ReasonNewCause}, "new cause"},
		{Alert{Reason: ReasonEscalated, Cause: "vib"}, "escalated"},
		{Alert{}, ""},
	} {
		if got := c.a.ReasonText(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.a, got, c.want)
		}
	}
}
