// Package widget is what the load tools use to act as the widget does over
// HTTP: open the widget page, sign in through the authorization server's
// form (the popup of the real widget), get a device issued, read the event
// stream and place and answer calls. It speaks only to the server's public
// HTTP surface.
package widget

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Client is one widget tab: its own cookies (the iframe's), signed in as
// one user.
type Client struct {
	Base, Host string // widget origin; the demo page's origin, the widget's host
	// ClientID is the app whose widget page this tab is: it opens
	// /app?clientId= and names it on every widget request.
	ClientID string
	HTTP     *http.Client
}

// DemoApp is the client id of the demo app, the app the load tools' widget
// pages belong to.
const DemoApp = "demo"

// ClientHeader names the app of the widget page on every /widget/ request;
// the event stream, which a browser opens without headers, names it in
// ?clientId=.
const ClientHeader = "X-Callbridge-Client"

// secureJar keeps Secure cookies on plain-HTTP loopback URLs, as browsers do
// for localhost: it files every URL under https.
type secureJar struct{ *cookiejar.Jar }

func secure(u *url.URL) *url.URL { c := *u; c.Scheme = "https"; return &c }

func (j secureJar) SetCookies(u *url.URL, cs []*http.Cookie) { j.Jar.SetCookies(secure(u), cs) }
func (j secureJar) Cookies(u *url.URL) []*http.Cookie        { return j.Jar.Cookies(secure(u)) }

// loopbackDial reaches localhost at 127.0.0.1, where the server listens.
func loopbackDial(ctx context.Context, network, addr string) (net.Conn, error) {
	host, port, _ := net.SplitHostPort(addr)
	if host == "localhost" {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	return (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, network, addr)
}

// NewHTTPClient returns a client with its own cookie jar that does not
// follow redirects.
func NewHTTPClient() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           secureJar{jar},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			DialContext:         loopbackDial,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     30 * time.Second,
		},
	}
}

// New returns a widget tab for the server at base, embedded by host.
func New(base, host string) *Client {
	return &Client{Base: base, Host: host, ClientID: DemoApp, HTTP: NewHTTPClient()}
}

// SetHeaders sets what the widget's own script sends on every /widget/
// request: the custom header, its app and its origin.
func (c *Client) SetHeaders(h http.Header) {
	h.Set("X-Callbridge", "1")
	h.Set(ClientHeader, c.ClientID)
	h.Set("Origin", c.Base)
}

func (c *Client) do(ctx context.Context, method, u string, body io.Reader, header ...string) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, nil, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp, b, err
}

// post calls a widget endpoint as the widget's own script does.
func (c *Client) post(ctx context.Context, path string, in, out any) error {
	b, _ := json.Marshal(in)
	req, err := http.NewRequestWithContext(ctx, "POST", c.Base+path, strings.NewReader(string(b)))
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	c.SetHeaders(req.Header)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: %d %s", path, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("POST %s: %w", path, err)
		}
	}
	return nil
}

