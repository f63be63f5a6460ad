package server

import (
	"testing"

	"github.com/callbridge/widget-server/internal/store/pgtest"
)

// TestMain stops the throwaway PostgreSQL cluster, if a test started one
// (pgtest.URL), when the tests are done.
func TestMain(m *testing.M) { pgtest.Main(m) }
