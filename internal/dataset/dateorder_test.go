package dataset

import (
	"strings"
	"testing"
	"time"
)

// Slashed dates in the order the user states: day or month first, padded or not, / or
// -, with minutes, seconds, fractions, and a 12-hour clock; each the instant meant.
func TestSlashedDates(t *testing.T) {
	at := func(mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(2024, mo, d, h, mi, s, ns, time.UTC)
	}
	for _, c := range []struct {
		order, in string
		want      time.Time
	}{
		{MDY, "3/1/2024 7:05:00 AM", at(3, 1, 7, 5, 0, 0)},
		{MDY, "3/1/2024 7:05 PM", at(3, 1, 19, 5, 0, 0)},
		{MDY, "03/01/2024 07:05:09", at(3, 1, 7, 5, 9, 0)},
		{MDY, "12/31/2024 23:59:59.25", at(12, 31, 23, 59, 59, 250_000_000)},
		{MDY, "3/1/2024 12:00:00 AM", at(3, 1, 0, 0, 0, 0)},
		{MDY, "3/1/2024 12:30 AM", at(3, 1, 0, 30, 0, 0)},
		{MDY, "3/1/2024 12:00:00 PM", at(3, 1, 12, 0, 0, 0)},
		{MDY, "3/1/2024 12:30:15 pm", at(3, 1, 12, 30, 15, 0)},
		{MDY, "3/1/2024 11:59:59PM", at(3, 1, 23, 59, 59, 0)},
		{MDY, "3/1/2024", at(3, 1, 0, 0, 0, 0)},
		{MDY, "2/29/2024 1:02:03.000004", at(2, 29, 1, 2, 3, 4000)},
		{MDY, "3-1-2024 07:05", at(3, 1, 7, 5, 0, 0)},
		{DMY, "03/01/2024 07:05:09", at(1, 3, 7, 5, 9, 0)},
		{DMY, "3-1-2024 07:05", at(1, 3, 7, 5, 0, 0)},
		{DMY, "31/12/2024 0:00", at(12, 31, 0, 0, 0, 0)},
		{DMY, "13/01/2024 07:05:09.5", at(1, 13, 7, 5, 9, 500_000_000)},
		{DMY, "13/01/2024 07:05:09,5", at(1, 13, 7, 5, 9, 500_000_000)},
		{DMY, "1/3/2024", at(3, 1, 0, 0, 0, 0)},
		{DMY, "01/03/2024 7:05 PM", at(3, 1, 19, 5, 0, 0)},
		// The forms read without an order are read alike with one.
		{DMY, "2024-03-01 07:05:09", at(3, 1, 7, 5, 9, 0)},
		{MDY, "01.03.2024 07:05", at(3, 1, 7, 5, 0, 0)},
		{MDY, "2024/03/01 07:05", at(3, 1, 7, 5, 0, 0)},
	} {
		v, isTS, err := parseTimeOrder(c.in, c.order)
		if err != nil || !isTS || v != float64(c.want.UnixNano())/1e9 {
			t.Errorf("%s %q: %v %v %v, want %v", c.order, c.in, time.Unix(0, int64(v*1e9)).UTC(), isTS, err, c.want)
		}
	}
	// Numbers stay numbers.
	if v, isTS, err := parseTimeOrder("12", MDY); err != nil || isTS || v != 12 {
		t.Errorf("12: %v %v %v", v, isTS, err)
	}
}

// A slashed value that is no date in the stated order is an error naming the order;
// other text keeps the reader's error; without an order slashed dates are refused.
func TestSlashedDatesInvalid(t *testing.T) {
	for _, c := range []struct{ order, in, want string }{
		{MDY, "13/01/2024 07:05", "not a date in month/day/year order (--date-order mdy): month 13"},
		{DMY, "01/13/2024", "not a date in day/month/year order (--date-order dmy): month 13"},
		{DMY, "32/01/2024", "day 32 of a month of 31 days"},
		{MDY, "2/30/2024", "day 30 of a month of 29 days"},
		{MDY, "2/29/2023", "day 29 of a month of 28 days"},
		{DMY, "0/1/2024", "day 0"},
		{MDY, "3/1/2024 13:05 PM", "hour 13 on a 12-hour clock"},
		{MDY, "3/1/2024 0:05 AM", "hour 0 on a 12-hour clock"},
		{DMY, "3/1/2024 24:00", "hour 24"},
		{DMY, "3/1/2024 23:60", "minute 60"},
		{DMY, "3/1/2024 23:59:60", "second 60"},
		{DMY, "3/1-2024", "neither a number nor a timestamp like 2006-01-02 15:04:05, RFC 3339 or (day/month/year) 01/03/2024"},
		{MDY, "3/1/24", "(month/day/year) 03/01/2024"},
		{MDY, "yesterday", "neither a number nor a timestamp"},
		{"", "3/1/2024 7:05:00 AM", "neither a number nor a timestamp like 2006-01-02 15:04:05 or RFC 3339"},
		{"", "03/01/2024", "neither a number nor a timestamp like 2006-01-02 15:04:05 or RFC 3339: for dates like 03/01/2024 give --date-order dmy (day first) or mdy (month first)"},
	} {
		_, _, err := parseTimeOrder(c.in, c.order)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %q: %v, want %q", c.order, c.in, err, c.want)
		}
	}
	// A file in day-first order read as month first is refused at its 13th day, by line.
	in := "ts,x\n12/01/2024 07:05,1\n13/01/2024 07:05,2\n"
	if _, err := Read(strings.NewReader(in), Options{TimeColumn: "ts", DateOrder: MDY}); err == nil || !strings.Contains(err.Error(), "line 3, time column: \"13/01/2024 07:05\" is not a date in month/day/year order") {
		t.Errorf("dmy file read as mdy: %v", err)
	}
}

