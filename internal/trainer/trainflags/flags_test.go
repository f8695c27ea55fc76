package trainflags

import (
	"flag"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/faultline/faultline/internal/trainer"
)

func parse(t *testing.T, tasks Tasks, env map[string]string, args ...string) (*trainer.Options, []error) {
	t.Helper()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o trainer.Options
	var errs []error
	f := Register(fs, &o, tasks, func(k string) string { return env[k] }, &errs)
	if err := fs.Parse(args); err != nil {
		return nil, []error{err}
	}
	if tasks == RUL {
		o.Task = "rul" // as bin/eval rul sets it
	}
	return &o, append(errs, f.Finish(true)...)
}

// Environment fallbacks fill the options; flags override them; lists are parsed;
// --cmapss supplies the settings.
func TestEnvFallbacksAndLists(t *testing.T) {
	env := map[string]string{"FAULTLINE_TRAIN_LR": "0.0005", "FAULTLINE_TRAIN_HISTORY": "0.1,0.03", "FAULTLINE_TRAIN_AGE": "true", "FAULTLINE_TRAIN_PATIENCE": "40"}
	o, errs := parse(t, RUL, env, "--patience", "30", "--member-windows", "20,40", "--seed", "7")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if o.LR != 0.0005 || !slices.Equal(o.HistoryEWMA, []float64{0.1, 0.03}) || !o.AgeFeature || o.Patience != 30 ||
		!slices.Equal(o.MemberWindows, []int{20, 40}) || o.Seed != 7 || !slices.Equal(o.Settings, CMAPSSSettings) {
		t.Fatalf("options %+v", o)
	}
}

// Bad values, in flags or the environment, are reported together with their ranges.
func TestBadValuesReported(t *testing.T) {
	_, errs := parse(t, All, map[string]string{"FAULTLINE_TRAIN_EPOCHS": "many"}, "--val-frac", "0.95", "--history", "0.1,x", "--seed", "-1", "--combine", "sum")
	joined := ""
	for _, e := range errs {
		joined += e.Error() + "\n"
	}
	for _, want := range []string{`env FAULTLINE_TRAIN_EPOCHS="many": not an integer`, "--val-frac 0.95: use a held-out share above 0 and below 0.9",
		`--history "0.1,x": "x" is not a number`, "--seed -1", `--combine "sum": use max or rms`} {
		if !strings.Contains(joined, want) {
			t.Errorf("%q missing from:\n%s", want, joined)
		}
	}
}

// bin/eval rul offers the rul and shared flags only.
func TestRULFlagsOnly(t *testing.T) {
	if _, errs := parse(t, RUL, nil, "--context", "load"); len(errs) == 0 || !strings.Contains(errs[0].Error(), "flag provided but not defined") {
		t.Fatalf("--context accepted by the rul flag set: %v", errs)
	}
}

// --history none turns the rul default inputs off (an empty list, which the trainer
// keeps); no --history leaves the choice to the trainer (nil: DefaultRULHistory).
func TestHistoryNoneAndDefault(t *testing.T) {
	o, errs := parse(t, RUL, nil, "--history", "none")
	if len(errs) > 0 || o.HistoryEWMA == nil || len(o.HistoryEWMA) != 0 {
		t.Fatalf("--history none: %v, errors %v", o.HistoryEWMA, errs)
	}
	if r := o.Resolved(); len(r.HistoryEWMA) != 0 {
		t.Fatalf("--history none resolved to %v", r.HistoryEWMA)
	}
	o, errs = parse(t, RUL, nil)
	if len(errs) > 0 || o.HistoryEWMA != nil {
		t.Fatalf("no --history: %v, errors %v", o.HistoryEWMA, errs)
	}
	if r := o.Resolved(); !slices.Equal(r.HistoryEWMA, trainer.DefaultRULHistory()) {
		t.Fatalf("no --history resolved to %v", r.HistoryEWMA)
	}
}

