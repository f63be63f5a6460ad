package store

import (
	"database/sql/driver"
	"errors"
	"net"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// newPostgresConnector opens the connections of the PostgreSQL database
// that url names, through pgx's database/sql driver.
func newPostgresConnector(url, dir string) (*connector, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	return &connector{base: stdlib.GetConnector(*cfg), dialect: postgresDialect, dir: dir}, nil
}

// rewrite turns a statement into the engine's SQL: the store writes ?
// placeholders, which PostgreSQL spells $1, $2, ….
func (c *connector) rewrite(query string) string {
	if c.dialect == postgresDialect {
		return postgresPlaceholders(query)
	}
	return query
}

// args converts arguments to what the engine's columns take: the store
// keeps flags as integers 0 and 1, as SQLite does with a Go bool.
func (c *connector) args(args []driver.NamedValue) []driver.NamedValue {
	if c.dialect != postgresDialect {
		return args
	}
	for i, a := range args {
		if b, ok := a.Value.(bool); ok {
			v := int64(0)
			if b {
				v = 1
			}
			args[i].Value = v
		}
	}
	return args
}

// pgCode is the SQLSTATE of a PostgreSQL error, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// postgresFailure says whether err is the storage failing (the server
// cannot be reached, is shutting down, is out of disk or memory) or the
// server refusing the statement (a constraint, a conflict, bad SQL).
// https://www.postgresql.org/docs/current/errcodes-appendix.html
func postgresFailure(err error) (unavailable, refused bool) {
	if code := pgCode(err); code != "" {
		switch {
		case strings.HasPrefix(code, "08"), // connection exception
			strings.HasPrefix(code, "53"),  // insufficient resources: disk full, out of memory, too many connections
			strings.HasPrefix(code, "57P"), // operator intervention: shutdown, cannot connect now
			strings.HasPrefix(code, "58"),  // system error: I/O
			code == "25006":                // read-only transaction: a standby
			return true, false
		}
		return false, true
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, driver.ErrBadConn) {
		return true, false
	}
	return false, false
}
