package api

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/params"
)

// What integrations read first: the account, its extensions (the company
// directory) and the phone numbers they call and text from, with the
// platform's field names (seeds/001).

func (s *Server) directoryAPIRoutes(g *echo.Group, mw []echo.MiddlewareFunc) {
	g.GET("/account/:accountId", s.apiGetAccount, mw...)
	g.GET("/account/:accountId/extension", s.apiListExtensions, mw...)
	g.GET("/account/:accountId/extension/:extensionId/phone-number", s.apiExtensionPhoneNumbers, mw...)
	g.GET("/account/:accountId/phone-number", s.apiAccountPhoneNumbers, mw...)
}

type apiAccountInfo struct {
	URI              string      `json:"uri"`
	ID               int64       `json:"id"`
	MainNumber       string      `json:"mainNumber"`
	Status           string      `json:"status"`
	ServiceInfo      apiService  `json:"serviceInfo"`
	RegionalSettings apiRegional `json:"regionalSettings"`
}

type apiService struct {
	Brand apiBrand `json:"brand"`
}

type apiBrand struct {
	Name string `json:"name"`
}

// apiGetAccount answers GET /account/~: the caller's account. Any user of
// the account may read it.
func (s *Server) apiGetAccount(c echo.Context) error {
	a, err := apiAccount(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, apiAccountInfo{
		URI: s.accountURI(a.ID), ID: a.ID, MainNumber: a.MainNumber, Status: "Confirmed",
		ServiceInfo:      apiService{Brand: apiBrand{Name: a.Company}},
		RegionalSettings: apiRegional{HomeCountry: apiCountry{ISOCode: a.CountryCode}, AreaCode: a.AreaCode},
	})
}

// apiDirectoryEntry is one extension of the account's list.
type apiDirectoryEntry struct {
	URI             string              `json:"uri"`
	ID              int64               `json:"id"`
	ExtensionNumber string              `json:"extensionNumber"`
	Name            string              `json:"name"`
	Type            string              `json:"type"`
	Status          string              `json:"status"`
	Contact         apiDirectoryContact `json:"contact"`
}

// apiDirectoryContact is apiContact with the e-mail address left out for
// a caller who is not an administrator.
type apiDirectoryContact struct {
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Email     string `json:"email,omitempty"`
	Company   string `json:"company"`
}

type apiDirectoryList struct {
	URI        string              `json:"uri"`
	Records    []apiDirectoryEntry `json:"records"`
	Paging     apiPaging           `json:"paging"`
	Navigation apiNavigation       `json:"navigation"`
}

var (
	extensionTypes    = []string{string(identity.TypeUser), string(identity.TypeDepartment)}
	extensionStatuses = []string{identity.StatusEnabled, identity.StatusDisabled}
)

// apiListExtensions answers GET /account/~/extension: the account's
// extensions in the order of their numbers, paged, filtered by type and
// status (each may repeat). Every user of the account may read the
// company directory; an e-mail address is shown to administrators only.
func (s *Server) apiListExtensions(c echo.Context) error {
	a, err := apiAccount(c)
	if err != nil {
		return err
	}
	v := c.QueryParams()
	page, err := params.Paging(v)
	if err != nil {
		return err
	}
	types, err := params.Enums(v, "type", extensionTypes)
	if err != nil {
		return err
	}
	statuses, err := params.Enums(v, "status", extensionStatuses)
	if err != nil {
		return err
	}
	var query []queryParam
	for _, t := range types {
		query = append(query, queryParam{"type", t})
	}
	for _, st := range statuses {
		query = append(query, queryParam{"status", st})
	}
	exts, err := s.Directory.Extensions(c.Request().Context(), a.ID)
	if err != nil {
		return err
	}
	admin := caller(c).Extension.Admin()
	var all []apiDirectoryEntry
	for _, x := range exts {
		if len(types) > 0 && !slices.Contains(types, extensionType(x)) || len(statuses) > 0 && !slices.Contains(statuses, x.Status) {
			continue
		}
		entry := apiDirectoryEntry{URI: s.extensionURI(a.ID, x.ID), ID: x.ID, ExtensionNumber: x.Number, Name: x.Name,
			Type: extensionType(x), Status: x.Status, Contact: apiDirectoryContact{Company: a.Company}}
		entry.Contact.FirstName, entry.Contact.LastName, _ = strings.Cut(x.Name, " ")
		if admin {
			entry.Contact.Email = x.Email
		}
		all = append(all, entry)
	}
	list := apiDirectoryList{Records: []apiDirectoryEntry{}}
	if off := page.Offset(); off < len(all) {
		list.Records = all[off:min(off+page.PerPage, len(all))]
	}
	list.URI, list.Paging, list.Navigation = paginate(s.accountURI(a.ID)+"/extension", query, page, len(all), len(list.Records))
	return c.JSON(http.StatusOK, list)
}

