package templates

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/a-h/templ"

	"github.com/callbridge/widget-server/internal/locale"
)

// t is the message of key in the page's language, which the handler puts
// in the request's context (locale.With); args fill its {placeholders} as
// name, value pairs.
func t(ctx context.Context, key string, args ...any) string {
	return locale.T(ctx, key, args...)
}

// pageLang is the page's language tag, for <html lang>.
func pageLang(ctx context.Context) string {
	return locale.From(ctx).Tag
}

// widgetMessagesScript embeds the catalogue of the page's language for the
// widget's scripts (i18n.js) as a JSON data block, HTML-escaped so no
// message can close the element early.
func widgetMessagesScript(ctx context.Context) templ.Component {
	var safe bytes.Buffer
	json.HTMLEscape(&safe, locale.From(ctx).JSON())
	return templ.Raw(`<script type="application/json" id="cb-messages">` + safe.String() + `</script>`)
}
