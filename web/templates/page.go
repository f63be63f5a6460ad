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
	// BootScript is the classic script the page runs first, inline: it
	// tells the host page of the session before the widget's script has
	// loaded (web/static/early.js). Empty: none.
	BootScript string
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

// LoginPage is what the authorization server's sign-in page needs to render.
// It is a top-level window (the sign-in popup) on the widget origin.
type LoginPage struct {
	Nonce string
	// StaticBase is the versioned prefix of the static files; the page links
	// StaticBase + "/login.css".
	StaticBase string
	// AppName is the display name of the app the user signs in to.
	AppName string
	// Action is the URL the form posts to.
	Action string
	// Hidden carries the authorization request through the form post.
	Hidden []HiddenField
	// Username refills the field after a failed attempt; Error says why it failed.
	Username, Error string
	// CSRFField and CSRFToken are the name and value of the form's CSRF input.
	CSRFField, CSRFToken string
	// Theme is the widget's theme, light or dark, which the page then
	// follows; empty, the page follows the system's.
	Theme string
}

// LoginTheme is the sign-in page's Theme for the authorization request's
// theme parameter (the widget adds its own): light or dark, else empty.
func LoginTheme(param string) string {
	if param == "light" || param == "dark" {
		return param
	}
	return ""
}

// HiddenField is one hidden input of a form.
type HiddenField struct{ Name, Value string }

// RedirectPage is what the sign-in popup's redirect page needs: it hands the
// URL it was opened with to the widget that opened it.
type RedirectPage struct {
	Nonce      string
	StaticBase string
	// WidgetOrigin is the exact origin the callback URL is posted to.
	WidgetOrigin string
}

// CallbackPage is the demo host's own redirect page, used when the widget's
// login popup is off and the host opens the sign-in window itself.
type CallbackPage struct {
	Nonce      string
	StaticBase string
}
