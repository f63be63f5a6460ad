package params

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
)

// Decoder decodes request bodies strictly: unknown fields are errors, so a
// misspelt field is reported instead of silently ignored.
func Decoder(r io.Reader) *json.Decoder {
	d := json.NewDecoder(r)
	d.DisallowUnknownFields()
	return d
}

// JSON decodes a request body strictly into v: one JSON value of v's
// shape. A field that is unknown or of the wrong type is named in the 400.
func JSON(c echo.Context, v any) error {
	r := c.Request()
	if ct := r.Header.Get(echo.HeaderContentType); ct != "" && !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return &httperror.Error{Status: http.StatusUnsupportedMediaType, Code: "UnsupportedMediaType", Message: "send application/json"}
	}
	dec := Decoder(r.Body)
	err := dec.Decode(v)
	if err == nil {
		if dec.More() {
			return &httperror.Error{Status: http.StatusBadRequest, Code: "InvalidJSON", Message: "the body holds more than one JSON value"}
		}
		return nil
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return &httperror.Error{Status: http.StatusRequestEntityTooLarge, Code: "RequestTooLarge", Message: "request body too large"}
	}
	if errors.Is(err, io.EOF) {
		return &httperror.Error{Status: http.StatusBadRequest, Code: "InvalidJSON", Message: "send a JSON object in the body"}
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return httperror.InvalidParam(typeErr.Field, fmt.Sprintf("must be a %s", typeErr.Type))
	}
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name := strings.Trim(field, `"`)
		return &httperror.Error{Status: http.StatusBadRequest, Code: httperror.CodeInvalidParameter, Param: name,
			Message: "Parameter [" + name + "] is not known here"}
	}
	return &httperror.Error{Status: http.StatusBadRequest, Code: "InvalidJSON", Message: "the body is not valid JSON for this request: " + err.Error()}
}