func TestDateOrderOption(t *testing.T) {
	in := "Date,x\n3/1/2024 7:05:00 AM,1\n3/1/2024 7:05:10 AM,2\n3/1/2024 1:00:00 PM,3\n"
	tb, err := Read(strings.NewReader(in), Options{TimeColumn: "Date", DateOrder: MDY})
	if err != nil {
		t.Fatal(err)
	}
	t0 := float64(time.Date(2024, 3, 1, 7, 5, 0, 0, time.UTC).Unix())
	if !tb.Timestamps || tb.T[0] != t0 || tb.T[1] != t0+10 || tb.T[2] != t0+5*3600+55*60 {
		t.Fatalf("T %v timestamps %v, want from %v", tb.T, tb.Timestamps, t0)
	}
	// Anything but dmy, mdy or "" is refused before a line is read, naming those.
	for _, bad := range []string{"ydm", "DMY", "us"} {
		_, err := Read(strings.NewReader(in), Options{TimeColumn: "Date", DateOrder: bad})
		if err == nil || !strings.Contains(err.Error(), "use dmy (day first") || !strings.Contains(err.Error(), "or mdy (month first") {
			t.Errorf("%q: %v, want the allowed orders", bad, err)
		}
		if CheckDateOrder(bad) == nil {
			t.Errorf("CheckDateOrder(%q) accepted", bad)
		}
	}
	for _, ok := range []string{"", DMY, MDY} {
		if err := CheckDateOrder(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	// Without an order the column is refused by name, saying how to read it; with the
	// wrong order for its first cell the message says to check the order.
	_, err = Read(strings.NewReader(in), Options{})
	if err == nil || !strings.Contains(err.Error(), `column "Date" holds times in a form not read`) || !strings.Contains(err.Error(), "for dates like 03/01/2024 give --date-order dmy (day first) or mdy (month first)") {
		t.Errorf("no order: %v", err)
	}
	_, err = Read(strings.NewReader("when,x\n13/01/2024 07:05,1\n"), Options{DateOrder: MDY})
	if err == nil || !strings.Contains(err.Error(), "with --date-order mdy, dates like 03/01/2024 are read as month/day/year: check the order") {
		t.Errorf("wrong order: %v", err)
	}
	// A column of times of day is no date in any order: no word of the order.
	_, err = Read(strings.NewReader("clock,x\n7:05 PM,1\n"), Options{DateOrder: MDY})
	if err == nil || !strings.Contains(err.Error(), `column "clock" holds times in a form not read (first "7:05 PM" at line 2): write them as 2006-01-02 15:04:05 (ISO 8601, RFC 3339) or 02.01.2006 15:04:05; or give --ignore clock`) {
		t.Errorf("time of day with an order: %v", err)
	}
}

// The cost of a slashed date against an ISO one, per cell (go test -bench ParseTime).
func BenchmarkParseTime(b *testing.B) {
	for _, c := range []struct{ name, in, order string }{
		{"iso", "2024-03-01 07:05:09", ""},
		{"iso with order", "2024-03-01 07:05:09", MDY},
		{"mdy", "3/1/2024 7:05:09 AM", MDY},
		{"dmy", "01/03/2024 07:05:09.5", DMY},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := parseTimeOrder(c.in, c.order); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// DetectColumns finds a column of slashed dates as the time column with the order
// (by name or by content), and not without it.
func TestDetectSlashedColumns(t *testing.T) {
	for _, c := range []struct{ name, in, order, want string }{
		{"named, mdy", "Date,x\n3/1/2024 7:05:00 AM,1\n", MDY, "Date"},
		{"named, dmy", "Date;x\n13/01/2024 07:05;1,5\n", DMY, "Date"},
		{"content, dmy", "id;Zeitstempel;x\n1;13.01.2024 07:05;1,5\n", DMY, "Zeitstempel"},
		{"content, slashed", "id,horodatage,x\n1,13/01/2024 07:05,2\n", DMY, "horodatage"},
		{"content, no order", "id,horodatage,x\n1,13/01/2024 07:05,2\n", "", ""},
		{"content, wrong order", "id,horodatage,x\n1,13/01/2024 07:05,2\n", MDY, ""},
		// Named like a time but not read: named all the same, for the reader to refuse.
		{"named, no order", "Date,x\n3/1/2024 7:05:00 AM,1\n", "", "Date"},
		// A column named like a time whose cell is not read (a time of day) loses to
		// another whose cell is: the date with the order; without, neither is read.
		{"named, two", "date,time,x\n3/1/2024,7:05 AM,1\n", MDY, "date"},
		{"named, two, no order", "date,time,x\n3/1/2024,7:05 AM,1\n", "", "time"},
	} {
		if got, _ := DetectColumnsOrder([]byte(c.in), c.order); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
	if got, _ := DetectColumns([]byte("id,horodatage,x\n1,3/1/2024 7:05:00 AM,2\n")); got != "" {
		t.Errorf("DetectColumns without an order found %q", got)
	}
}
