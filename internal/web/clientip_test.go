package web

import (
	"net"
	"net/http/httptest"
	"testing"
)

// TestClientIP checks whose word a request's browser address is: the
// peer's, and a proxy's headers only when the peer is a trusted proxy.
func TestClientIP(t *testing.T) {
	_, tenNet, _ := net.ParseCIDR("10.0.0.0/8")
	_, local, _ := net.ParseCIDR("127.0.0.1/32")
	tests := []struct {
		name    string
		trusted []*net.IPNet
		peer    string
		xff     string
		realIP  string
		want    string
	}{
		{"no proxy", nil, "192.0.2.1:5000", "", "", "192.0.2.1"},
		{"no proxy trusted: X-Forwarded-For ignored", nil, "192.0.2.1:5000", "203.0.113.9", "", "192.0.2.1"},
		{"no proxy trusted: X-Real-IP ignored", nil, "192.0.2.1:5000", "", "203.0.113.9", "192.0.2.1"},
		{"no proxy trusted: loopback peer's headers ignored", nil, "127.0.0.1:5000", "203.0.113.9", "203.0.113.8", "127.0.0.1"},
		{"no proxy trusted: private peer's headers ignored", nil, "10.0.0.2:5000", "203.0.113.9", "", "10.0.0.2"},
		{"trusted proxy", []*net.IPNet{tenNet}, "10.0.0.2:5000", "203.0.113.9", "", "203.0.113.9"},
		{"trusted proxy: client's own X-Forwarded-For ignored", []*net.IPNet{tenNet}, "10.0.0.2:5000", "198.51.100.1, 203.0.113.9", "", "203.0.113.9"},
		{"trusted proxies in a chain", []*net.IPNet{tenNet}, "10.0.0.2:5000", "203.0.113.9, 10.1.1.1", "", "203.0.113.9"},
		{"trusted proxy, X-Real-IP", []*net.IPNet{tenNet}, "10.0.0.2:5000", "", "203.0.113.9", "203.0.113.9"},
		{"trusted proxy, IPv6 client", []*net.IPNet{tenNet}, "10.0.0.2:5000", "2001:db8::1", "", "2001:db8::1"},
		{"trusted proxy, garbage header", []*net.IPNet{tenNet}, "10.0.0.2:5000", "not-an-ip", "", "10.0.0.2"},
		{"untrusted peer claiming a header", []*net.IPNet{tenNet}, "192.0.2.1:5000", "203.0.113.9", "203.0.113.8", "192.0.2.1"},
		{"loopback not trusted unless named", []*net.IPNet{tenNet}, "127.0.0.1:5000", "203.0.113.9", "", "127.0.0.1"},
		{"private not trusted unless named", []*net.IPNet{local}, "192.168.1.1:5000", "203.0.113.9", "", "192.168.1.1"},
		{"loopback proxy named", []*net.IPNet{local}, "127.0.0.1:5000", "203.0.113.9", "", "203.0.113.9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/oauth/authorize", nil)
			r.RemoteAddr = tt.peer
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if tt.realIP != "" {
				r.Header.Set("X-Real-IP", tt.realIP)
			}
			if got := clientIP(tt.trusted)(r); got != tt.want {
				t.Fatalf("client IP %q, want %q", got, tt.want)
			}
		})
	}
}