// The age input is off unless asked for (flag or env; the flag wins).
func TestAgeOptIn(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		args []string
		want bool
	}{
		{nil, nil, false}, {nil, []string{"--age"}, true}, {nil, []string{"--age=false"}, false},
		{map[string]string{"FAULTLINE_TRAIN_AGE": "true"}, nil, true},
		{map[string]string{"FAULTLINE_TRAIN_AGE": "false"}, []string{"--age"}, true},
		{map[string]string{"FAULTLINE_TRAIN_AGE": "true"}, []string{"--age=false"}, false},
	} {
		o, errs := parse(t, RUL, c.env, c.args...)
		if len(errs) > 0 {
			t.Fatalf("%v %v: %v", c.env, c.args, errs)
		}
		if got := o.Resolved().AgeFeature; got != c.want {
			t.Errorf("%v %v: age %v, want %v", c.env, c.args, got, c.want)
		}
	}
	if _, errs := parse(t, RUL, map[string]string{"FAULTLINE_TRAIN_AGE": "sometimes"}); len(errs) == 0 {
		t.Fatal("FAULTLINE_TRAIN_AGE=sometimes accepted")
	}
}

// With --cmapss a rul model's age is the cycle column (the format's definition of a
// unit's age); --age-column or its env fallback names another, none turns it off, and
// the row count (--age) replaces it. Anomaly models get no age.
func TestAgeColumnDefaults(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tasks Tasks
		env   map[string]string
		args  []string
		want  string
		age   bool
	}{
		{"cmapss default", RUL, nil, nil, CMAPSSAgeColumn, false},
		{"flag", RUL, nil, []string{"--age-column", "hours"}, "hours", false},
		{"env", RUL, map[string]string{"FAULTLINE_TRAIN_AGE_COLUMN": "hours"}, nil, "hours", false},
		{"flag over env", RUL, map[string]string{"FAULTLINE_TRAIN_AGE_COLUMN": "hours"}, []string{"--age-column", "none"}, "", false},
		{"row count", RUL, nil, []string{"--age"}, "", true},
		{"anomaly", All, nil, nil, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, errs := parse(t, tc.tasks, tc.env, tc.args...)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			if o.AgeColumn != tc.want || o.AgeFeature != tc.age {
				t.Fatalf("age column %q, row count %v; want %q, %v", o.AgeColumn, o.AgeFeature, tc.want, tc.age)
			}
		})
	}
	// The refit is on for rul unless --refit-all=false (or its env fallback); an
	// anomaly run given it is refused.
	for _, tc := range []struct {
		args    []string
		env     map[string]string
		noRefit bool
	}{{nil, nil, false}, {[]string{"--refit-all=false"}, nil, true}, {nil, map[string]string{"FAULTLINE_TRAIN_REFIT_ALL": "false"}, true}} {
		o, errs := parse(t, RUL, tc.env, tc.args...)
		if len(errs) > 0 || o.NoRefit != tc.noRefit || o.Resolved().RefitAll == tc.noRefit {
			t.Errorf("%v %v: no refit %v, resolved refit %v (%v)", tc.args, tc.env, o.NoRefit, o.Resolved().RefitAll, errs)
		}
	}
	if o, errs := parse(t, All, nil); len(errs) > 0 || o.RefitAll || o.NoRefit {
		t.Fatalf("anomaly run: refit %v / %v (%v)", o.RefitAll, o.NoRefit, errs)
	}
	if _, errs := parse(t, All, nil, "--refit-all"); len(errs) == 0 || !strings.Contains(errs[0].Error(), "--refit-all: only for --task rul") {
		t.Fatalf("anomaly with --refit-all: %v", errs)
	}
	// Both at once is refused before any data is read.
	if _, errs := parse(t, RUL, nil, "--age", "--age-column", "cycle"); len(errs) == 0 || !strings.Contains(errs[0].Error(), "exclude each other") {
		t.Fatalf("--age with --age-column: %v", errs)
	}
}
