// Package static embeds the browser files: adapter.js for host pages, the
// widget's ES modules and styles, and the demo host page's script and styles.
package static

import "embed"

// FS holds every file served under /static/ and /adapter.js.
//
//go:embed *.js *.css
var FS embed.FS
