// Package natstest runs a real NATS server with JetStream inside a test
// process, on a loopback port, for the tests of the nodes of a cluster.
// Only _test.go files import it.
package natstest

import (
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is a running NATS server.
type Server struct {
	*server.Server
	URL string
}

// Start starts a NATS server with JetStream, its store in a temp dir, on
// a free loopback port; it shuts down when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{
		ServerName: "test",
		Host:       "127.0.0.1",
		Port:       -1, // a free port
		JetStream:  true,
		StoreDir:   t.TempDir(),
		NoLog:      true,
		NoSigs:     true,
	})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	// A readiness wait: generous, as the machine may be busy; it returns as
	// soon as the server listens.
	if !s.ReadyForConnections(2 * time.Minute) {
		s.Shutdown()
		t.Fatal("natstest: the NATS server did not start")
	}
	t.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return &Server{Server: s, URL: s.ClientURL()}
}
