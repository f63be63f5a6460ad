package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/callbridge/widget-server/bench/internal/measure"
)

func TestParseSIPpStats(t *testing.T) {
	b, err := os.ReadFile("testdata/sipp-stats.csv") // SIPp 3.6.1's, cut to three lines and one being written
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	tests := []struct {
		name    string
		in      string
		want    sippStats
		wantErr bool
	}{
		{"last complete line", string(b), sippStats{Incoming: 4, Current: 0, Successful: 4, Elapsed: "00:00:15"}, false},
		{"calls still open", lines[0] + lines[1], sippStats{Incoming: 4, Current: 4, Elapsed: "00:00:10"}, false},
		{"header only", lines[0], sippStats{}, true},
		{"empty", "", sippStats{}, true},
		{"a field missing", "CurrentCall;IncomingCall(C)\n1;2\n", sippStats{}, true},
		{"not a number", strings.Replace(lines[0], "CurrentCall", "X", 1) + lines[1], sippStats{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSIPpStats([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPerPacketUs(t *testing.T) {
	if got := perPacketUs(300*time.Millisecond, 10000); got != 30 {
		t.Errorf("perPacketUs = %v, want 30", got)
	}
	if got := perPacketUs(time.Second, 0); got != 0 {
		t.Errorf("perPacketUs with no packet = %v, want 0", got)
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-calls", "5, 10,25", "-answer-after", "1s"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.calls) != 3 || cfg.calls[2] != 25 || cfg.answerAfter != time.Second {
		t.Errorf("calls %v, answer after %v", cfg.calls, cfg.answerAfter)
	}
	for _, args := range [][]string{
		{"-calls", "10,5"}, {"-calls", ""}, {"-calls", "0"}, {"-calls", "6000"}, {"-rate", "0"},
		{"-payload", "8"}, {"-rtp-base", "20001"}, {"-calls", "10000", "-rtp-base", "30000"},
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

func TestPhoneNumbersAreOutsideTheLoadAccount(t *testing.T) {
	seen := map[string]bool{}
	for k := range maxCalls {
		n := phoneNumber(k)
		if n == "+14155550100" || len(n) != 12 || seen[n] {
			t.Fatalf("call %d dials %s", k, n)
		}
		seen[n] = true
	}
}

func TestDropsBetween(t *testing.T) {
	const before = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  101: 0100007F:EB8C 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 81234 2 0000000000000000 3
  102: 0100007F:4E20 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 81235 2 0000000000000000 0
  103: 0100007F:4E22 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 81236 2 0000000000000000 5
  104: 0100007F:C350 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 81237 2 0000000000000000 1
`
	const after = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  101: 0100007F:EB8C 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 81234 2 0000000000000000 23
  102: 0100007F:4E20 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 81235 2 0000000000000000 2
  105: 0100007F:4E24 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 81238 2 0000000000000000 4
  104: 0100007F:C350 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 81237 2 0000000000000000 9
`
	a, b := measure.ParseUDPDrops([]byte(before)), measure.ParseUDPDrops([]byte(after))
	// SIPp echoes on 60300 (0xEB8C); the server's RTP legs are 20000-20131;
	// 20002 closed, 20004 is new; 50000 is neither.
	got := dropsBetween(a, b, 0xEB8C, 20000, 20131)
	if want := (drops{SIPpEcho: 20, RTPLegs: 2 + 4}); got != want {
		t.Errorf("dropsBetween = %+v, want %+v", got, want)
	}
}
