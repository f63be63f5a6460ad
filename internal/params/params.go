// Package params reads what a request carries the way both HTTP faces of
// the server do (the widget's endpoints in internal/web, the platform API
// in internal/api): a JSON body decoded strictly, the page and perPage of a
// list, enum values compared without case, phone numbers. What it refuses
// is the error model's answer (internal/httperror) naming the parameter.
//
// It must not import internal/web, internal/api or internal/server.
package params

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/phonenumber"
)

// Paging limits of list resources (docs/api.md "Paging").
const (
	DefaultPerPage = 100
	MaxPerPage     = 1000
	MaxPage        = 1_000_000
)

// Page is a list request's page (from 1) and page size.
type Page struct {
	Number, PerPage int
}

// Offset is the index of the page's first element in the whole list.
func (p Page) Offset() int { return (p.Number - 1) * p.PerPage }

// Paging reads page and perPage.
func Paging(v url.Values) (Page, error) {
	p := Page{Number: 1, PerPage: DefaultPerPage}
	var err error
	if s, ok := First(v, "page"); ok {
		if p.Number, err = strconv.Atoi(s); err != nil || p.Number < 1 || p.Number > MaxPage {
			return Page{}, httperror.InvalidParam("page", "an integer from 1 to "+strconv.Itoa(MaxPage))
		}
	}
	if s, ok := First(v, "perPage"); ok {
		if p.PerPage, err = strconv.Atoi(s); err != nil || p.PerPage < 1 || p.PerPage > MaxPerPage {
			return Page{}, httperror.InvalidParam("perPage", "an integer from 1 to "+strconv.Itoa(MaxPerPage))
		}
	}
	return p, nil
}

// First returns the first value of a query parameter, and whether it was
// given at all.
func First(v url.Values, name string) (string, bool) {
	vs, ok := v[name]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// Enums reads a repeatable parameter whose values must be among allowed
// (compared without case), returning them canonical and without repeats.
func Enums(v url.Values, name string, allowed []string) ([]string, error) {
	var out []string
	for _, s := range v[name] {
		canon := ""
		for _, a := range allowed {
			if strings.EqualFold(s, a) {
				canon = a
			}
		}
		if canon == "" {
			return nil, httperror.InvalidParam(name, "one of "+strings.Join(allowed, ", "))
		}
		if !slices.Contains(out, canon) {
			out = append(out, canon)
		}
	}
	return out, nil
}

// Enum checks a body field against its allowed values (compared without
// case) and returns it canonical.
func Enum(name, v string, allowed []string) (string, error) {
	vs, err := Enums(url.Values{name: {v}}, name, allowed)
	if err != nil {
		return "", err
	}
	return vs[0], nil
}

// Digits reports whether s is 1 to max decimal digits.
func Digits(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// MaxNumberLength bounds a phone number in a request; Normalize reads no more.
const MaxNumberLength = phonenumber.MaxLength

// PhoneNumber checks a number of a request, named param: present, not too
// long, and a phone or extension number in region. It returns it as given.
func PhoneNumber(v, param, region string) (string, error) {
	if strings.TrimSpace(v) == "" {
		return "", httperror.InvalidParam(param, "a phone or extension number is required")
	}
	if len(v) > MaxNumberLength {
		return "", httperror.InvalidParam(param, "too long for a phone number")
	}
	if _, err := phonenumber.Normalize(v, region); err != nil {
		return "", httperror.InvalidParam(param, "not a phone or extension number")
	}
	return v, nil
}
