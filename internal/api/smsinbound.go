package api

import (
	"bytes"
	"errors"
	"io"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/params"
)

// smsInboundAnswer is what the inbound webhook answers: the id of the
// stored message, and whether the request repeated one already stored.
type smsInboundAnswer struct {
	ID        string `json:"id"`
	Duplicate bool   `json:"duplicate"`
}

// smsInbound is the SMS provider's inbound webhook, POST
// /webhooks/sms/inbound (docs/api-messages.md "Inbound webhook"): a
// signed JSON body {id, from, to, text}. A bad or old signature is 401; a
// repeat of the provider's id answers the message already stored.
func (s *Server) smsInbound(c echo.Context) error {
	if s.Messages == nil || !s.Messages.InboundEnabled() {
		return &httperror.Error{Status: http.StatusServiceUnavailable, Code: "InboundSMSOff",
			Message: "inbound SMS are off: the server has no webhook secret (--sms-webhook-secret-file)"}
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) || errors.Is(err, echo.ErrStatusRequestEntityTooLarge) {
			return &httperror.Error{Status: http.StatusRequestEntityTooLarge, Code: "RequestTooLarge", Message: "request body too large"}
		}
		return &httperror.Error{Status: http.StatusBadRequest, Code: "InvalidJSON", Message: "the body could not be read", Err: err}
	}
	if err := s.Messages.VerifyWebhook(c.Request().Header, body); err != nil {
		return err // messaging.ErrBadSignature: 401 InvalidSignature
	}
	var in messaging.InboundSMS
	c.Request().Body = io.NopCloser(bytes.NewReader(body))
	if err := params.JSON(c, &in); err != nil {
		return err
	}
	m, created, err := s.Messages.ReceiveSMS(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, smsInboundAnswer{ID: m.ID, Duplicate: !created})
}
