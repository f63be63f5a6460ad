package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/callbridge/widget-server/internal/locale"
)

// Assets serves the embedded browser files. Everything is read and gzipped
// once at start; each file gets an ETag from its content, and the set gets a
// version (a hash over all files) used as the long-cache path prefix
// /static/{version}/, so relative module imports keep working and any change
// to any file moves every URL.
type Assets struct {
	version string
	files   map[string]*asset
	// adapter is adapter.js in each language of the catalogues: its bar's
	// words are written into it (adapterWords).
	adapter map[string]*asset
	// boot is boot.js and the modules it imports, joined into the classic
	// script the widget page carries inline in its head (early.js).
	boot string
}

type asset struct {
	body, gz []byte
	sum      [sha256.Size]byte
	etag     string
	ctype    string
}

// NewAssets loads every file of fsys.
func NewAssets(fsys fs.FS) (*Assets, error) {
	names, err := fs.Glob(fsys, "*")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	a := &Assets{files: make(map[string]*asset)}
	all := sha256.New()
	for _, name := range names {
		if strings.HasSuffix(name, ".go") {
			continue
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("asset %s: %w", name, err)
		}
		if name == "adapter.js" {
			body = stripCommentLines(body)
			if a.adapter, err = localiseAdapter(body); err != nil {
				return nil, err
			}
		}
		f := newAsset(name, body)
		all.Write([]byte(name))
		all.Write(f.sum[:])
		a.files[name] = f
	}
	a.version = hex.EncodeToString(all.Sum(nil)[:6])
	sources := map[string][]byte{}
	for name, f := range a.files {
		if strings.HasSuffix(name, ".js") {
			sources[name] = f.body
		}
	}
	if _, ok := sources["app.js"]; ok {
		bundle, err := bundleModules(sources, "app.js")
		if err != nil {
			return nil, err
		}
		a.files[BundleName] = newAsset(BundleName, bundle)
	}
	if _, ok := sources["boot.js"]; ok {
		boot, err := bundleModules(sources, "boot.js")
		if err != nil {
			return nil, err
		}
		// A classic script: its modules' names stay inside it.
		a.boot = "(() => {\n" + string(boot) + "})();\n"
		if lower := strings.ToLower(a.boot); strings.Contains(lower, "</script") || strings.Contains(lower, "<!--") {
			return nil, errors.New("boot script: it would end its inline script element early")
		}
	}
	return a, nil
}

func newAsset(name string, body []byte) *asset {
	sum := sha256.Sum256(body)
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(body)
	zw.Close()
	ctype := mime.TypeByExtension(path.Ext(name))
	switch {
	case strings.HasSuffix(name, ".js"):
		ctype = "text/javascript; charset=utf-8"
	case strings.HasSuffix(name, ".ts"):
		// Not the system's .ts, an MPEG transport stream.
		ctype = "application/typescript; charset=utf-8"
	}
	return &asset{body: body, gz: gz.Bytes(), sum: sum, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: ctype}
}

// adapterWords are the catalogue keys of the words on adapter.js's bar, in
// the order of its words line; the script names each by the part after
// "adapter.".
var adapterWords = []string{
	"adapter.phone", "adapter.incomingCall", "adapter.minimise", "adapter.expand", "adapter.close", "adapter.badge",
}

const adapterWordsLine = "  const words = "

// localiseAdapter writes adapter.js in each language of the catalogues:
// its words line with the language's words. The line in the source must be
// the English one, so the source and the catalogue cannot drift apart.
func localiseAdapter(body []byte) (map[string]*asset, error) {
	start := bytes.Index(body, []byte("\n"+adapterWordsLine))
	if start < 0 {
		return nil, fmt.Errorf("adapter.js has no line %q", adapterWordsLine)
	}
	start += 1 + len(adapterWordsLine)
	end := start + bytes.IndexByte(body[start:], '\n')
	if end < start {
		return nil, fmt.Errorf("adapter.js ends in its words line")
	}
	out := map[string]*asset{}
	for _, lang := range locale.Default.Languages() {
		line := wordsObject(locale.Default.Catalogue(lang)) + ";"
		if lang == locale.Reference && string(body[start:end]) != line {
			return nil, fmt.Errorf("adapter.js's words line is not the English catalogue's:\n have %s\n want %s", body[start:end], line)
		}
		localised := slices.Concat(body[:start], []byte(line), body[end:])
		out[lang] = newAsset("adapter.js", localised)
	}
	return out, nil
}

