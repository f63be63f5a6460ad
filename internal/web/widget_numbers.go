package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// widgetPhoneNumber is one of the user's numbers: usageType is DirectNumber
// for the extension's own numbers and MainCompanyNumber for the account's
// main number (seeds/001 phone-number usage types).
type widgetPhoneNumber struct {
	PhoneNumber string `json:"phoneNumber"`
	UsageType   string `json:"usageType"`
}

type widgetPhoneNumbers struct {
	Records []widgetPhoneNumber `json:"records"`
}

// widgetPhoneNumbers answers GET /widget/phone-numbers: the numbers the
// user calls and texts from, its direct numbers first and then the
// account's main number. The calling settings offer them as caller id and
// as the phone a RingOut rings first.
func (s *Server) widgetPhoneNumbers(c echo.Context) error {
	u := userOf(c)
	acct, ext := u.Account, u.Extension
	list := widgetPhoneNumbers{Records: make([]widgetPhoneNumber, 0, len(ext.DirectNumbers)+1)}
	for _, n := range ext.DirectNumbers {
		list.Records = append(list.Records, widgetPhoneNumber{PhoneNumber: n, UsageType: "DirectNumber"})
	}
	if acct.MainNumber != "" {
		list.Records = append(list.Records, widgetPhoneNumber{PhoneNumber: acct.MainNumber, UsageType: "MainCompanyNumber"})
	}
	return c.JSON(http.StatusOK, list)
}
