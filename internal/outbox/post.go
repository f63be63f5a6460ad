package outbox

import (
	"bytes"
	"context"
	"io"
	"net/http"
)

// MaxAnswer bounds what is read of a receiver's answer; the rest is not
// read (the connection is then not reused).
const MaxAnswer = 4 << 10

// Request is one attempt of a delivery to a receiver outside: a POST of a
// JSON body.
type Request struct {
	URL string
	// Header holds the signature, made for this attempt, and whatever else
	// the receiver is sent; Content-Type is set to JSON.
	Header http.Header
	Body   []byte
}

// Post makes one attempt with client and returns the status of the
// answer, or an error when there is none. client decides where a request
// may go: for an address given from outside, one that refuses private
// addresses and follows no redirect (webhooks.NewClient).
func Post(ctx context.Context, client *http.Client, r Request) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return 0, err
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, MaxAnswer))
	return resp.StatusCode, nil
}
