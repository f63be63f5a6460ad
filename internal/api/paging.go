package api

import (
	"net/url"
	"strconv"
	"strings"

	"github.com/callbridge/widget-server/internal/params"
)

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
func pageURI(base string, query []queryParam, page, perPage int) string {
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
	for _, p := range query {
		add(p.name, p.value)
	}
	add("page", strconv.Itoa(page))
	add("perPage", strconv.Itoa(perPage))
	return b.String()
}

// paginate describes the page p of a list of total elements, n of which are
// on this page.
func paginate(base string, query []queryParam, p params.Page, total, n int) (string, apiPaging, apiNavigation) {
	pages := (total + p.PerPage - 1) / p.PerPage
	paging := apiPaging{Page: p.Number, PerPage: p.PerPage, TotalPages: pages, TotalElements: total}
	if n > 0 {
		start, end := p.Offset(), p.Offset()+n-1
		paging.PageStart, paging.PageEnd = &start, &end
	}
	link := func(page int) *apiLink { return &apiLink{URI: pageURI(base, query, page, p.PerPage)} }
	nav := apiNavigation{FirstPage: link(1), LastPage: link(max(pages, 1))}
	if p.Number < pages {
		nav.NextPage = link(p.Number + 1)
	}
	if p.Number > 1 {
		nav.PreviousPage = link(min(p.Number-1, max(pages, 1)))
	}
	return pageURI(base, query, p.Number, p.PerPage), paging, nav
}