var (
	csrfInput   = regexp.MustCompile(`name="csrf_token"[^>]*value="([^"]+)"`)
	hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)"`)
	unescape    = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&quot;", `"`)
)

// SignIn opens the widget page and signs in with the popup flow: the
// widget starts it, a separate cookie jar (the popup) fills in the sign-in
// form, and the widget completes it with the callback URL.
func (c *Client) SignIn(ctx context.Context, username, password string) error {
	resp, _, err := c.do(ctx, "GET", c.Base+"/app?clientId="+url.QueryEscape(c.ClientID)+"&fromAdapter=1&hostOrigin="+url.QueryEscape(c.Host), nil)
	if err != nil {
		return fmt.Errorf("open widget: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("open widget: %d", resp.StatusCode)
	}
	var start struct {
		OAuthURI string `json:"oAuthUri"`
	}
	if err := c.post(ctx, "/widget/login", map[string]string{"mode": "popup"}, &start); err != nil {
		return err
	}
	callback, err := Authorize(ctx, start.OAuthURI, username, password)
	if err != nil {
		return err
	}
	var st struct {
		LoggedIn bool `json:"loggedIn"`
	}
	if err := c.post(ctx, "/widget/login/complete", map[string]string{"callbackUri": callback}, &st); err != nil {
		return err
	}
	if !st.LoggedIn {
		return fmt.Errorf("sign in %s: not signed in after completing", username)
	}
	return nil
}

// Authorize plays the sign-in window: it loads the sign-in page, submits the form and
// returns where it redirects: the widget's callback, or the host's.
func Authorize(ctx context.Context, authURL, username, password string) (string, error) {
	popup := &Client{HTTP: NewHTTPClient()}
	defer popup.HTTP.CloseIdleConnections() // a sign-in window is used once
	resp, page, err := popup.do(ctx, "GET", authURL, nil)
	if err != nil {
		return "", fmt.Errorf("sign-in page: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("sign-in page: %d", resp.StatusCode)
	}
	m := csrfInput.FindSubmatch(page)
	if m == nil {
		return "", errors.New("sign-in page has no CSRF field")
	}
	form := url.Values{"csrf_token": {string(m[1])}, "username": {username}, "password": {password}}
	for _, h := range hiddenInput.FindAllSubmatch(page, -1) {
		if string(h[1]) != "csrf_token" {
			form.Add(string(h[1]), unescape.Replace(string(h[2])))
		}
	}
	u, _ := url.Parse(authURL)
	u.RawQuery = ""
	resp, body, err := popup.do(ctx, "POST", u.String(), strings.NewReader(form.Encode()),
		"Content-Type", "application/x-www-form-urlencoded")
	if err != nil {
		return "", fmt.Errorf("sign in: %w", err)
	}
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		return "", fmt.Errorf("sign in %s: %d %.200s", username, resp.StatusCode, body)
	}
	return resp.Header.Get("Location"), nil
}

// NewDevice has the server issue this tab a device id (POST
// /widget/devices), as the widget does when it starts its phone: an id bound
// to this tab's signed-in session, which its event stream registers and its
// calls name. Ids of other sessions are refused.
func (c *Client) NewDevice(ctx context.Context) (string, error) {
	var r struct {
		DeviceID string `json:"deviceId"`
	}
	if err := c.post(ctx, "/widget/devices", struct{}{}, &r); err != nil {
		return "", err
	}
	if r.DeviceID == "" {
		return "", errors.New("POST /widget/devices: no deviceId in the answer")
	}
	return r.DeviceID, nil
}

// Call is the part of a call object the tools read.
type Call struct {
	ID     string `json:"id"`
	Status string `json:"callStatus"`
}

type callResponse struct {
	Call Call   `json:"call"`
	SDP  string `json:"sdp"`
}

// Dial places a call from device to number with an SDP offer and returns
// the call and the gateway's answer.
func (c *Client) Dial(ctx context.Context, device, to, offer string) (Call, string, error) {
	var r callResponse
	err := c.post(ctx, "/widget/calls", map[string]string{"deviceId": device, "to": to, "sdp": offer}, &r)
	return r.Call, r.SDP, err
}

// Answer picks up a ringing call on device with an SDP offer and returns the
// gateway's answer.
func (c *Client) Answer(ctx context.Context, device, callID, offer string) (string, error) {
	var r callResponse
	err := c.post(ctx, "/widget/calls/"+url.PathEscape(callID)+"/answer", map[string]string{"deviceId": device, "sdp": offer}, &r)
	return r.SDP, err
}

// Control runs a call action (hangup, hold, unhold, mute, unmute, reject).
func (c *Client) Control(ctx context.Context, device, callID, action string) error {
	return c.post(ctx, "/widget/calls/"+url.PathEscape(callID)+"/"+action, map[string]string{"deviceId": device}, nil)
}

// Event is one message of the event stream, with the fields the tools read.
type Event struct {
	Type string `json:"type"`
	To   string `json:"_to"`
	Call struct {
		ID              string `json:"id"`
		TelephonyStatus string `json:"telephonyStatus"`
		CallStatus      string `json:"callStatus"`
	} `json:"call"`
	TelephonySession struct {
		EventTime string `json:"eventTime"`
	} `json:"telephonySession"`
	At  time.Time `json:"-"` // when the line was read
	Raw []byte    `json:"-"`
}

// EventsURL is the URL of the tab's event stream: for device (a NewDevice
// id, which the stream registers so that it rings), or with no device when
// device is "".
func (c *Client) EventsURL(device string) string {
	q := url.Values{"clientId": {c.ClientID}}
	if device != "" {
		q.Set("deviceId", device)
	}
	return c.Base + "/widget/events?" + q.Encode()
}

// Events opens the tab's event stream for device (see EventsURL) and calls
// fn for every event until ctx ends or the stream closes. It returns once
// the stream is open; the reading goes on in a goroutine, which closes done
// at its end.
func (c *Client) Events(ctx context.Context, device string, fn func(Event)) (done <-chan struct{}, err error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.EventsURL(device), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("event stream: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		resp.Body.Close()
		return nil, fmt.Errorf("event stream: %d %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		defer resp.Body.Close()
		ReadEvents(resp.Body, fn)
	}()
	return ch, nil
}

// ReadEvents parses a text/event-stream body and calls fn for each data line
// that holds a JSON object. It returns when the body ends.
func ReadEvents(r io.Reader, fn func(Event)) {
	br := bufio.NewReaderSize(r, 2048)
	var line []byte
	for {
		part, isPrefix, err := br.ReadLine()
		if err != nil {
			return
		}
		line = append(line, part...)
		if isPrefix {
			continue
		}
		if data, ok := strings.CutPrefix(string(line), "data: "); ok {
			var ev Event
			if json.Unmarshal([]byte(data), &ev) == nil {
				ev.At = time.Now()
				ev.Raw = []byte(data)
				fn(ev)
			}
		}
		line = line[:0]
	}
}
