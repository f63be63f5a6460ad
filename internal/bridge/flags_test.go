package bridge

import (
	"net/url"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	allow := func(o string) bool { return o == "https://crm.example.com" }
	tests := []struct {
		query    string
		check    func(Flags) bool
		warnings []string // substrings, in order
	}{
		{"clientId=demo&fromAdapter=1&hostOrigin=x", func(f Flags) bool { return f == DefaultFlags() }, nil},
		{"disableLoginPopup=1&notification=true&disableMinimize=0", func(f Flags) bool {
			return f.DisableLoginPopup && f.Notification && !f.DisableMinimize
		}, nil},
		{"disableLoginPopup=yes", func(f Flags) bool { return !f.DisableLoginPopup }, []string{"disableLoginPopup"}},
		{"zIndex=42&defaultDirection=left&theme=dark", func(f Flags) bool {
			return f.ZIndex == 42 && f.DefaultDirection == "left" && f.Theme == "dark"
		}, nil},
		{"zIndex=abc&theme=neon&defaultCallWith=pigeon", func(f Flags) bool {
			return f.ZIndex == 999 && f.Theme == "auto" && f.DefaultCallWith == "browser"
		}, []string{"defaultCallWith", "theme", "zIndex"}},
		{"prefix=my-widget", func(f Flags) bool { return f.Prefix == "my-widget" }, nil},
		{"prefix=%3Cscript%3E", func(f Flags) bool { return f.Prefix == "rc-widget" }, []string{"prefix"}},
		{"stylesUri=https://crm.example.com/w.css", func(f Flags) bool { return f.StylesURI == "https://crm.example.com/w.css" }, nil},
		{"stylesUri=http://crm.example.com/w.css", func(f Flags) bool { return f.StylesURI == "" }, []string{"stylesUri"}},
		{"stylesUri=https://evil.test/w.css", func(f Flags) bool { return f.StylesURI == "" }, []string{"stylesUri"}},
		{"appServer=https://x&redirectUri=https://y", func(f Flags) bool { return f == DefaultFlags() }, []string{"appServer", "redirectUri"}},
		{"lang=fr-FR", func(f Flags) bool { return f.Lang == "fr-FR" }, nil},
		{"lang=../../etc", func(f Flags) bool { return f.Lang == "" }, []string{"lang"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, _ := url.ParseQuery(tt.query)
			f, warn := ParseFlags(q, allow)
			if !tt.check(f) {
				t.Errorf("flags = %+v", f)
			}
			if len(warn) != len(tt.warnings) {
				t.Fatalf("warnings = %q, want %d", warn, len(tt.warnings))
			}
			for i, w := range tt.warnings {
				if !strings.Contains(warn[i], w) {
					t.Errorf("warning %d = %q, want it to name %q", i, warn[i], w)
				}
			}
		})
	}
}

func FuzzParseFlags(f *testing.F) {
	f.Add("zIndex=1&prefix=a&stylesUri=https://a.test/x.css&theme=dark")
	f.Add("lang=%00&defaultDirection=%ff")
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		flags, _ := ParseFlags(q, func(string) bool { return true })
		if !prefixPattern.MatchString(flags.Prefix) || flags.ZIndex < 0 {
			t.Fatalf("invalid flags accepted: %+v", flags)
		}
		if flags.StylesURI != "" && !strings.HasPrefix(flags.StylesURI, "https://") {
			t.Fatalf("non-https stylesUri accepted: %q", flags.StylesURI)
		}
	})
}