// wordsObject is the JavaScript object of adapterWords in catalogue c.
func wordsObject(c *locale.Catalogue) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, key := range adapterWords {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(strings.TrimPrefix(key, "adapter."))
		text, _ := json.Marshal(c.T(key))
		b.Write(name)
		b.WriteByte(':')
		b.Write(text)
	}
	b.WriteByte('}')
	return b.String()
}

// stripCommentLines drops the lines that are only a // comment. adapter.js,
// which every host page loads, is served without them: its comments are for
// whoever reads the source, and its size is budgeted. It has no multi-line
// string a line of which could start with //.
func stripCommentLines(js []byte) []byte {
	var out []byte
	for line := range bytes.Lines(js) {
		if !bytes.HasPrefix(bytes.TrimLeft(line, " \t"), []byte("//")) {
			out = append(out, line...)
		}
	}
	return out
}

// BootScript returns the script the widget page runs first, inline (see
// early.js); "" if the files have no boot.js.
func (a *Assets) BootScript() string { return a.boot }

// Base returns the versioned prefix under which the files are served.
func (a *Assets) Base() string { return "/static/" + a.version }

// GzipSize returns the gzipped size of a file, or -1 if there is none.
func (a *Assets) GzipSize(name string) int {
	if f := a.files[name]; f != nil {
		return len(f.gz)
	}
	return -1
}

// ServeVersioned serves /static/{version}/{name} with an immutable cache
// policy. A stale version gets 404 so a cached page never mixes builds.
func (a *Assets) ServeVersioned(w http.ResponseWriter, r *http.Request, version, name string) {
	f := a.files[name]
	if f == nil || version != a.version {
		http.NotFound(w, r)
		return
	}
	a.serve(w, r, f, "public, max-age=31536000, immutable")
}

// ServeFile serves a file at a fixed URL: clients revalidate after a short
// time, with the ETag making that a 304.
func (a *Assets) ServeFile(w http.ResponseWriter, r *http.Request, name string) {
	f := a.files[name]
	if f == nil {
		http.NotFound(w, r)
		return
	}
	a.serve(w, r, f, "public, max-age=300, must-revalidate")
}

// ServeAdapter serves adapter.js in the language of its lang flag, else of
// the browser's Accept-Language, as the widget it frames will speak.
func (a *Assets) ServeAdapter(w http.ResponseWriter, r *http.Request) {
	l, _ := locale.Default.Match(r.URL.Query().Get("lang"), r.Header.Get("Accept-Language"))
	f := a.adapter[l.Lang]
	if f == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Add("Vary", "Accept-Language")
	a.serve(w, r, f, "public, max-age=300, must-revalidate")
}

func (a *Assets) serve(w http.ResponseWriter, r *http.Request, f *asset, cacheControl string) {
	h := w.Header()
	h.Set("Content-Type", f.ctype)
	h.Set("Cache-Control", cacheControl)
	h.Set("ETag", f.etag)
	h.Add("Vary", "Accept-Encoding")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatches(match, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := f.body
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = f.gz
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

func etagMatches(header, etag string) bool {
	for part := range strings.SplitSeq(header, ",") {
		part = strings.TrimSpace(part)
		if part == "*" || strings.TrimPrefix(part, "W/") == etag {
			return true
		}
	}
	return false
}

func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			continue
		}
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		return q > 0
	}
	return false
}
