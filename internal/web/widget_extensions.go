package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
)

// maxPickerExtensions bounds the extensions GET /widget/extensions answers:
// an account with more is narrowed with q.
const maxPickerExtensions = 200

// maxPickerQuery bounds q.
const maxPickerQuery = 64

// widgetExtension is an extension the transfer picker offers: the number
// the widget hands on to, what it shows, and whether the user is free.
type widgetExtension struct {
	ID              string         `json:"id"`
	ExtensionNumber string         `json:"extensionNumber"`
	Name            string         `json:"name"`
	Type            string         `json:"type"` // User or Department
	Presence        *presenceState `json:"presence,omitempty"`
}

type widgetExtensionList struct {
	Records []widgetExtension `json:"records"`
	// HasMore says that more extensions match than the list holds.
	HasMore bool `json:"hasMore"`
}

// widgetExtensions answers GET /widget/extensions?q=: the enabled
// extensions of the user's account but the user's own, in the order of
// their numbers, for the widget's transfer picker. q keeps those whose
// number starts with it or whose name holds it, in any case. Each has its
// presence when the server keeps presence.
func (s *Server) widgetExtensions(c echo.Context) error {
	u := userOf(c)
	q := strings.TrimSpace(c.QueryParam("q"))
	if len(q) > maxPickerQuery {
		return httperror.InvalidParam("q", "at most "+strconv.Itoa(maxPickerQuery)+" characters")
	}
	ctx := c.Request().Context()
	exts, err := s.Directory.Extensions(ctx, u.Account.ID)
	if err != nil {
		return err
	}
	q = strings.ToLower(q)
	list := widgetExtensionList{Records: []widgetExtension{}}
	for _, x := range exts {
		if x.ID == u.Extension.ID || !x.Enabled() ||
			q != "" && !strings.HasPrefix(x.Number, q) && !strings.Contains(strings.ToLower(x.Name), q) {
			continue
		}
		if len(list.Records) == maxPickerExtensions {
			list.HasMore = true
			break
		}
		r := widgetExtension{ID: strconv.FormatInt(x.ID, 10), ExtensionNumber: x.Number, Name: x.Name, Type: string(x.Type)}
		if s.Presence != nil {
			if r.Presence, err = s.widgetPresence(ctx, x.ID); err != nil {
				return err
			}
		}
		list.Records = append(list.Records, r)
	}
	return c.JSON(http.StatusOK, list)
}
