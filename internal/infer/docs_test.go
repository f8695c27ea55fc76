package infer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/faultline/faultline/internal/telemetry"
)

// TestDocAlertMessages keeps the alert examples of docs/telemetry.md (blocks tagged
// "json alert") honest about the one field internal/telemetry's doc test cannot check:
// the message, which the daemon builds with Message from the other fields.
func TestDocAlertMessages(t *testing.T) {
	raw, err := os.ReadFile("../../docs/telemetry.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(raw))
	var body strings.Builder
	in, start := false, 0
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		switch {
		case !in && strings.HasPrefix(text, "```"):
			info := strings.Fields(strings.TrimPrefix(text, "```"))
			in, start = len(info) == 2 && info[0] == "json" && info[1] == "alert", line
			body.Reset()
			if !in && len(info) > 0 { // some other block: skip to its end
				for sc.Scan() {
					line++
					if strings.HasPrefix(sc.Text(), "```") {
						break
					}
				}
			}
		case in && strings.HasPrefix(text, "```"):
			in = false
			n++
			var a telemetry.Alert
			if err := json.Unmarshal([]byte(body.String()), &a); err != nil {
				t.Errorf("docs/telemetry.md:%d: %v", start, err)
				continue
			}
			if want := Message(a); a.Message != want {
				t.Errorf("docs/telemetry.md:%d: message %q, the daemon sends %q", start, a.Message, want)
			}
		case in:
			body.WriteString(text + "\n")
		}
	}
	if n < 3 {
		t.Fatalf("found %d alert examples in docs/telemetry.md, want at least 3: the checker lost track of the doc", n)
	}
}
