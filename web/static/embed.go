// Package static embeds the browser files: adapter.js for host pages and
// its TypeScript definitions (adapter.d.ts, generated from internal/bridge),
// the widget's ES modules and styles, and the demo host page's script and
// styles.
package static

import "embed"

// FS holds every file served under /static/, /adapter.js and /adapter.d.ts.
//
//go:embed *.js *.css *.d.ts
var FS embed.FS
