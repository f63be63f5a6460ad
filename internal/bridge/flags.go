package bridge

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Flags are the widget options of CONTRACT §6, read from the query of
// adapter.js or /app. JSON names are those the widget's scripts read.
type Flags struct {
	Prefix                      string `json:"prefix"`
	DisableLoginPopup           bool   `json:"disableLoginPopup"`
	DisableInactiveTabCallEvent bool   `json:"disableInactiveTabCallEvent"`
	DefaultCallWith             string `json:"defaultCallWith"`
	DisableCall                 bool   `json:"disableCall"`
	DisableMessages             bool   `json:"disableMessages"`
	DisableContacts             bool   `json:"disableContacts"`
	StylesURI                   string `json:"stylesUri"`
	DefaultDirection            string `json:"defaultDirection"`
	ZIndex                      int    `json:"zIndex"`
	DisableMinimize             bool   `json:"disableMinimize"`
	Notification                bool   `json:"notification"`
	Theme                       string `json:"theme"`
	Lang                        string `json:"lang"`   // empty: the browser's language
	Width                       int    `json:"width"`  // adapter.js only: it keeps the size out of /app's URL
	Height                      int    `json:"height"` // adapter.js only, as Width
}

// DefaultFlags are the values used when a flag is absent or bad.
func DefaultFlags() Flags {
	return Flags{
		Prefix:           "rc-widget",
		DefaultCallWith:  "browser",
		DefaultDirection: "right",
		ZIndex:           999,
		Theme:            "auto",
	}
}

// The values of the flags that take one of a few.
var (
	CallWithModes = []string{"browser", "ringout"} // defaultCallWith, and callWith of the calling settings
	Directions    = []string{"left", "right"}      // defaultDirection
	Themes        = []string{"light", "dark", "auto"}
)

// internalParams are query parameters the server and adapter use themselves;
// they are neither flags nor worth a warning.
var internalParams = map[string]bool{"clientId": true, "fromAdapter": true, "hostOrigin": true}

var (
	prefixPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)
	langPattern   = regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)
)

// ParseFlags reads the widget flags from q. Unknown parameters are ignored
// with a note; bad values fall back to the default with a warning. allowStyles
// reports whether a stylesheet origin is acceptable (the app's origins).
// Warnings are sorted so the output is deterministic.
func ParseFlags(q url.Values, allowStyles func(origin string) bool) (Flags, []string) {
	f := DefaultFlags()
	var warn []string
	warnf := func(format string, a ...any) { warn = append(warn, fmt.Sprintf(format, a...)) }
	boolean := func(name string, dst *bool) {
		v := q.Get(name)
		switch strings.ToLower(v) {
		case "1", "true":
			*dst = true
		case "0", "false":
			*dst = false
		default:
			warnf("flag %s=%q is not 1/0 or true/false; using %t", name, v, *dst)
		}
	}
	oneOf := func(name string, dst *string, allowed ...string) {
		v := q.Get(name)
		for _, a := range allowed {
			if v == a {
				*dst = v
				return
			}
		}
		warnf("flag %s=%q is not one of %s; using %q", name, v, strings.Join(allowed, ", "), *dst)
	}
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		switch name {
		case "prefix":
			if v := q.Get(name); prefixPattern.MatchString(v) {
				f.Prefix = v
			} else {
				warnf("flag prefix=%q must be lower-case letters, digits and '-'; using %q", v, f.Prefix)
			}
		case "disableLoginPopup":
			boolean(name, &f.DisableLoginPopup)
		case "disableInactiveTabCallEvent":
			boolean(name, &f.DisableInactiveTabCallEvent)
		case "defaultCallWith":
			oneOf(name, &f.DefaultCallWith, CallWithModes...)
		case "disableCall":
			boolean(name, &f.DisableCall)
		case "disableMessages":
			boolean(name, &f.DisableMessages)
		case "disableContacts":
			boolean(name, &f.DisableContacts)
		case "stylesUri":
			v := q.Get(name)
			if u, err := url.Parse(v); err == nil && u.Scheme == "https" && u.Host != "" && allowStyles != nil && allowStyles(u.Scheme+"://"+u.Host) {
				f.StylesURI = u.String()
			} else {
				warnf("flag stylesUri=%q must be an https URL on one of the app's origins; ignored", v)
			}
		case "defaultDirection":
			oneOf(name, &f.DefaultDirection, Directions...)
		case "zIndex":
			v := q.Get(name)
			if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= 2147483647 {
				f.ZIndex = n
			} else {
				warnf("flag zIndex=%q is not a non-negative integer; using %d", v, f.ZIndex)
			}
		case "disableMinimize":
			boolean(name, &f.DisableMinimize)
		case "notification":
			boolean(name, &f.Notification)
		case "theme":
			oneOf(name, &f.Theme, Themes...)
		case "lang":
			if v := q.Get(name); langPattern.MatchString(v) {
				f.Lang = v
			} else {
				warnf("flag lang=%q is not a language tag; using the browser's language", v)
			}
		default:
			if !internalParams[name] {
				warnf("flag %s is not used by this widget; ignored", name)
			}
		}
	}
	return f, warn
}
