package web

import (
	"encoding/json"
	"io"
)

// jsonDecoder decodes request bodies strictly: unknown fields are errors, so
// a misspelt field is reported instead of silently ignored.
func jsonDecoder(r io.Reader) *json.Decoder {
	d := json.NewDecoder(r)
	d.DisallowUnknownFields()
	return d
}
