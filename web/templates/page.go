// Package templates holds the templ components of the server's HTML pages:
// the widget shell served in the host's iframe, the refusal page, and the demo
// host page. Components take plain data; they never reach into HTTP or the store.
package templates

//go:generate go tool templ generate -path .

// AppPage is what the widget shell needs to render.
type AppPage struct {
	// Nonce is the CSP nonce for every script element of the page.
	Nonce string
	// StaticBase is the versioned prefix of the widget's static files,
	// for example "/static/3f9a1c2e"; files live at StaticBase + "/app.js".
	StaticBase string
	// ConfigJSON is the widget's boot configuration, already JSON-encoded.
	// It is rendered into <script type="application/json" id="cb-config">.
	ConfigJSON string
	// AppName is the registered app's display name.
	AppName string
	// Theme is light, dark or auto.
	Theme string
}

// DemoPage is what the demo host ("CRM") page needs to render.
type DemoPage struct {
	Nonce string
	// AdapterSrc is the full URL of adapter.js including the widget query,
	// e.g. "http://localhost:8080/adapter.js?clientId=demo".
	AdapterSrc string
	// WidgetOrigin is the origin the widget's messages come from.
	WidgetOrigin string
	// StaticBase is the versioned prefix for the demo's own static files
	// (demo.js, demo.css) on the demo origin.
	StaticBase string
	Contacts   []Contact
}

// Contact is one row of the demo CRM's contact list.
type Contact struct {
	Name    string
	Company string
	Phone   string // dialable, used in tel: and sms: links
	Note    string
}
