// Package i18n embeds the widget's message catalogues: one directory per
// language (en, fr, de, es), one JSON file per area of the widget. A file
// maps keys to messages; the full key of a message is "area.key" (the
// message "call" of common.json is common.call). A message is a string, with
// {name} where a value goes, or, where a count decides the words, an object
// of plural forms ("one", "other", and any other CLDR category the language
// has). English is the reference: every catalogue has exactly its keys.
package i18n

import "embed"

// FS holds every catalogue file, as <language>/<area>.json.
//
//go:embed */*.json
var FS embed.FS
