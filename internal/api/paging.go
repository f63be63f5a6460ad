package web

import (
	"net/url"
	"strconv"
	"strings"
)

// Paging limits of list resources (docs/api.md "Paging").
const (
	defaultPerPage = 100
	maxPerPage     = 1000
	maxPage        = 1_000_000
)

// pageParams are a list request's page (from 1) and page size.
type pageParams struct {
	page, perPage int
}

func (p pageParams) offset() int { return (p.page - 1) * p.perPage }

// parsePaging reads page and perPage.
func parsePaging(v url.Values) (pageParams, error) {
	p := pageParams{page: 1, perPage: defaultPerPage}
	var err error
	if s, ok := first(v, "page"); ok {
		if p.page, err = strconv.Atoi(s); err != nil || p.page < 1 || p.page > maxPage {
			return pageParams{}, invalidParam("page", "an integer from 1 to "+strconv.Itoa(maxPage))
		}
	}
	if s, ok := first(v, "perPage"); ok {
		if p.perPage, err = strconv.Atoi(s); err != nil || p.perPage < 1 || p.perPage > maxPerPage {
			return pageParams{}, invalidParam("perPage", "an integer from 1 to "+strconv.Itoa(maxPerPage))
		}
	}
	return p, nil
}

// first returns the first value of a query parameter, and whether it was
// given at all.
func first(v url.Values, name string) (string, bool) {
	vs, ok := v[name]
	if !ok || len(vs) == 0 {
		return "", false
	}
	return vs[0], true
}

// apiPaging and apiNavigation describe a page of a list (seeds/001 call log):
// pageStart and pageEnd index the page's first and last element in the
// whole list and are left out of an empty page.
type apiPaging struct {
	Page          int  `json:"page"`
	PerPage       int  `json:"perPage"`
	PageStart     *int `json:"pageStart,omitempty"`
	PageEnd       *int `json:"pageEnd,omitempty"`
	TotalPages    int  `json:"totalPages"`
	TotalElements int  `json:"totalElements"`
}

type apiNavigation struct {
	FirstPage    *apiLink `json:"firstPage"`
	NextPage     *apiLink `json:"nextPage,omitempty"`
	PreviousPage *apiLink `json:"previousPage,omitempty"`
	LastPage     *apiLink `json:"lastPage,omitempty"`
}

type apiLink struct {
	URI string `json:"uri"`
}

// queryParam is one parameter of a canonical URI, kept in order.
type queryParam struct{ name, value string }

// pageURI is base with the list's canonical parameters and the page.
func pageURI(base string, params []queryParam, page, perPage int) string {
	var b strings.Builder
	b.WriteString(base)
	sep := byte('?')
	add := func(name, value string) {
		b.WriteByte(sep)
		sep = '&'
		b.WriteString(name)
		b.WriteByte('=')
		// Colons need no escape in a query; keeping them leaves dates readable.
		b.WriteString(strings.ReplaceAll(url.QueryEscape(value), "%3A", ":"))
	}
	for _, p := range params {
		add(p.name, p.value)
	}
	add("page", strconv.Itoa(page))
	add("perPage", strconv.Itoa(perPage))
	return b.String()
}

// paginate describes the page p of a list of total elements, n of which are
// on this page.
func paginate(base string, params []queryParam, p pageParams, total, n int) (string, apiPaging, apiNavigation) {
	pages := (total + p.perPage - 1) / p.perPage
	paging := apiPaging{Page: p.page, PerPage: p.perPage, TotalPages: pages, TotalElements: total}
	if n > 0 {
		start, end := p.offset(), p.offset()+n-1
		paging.PageStart, paging.PageEnd = &start, &end
	}
	link := func(page int) *apiLink { return &apiLink{URI: pageURI(base, params, page, p.perPage)} }
	nav := apiNavigation{FirstPage: link(1), LastPage: link(max(pages, 1))}
	if p.page < pages {
		nav.NextPage = link(p.page + 1)
	}
	if p.page > 1 {
		nav.PreviousPage = link(min(p.page-1, max(pages, 1)))
	}
	return pageURI(base, params, p.page, p.perPage), paging, nav
}