// apiNumberRecord is one number of the account: whose it is, how it is
// used, and what it can do (the SDKs' "find my SMS number" reads features).
type apiNumberRecord struct {
	ID          string             `json:"id"`
	PhoneNumber string             `json:"phoneNumber"`
	UsageType   string             `json:"usageType"`
	Type        string             `json:"type"`
	PaymentType string             `json:"paymentType"`
	Features    []string           `json:"features"`
	Extension   *apiExtensionShort `json:"extension,omitempty"`
}

type apiExtensionShort struct {
	URI             string `json:"uri"`
	ID              int64  `json:"id"`
	ExtensionNumber string `json:"extensionNumber"`
}

type apiNumberList struct {
	URI        string            `json:"uri"`
	Records    []apiNumberRecord `json:"records"`
	Paging     apiPaging         `json:"paging"`
	Navigation apiNavigation     `json:"navigation"`
}

// numberFeatures are what every number of the account does: it shows as
// the caller's id and sends text messages (messaging accepts a direct
// number and the main number as the sender).
var numberFeatures = []string{"CallerId", "SmsSender"}

func phoneNumber(number, usage string) apiNumberRecord {
	return apiNumberRecord{ID: number, PhoneNumber: number, UsageType: usage, Type: "VoiceFax", PaymentType: "Local",
		Features: numberFeatures}
}

// apiExtensionPhoneNumbers answers GET /extension/~/phone-number: the
// numbers the extension calls and texts from, its direct numbers and then
// the account's main number.
func (s *Server) apiExtensionPhoneNumbers(c echo.Context) error {
	a, x, err := s.apiTarget(c)
	if err != nil {
		return err
	}
	page, err := params.Paging(c.QueryParams())
	if err != nil {
		return err
	}
	var all []apiNumberRecord
	for _, n := range x.DirectNumbers {
		all = append(all, phoneNumber(n, "DirectNumber"))
	}
	if a.MainNumber != "" {
		all = append(all, phoneNumber(a.MainNumber, "MainCompanyNumber"))
	}
	return s.numberPage(c, s.extensionURI(a.ID, x.ID)+"/phone-number", page, all)
}

// apiAccountPhoneNumbers answers GET /account/~/phone-number, for
// administrators: the main number, then each extension's direct numbers
// with the extension they belong to.
func (s *Server) apiAccountPhoneNumbers(c echo.Context) error {
	a, err := apiAdminAccount(c)
	if err != nil {
		return err
	}
	page, err := params.Paging(c.QueryParams())
	if err != nil {
		return err
	}
	exts, err := s.Directory.Extensions(c.Request().Context(), a.ID)
	if err != nil {
		return err
	}
	var all []apiNumberRecord
	if a.MainNumber != "" {
		all = append(all, phoneNumber(a.MainNumber, "MainCompanyNumber"))
	}
	for _, x := range exts {
		for _, n := range x.DirectNumbers {
			p := phoneNumber(n, "DirectNumber")
			p.Extension = &apiExtensionShort{URI: s.extensionURI(a.ID, x.ID), ID: x.ID, ExtensionNumber: x.Number}
			all = append(all, p)
		}
	}
	return s.numberPage(c, s.accountURI(a.ID)+"/phone-number", page, all)
}

func (s *Server) numberPage(c echo.Context, base string, page params.Page, all []apiNumberRecord) error {
	list := apiNumberList{Records: []apiNumberRecord{}}
	if off := page.Offset(); off < len(all) {
		list.Records = all[off:min(off+page.PerPage, len(all))]
	}
	list.URI, list.Paging, list.Navigation = paginate(base, nil, page, len(all), len(list.Records))
	return c.JSON(http.StatusOK, list)
}
