package webhooks

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// MaxFilterLength bounds one event filter as a client writes it.
const MaxFilterLength = 256

// apiPrefix is the path every event filter lives under; clients may leave
// it out, as the platform's SDKs do ("/account/~/extension/~/presence").
const apiPrefix = "/restapi/v1.0"

// Filter selects the events of one kind of one extension.
type Filter struct {
	AccountID   int64
	ExtensionID int64
	Kind        string // one of the Kind constants
	Detailed    bool   // presence with activeCalls (?detailedTelephonyState=true)
}

// String is the filter with ids, as subscriptions list it and as the event
// of its notifications.
func (f Filter) String() string {
	s := apiPrefix + "/account/" + strconv.FormatInt(f.AccountID, 10) +
		"/extension/" + strconv.FormatInt(f.ExtensionID, 10) + "/" + f.Kind
	if f.Detailed {
		s += "?detailedTelephonyState=true"
	}
	return s
}

// matches reports whether the filter selects ev.
func (f Filter) matches(ev Event) bool {
	return f.Kind == ev.Kind && f.ExtensionID == ev.ExtensionID && (ev.AccountID == 0 || ev.AccountID == f.AccountID)
}

// ParseFilter reads one event filter:
//
//	[/restapi/v1.0]/account/{accountId}/extension/{extensionId}/presence[?detailedTelephonyState=true|false]
//	[/restapi/v1.0]/account/{accountId}/extension/{extensionId}/telephony/sessions
//	[/restapi/v1.0]/account/{accountId}/extension/{extensionId}/message-store
//
// where "~" stands for the owner's account or extension. Whether the owner
// may subscribe to the extension it names is for the caller to decide.
func ParseFilter(raw string, owner Owner) (Filter, error) {
	if len(raw) > MaxFilterLength {
		return Filter{}, errors.New("an event filter is at most 256 characters")
	}
	path, query, _ := strings.Cut(raw, "?")
	path = strings.TrimPrefix(path, apiPrefix)
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if !strings.HasPrefix(path, "/") || len(parts) < 5 || parts[0] != "account" || parts[2] != "extension" {
		return Filter{}, errors.New("want /restapi/v1.0/account/~/extension/~/presence, …/telephony/sessions or …/message-store")
	}
	var f Filter
	var err error
	if f.AccountID, err = pathID(parts[1], owner.AccountID); err != nil {
		return Filter{}, errors.New("the account must be ~ or a numeric id")
	}
	if f.ExtensionID, err = pathID(parts[3], owner.ExtensionID); err != nil {
		return Filter{}, errors.New("the extension must be ~ or a numeric id")
	}
	switch kind := strings.Join(parts[4:], "/"); kind {
	case KindPresence, KindMessageStore, KindTelephonySessions:
		f.Kind = kind
	default:
		return Filter{}, errors.New("unknown event " + strconv.Quote(kind) + ": want presence, telephony/sessions or message-store")
	}
	if query == "" {
		return f, nil
	}
	if f.Kind != KindPresence {
		return Filter{}, errors.New("only presence takes a parameter (detailedTelephonyState)")
	}
	q, err := url.ParseQuery(query)
	if err != nil || len(q) != 1 || len(q["detailedTelephonyState"]) != 1 {
		return Filter{}, errors.New("presence takes one parameter: detailedTelephonyState=true or false")
	}
	switch strings.ToLower(q.Get("detailedTelephonyState")) {
	case "true":
		f.Detailed = true
	case "false":
	default:
		return Filter{}, errors.New("detailedTelephonyState must be true or false")
	}
	return f, nil
}

// pathID reads "~" (self) or a positive decimal id.
func pathID(s string, self int64) (int64, error) {
	if s == "~" {
		return self, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || strconv.FormatInt(n, 10) != s {
		return 0, errors.New("bad id")
	}
	return n, nil
}
