package api

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/callbridge/widget-server/internal/httperror"
	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/params"
	"github.com/callbridge/widget-server/internal/webhooks"
)

// Subscriptions keeps webhook subscriptions and delivers their
// notifications (internal/webhooks implements it).
type Subscriptions interface {
	Create(ctx context.Context, owner webhooks.Owner, req webhooks.Request) (webhooks.Subscription, error)
	Get(ctx context.Context, id string) (webhooks.Subscription, error)
	List(ctx context.Context, accountID int64) ([]webhooks.Subscription, error)
	Update(ctx context.Context, id string, req webhooks.Request) (webhooks.Subscription, error)
	Renew(ctx context.Context, id string) (webhooks.Subscription, error)
	Delete(ctx context.Context, id string) error
	// DropSink forgets the WebSocket subscriptions of a socket session
	// that ended.
	DropSink(sink webhooks.Sink)
	// Now is the time by which subscriptions' statuses are told.
	Now() time.Time
}

// subscriptionAPIRoutes mounts /restapi/v1.0/subscription (docs/api-subscriptions.md).
func (s *Server) subscriptionAPIRoutes(g *echo.Group, mw []echo.MiddlewareFunc) {
	g.POST("/subscription", s.apiCreateSubscription, mw...)
	g.GET("/subscription", s.apiListSubscriptions, mw...)
	g.GET("/subscription/:subscriptionId", s.apiGetSubscription, mw...)
	g.PUT("/subscription/:subscriptionId", s.apiUpdateSubscription, mw...)
	g.DELETE("/subscription/:subscriptionId", s.apiDeleteSubscription, mw...)
	g.POST("/subscription/:subscriptionId/renew", s.apiRenewSubscription, mw...)
}

// subscriptionRequest is the body of POST and PUT /subscription.
type subscriptionRequest struct {
	EventFilters []string             `json:"eventFilters"`
	DeliveryMode *deliveryModeRequest `json:"deliveryMode"`
	ExpiresIn    *int64               `json:"expiresIn"`
}

type deliveryModeRequest struct {
	TransportType     string `json:"transportType"`
	Address           string `json:"address"`
	VerificationToken string `json:"verificationToken"`
}

// apiSubscription is the subscription resource.
type apiSubscription struct {
	URI            string          `json:"uri"`
	ID             string          `json:"id"`
	CreationTime   string          `json:"creationTime"`
	Status         string          `json:"status"`
	EventFilters   []string        `json:"eventFilters"`
	ExpirationTime string          `json:"expirationTime"`
	ExpiresIn      int64           `json:"expiresIn"`
	OwnerID        string          `json:"ownerId"`
	DeliveryMode   apiDeliveryMode `json:"deliveryMode"`
}

type apiDeliveryMode struct {
	TransportType     string `json:"transportType"`
	Address           string `json:"address,omitempty"` // a webhook's
	VerificationToken string `json:"verificationToken,omitempty"`
	// SigningSecret keys the notifications' signature; only the answer to
	// the POST that creates the subscription carries it.
	SigningSecret string `json:"signingSecret,omitempty"`
}

type apiSubscriptionList struct {
	URI     string            `json:"uri"`
	Records []apiSubscription `json:"records"`
}

var errNoWebhooks = &httperror.Error{Status: http.StatusNotImplemented, Code: "NotImplemented", Message: "webhook subscriptions are off on this server"}

// apiCreateSubscription answers POST /subscription: the receiver must pass
// the address check; the answer carries the signing secret, once.
func (s *Server) apiCreateSubscription(c echo.Context) error {
	if s.Webhooks == nil {
		return errNoWebhooks
	}
	req, err := s.subscriptionRequest(c, true)
	if err != nil {
		return err
	}
	who := caller(c)
	sub, err := s.Webhooks.Create(c.Request().Context(), webhooks.Owner{AccountID: who.Account.ID, ExtensionID: who.Extension.ID}, req)
	if err != nil {
		return err
	}
	out := s.apiSubscription(sub)
	out.DeliveryMode.SigningSecret = sub.Secret
	return c.JSON(http.StatusOK, out)
}

// apiListSubscriptions answers GET /subscription: the caller's
// subscriptions, or an administrator's whole account's.
func (s *Server) apiListSubscriptions(c echo.Context) error {
	if s.Webhooks == nil {
		return errNoWebhooks
	}
	who := caller(c)
	all, err := s.Webhooks.List(c.Request().Context(), who.Account.ID)
	if err != nil {
		return err
	}
	out := apiSubscriptionList{URI: s.subscriptionURI(""), Records: []apiSubscription{}}
	for _, sub := range all {
		if visible(sub, who) {
			out.Records = append(out.Records, s.apiSubscription(sub))
		}
	}
	return c.JSON(http.StatusOK, out)
}

// apiGetSubscription answers GET /subscription/{subscriptionId}.
func (s *Server) apiGetSubscription(c echo.Context) error {
	sub, err := s.pathSubscription(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.apiSubscription(sub))
}

// apiUpdateSubscription answers PUT /subscription/{subscriptionId}: new
// filters, and a new delivery (checked again) or lifetime when given.
func (s *Server) apiUpdateSubscription(c echo.Context) error {
	sub, err := s.pathSubscription(c)
	if err != nil {
		return err
	}
	req, err := s.subscriptionRequest(c, false)
	if err != nil {
		return err
	}
	if sub, err = s.Webhooks.Update(c.Request().Context(), sub.ID, req); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.apiSubscription(sub))
}

// apiRenewSubscription answers POST /subscription/{subscriptionId}/renew:
// the subscription's lifetime again, from now.
func (s *Server) apiRenewSubscription(c echo.Context) error {
	sub, err := s.pathSubscription(c)
	if err != nil {
		return err
	}
	if sub, err = s.Webhooks.Renew(c.Request().Context(), sub.ID); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.apiSubscription(sub))
}

// apiDeleteSubscription answers DELETE /subscription/{subscriptionId} with
// the subscription as it was; nothing more is delivered for it.
func (s *Server) apiDeleteSubscription(c echo.Context) error {
	sub, err := s.pathSubscription(c)
	if err != nil {
		return err
	}
	if err := s.Webhooks.Delete(c.Request().Context(), sub.ID); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s.apiSubscription(sub))
}

// maxSubscriptionID bounds the path's id; longer ones are not looked up.
const maxSubscriptionID = 64

// pathSubscription returns the path's subscription if the caller may see
// it: its owner, or an administrator of its account. Others are not found,
// whether or not it exists.
func (s *Server) pathSubscription(c echo.Context) (webhooks.Subscription, error) {
	if s.Webhooks == nil {
		return webhooks.Subscription{}, errNoWebhooks
	}
	notFound := &httperror.Error{Status: http.StatusNotFound, Code: "NotFound", Message: "no such subscription"}
	id := c.Param("subscriptionId")
	if id == "" || len(id) > maxSubscriptionID {
		return webhooks.Subscription{}, notFound
	}
	sub, err := s.Webhooks.Get(c.Request().Context(), id)
	if errors.Is(err, webhooks.ErrNotFound) || err == nil && !visible(sub, caller(c)) {
		return webhooks.Subscription{}, notFound
	}
	return sub, err
}

func visible(sub webhooks.Subscription, who apiCaller) bool {
	return sub.AccountID == who.Account.ID && (sub.OwnerID == who.Extension.ID || who.Extension.Admin())
}

// subscriptionRequest reads the body of POST (create) or PUT: the filters
// resolved to ids and allowed to the caller, the delivery mode, expiresIn.
func (s *Server) subscriptionRequest(c echo.Context, create bool) (webhooks.Request, error) {
	var body subscriptionRequest
	if err := params.JSON(c, &body); err != nil {
		return webhooks.Request{}, err
	}
	var req webhooks.Request
	if len(body.EventFilters) == 0 {
		return req, httperror.InvalidParam("eventFilters", "name at least one event, such as /restapi/v1.0/account/~/extension/~/presence")
	}
	if len(body.EventFilters) > webhooks.MaxFilters {
		return req, httperror.InvalidParam("eventFilters", "at most "+strconv.Itoa(webhooks.MaxFilters)+" event filters")
	}
	who := caller(c)
	for _, raw := range body.EventFilters {
		f, err := s.eventFilter(c.Request().Context(), raw, who)
		if err != nil {
			return req, err
		}
		req.Filters = append(req.Filters, f)
	}
	if dm := body.DeliveryMode; dm != nil {
		switch {
		case strings.EqualFold(dm.TransportType, webhooks.TransportWebHook):
			req.Delivery = &webhooks.Delivery{Address: dm.Address, VerificationToken: dm.VerificationToken}
		case strings.EqualFold(dm.TransportType, webhooks.TransportWebSocket):
			sess := socketOf(c)
			if sess == nil {
				return req, httperror.InvalidParam("deliveryMode.transportType",
					"WebSocket subscriptions are made over the socket (POST /restapi/oauth/wstoken, then a ClientRequest)")
			}
			req.Delivery = &webhooks.Delivery{Sink: sess}
		default:
			return req, httperror.InvalidParam("deliveryMode.transportType", "WebHook or WebSocket")
		}
	} else if create {
		return req, httperror.InvalidParam("deliveryMode", `is required: {"transportType": "WebHook", "address": "https://…"}`)
	}
	if body.ExpiresIn != nil {
		secs := *body.ExpiresIn
		if secs < 1 {
			return req, httperror.InvalidParam("expiresIn", "a number of seconds, at least 1")
		}
		req.ExpiresIn = time.Duration(min(secs, math.MaxInt64/int64(time.Second))) * time.Second
	}
	return req, nil
}

// eventFilter parses one filter: "~" is the caller; another extension of
// the account is for administrators (403); anything else is a 400 naming
// eventFilters.
func (s *Server) eventFilter(ctx context.Context, raw string, who apiCaller) (webhooks.Filter, error) {
	f, err := webhooks.ParseFilter(raw, webhooks.Owner{AccountID: who.Account.ID, ExtensionID: who.Extension.ID})
	if err != nil {
		return f, httperror.InvalidParam("eventFilters", err.Error())
	}
	if f.AccountID != who.Account.ID {
		return f, httperror.InvalidParam("eventFilters", "no such account: use ~ or your account's id")
	}
	if f.ExtensionID == who.Extension.ID {
		return f, nil
	}
	if !who.Extension.Admin() {
		return f, errAdminOnly
	}
	a, _, err := s.Directory.ExtensionWithAccount(ctx, f.ExtensionID)
	if errors.Is(err, identity.ErrNotFound) || err == nil && a.ID != who.Account.ID {
		return f, httperror.InvalidParam("eventFilters", "no such extension: "+strconv.FormatInt(f.ExtensionID, 10))
	}
	return f, err
}

func (s *Server) subscriptionURI(id string) string {
	u := s.cfg.PublicURL + "/restapi/v1.0/subscription"
	if id != "" {
		u += "/" + id
	}
	return u
}

// apiSubscription is a subscription as the API shows it, without its secret.
func (s *Server) apiSubscription(sub webhooks.Subscription) apiSubscription {
	now := s.Webhooks.Now()
	filters := make([]string, len(sub.Filters))
	for i, f := range sub.Filters {
		filters[i] = f.String()
	}
	return apiSubscription{
		URI: s.subscriptionURI(sub.ID), ID: sub.ID, CreationTime: sub.Created.UTC().Format(apiTimeFormat),
		Status: sub.State(now), EventFilters: filters, ExpirationTime: sub.Expires.UTC().Format(apiTimeFormat),
		ExpiresIn: int64(sub.ExpiresIn(now).Round(time.Second) / time.Second), OwnerID: strconv.FormatInt(sub.OwnerID, 10),
		DeliveryMode: apiDeliveryMode{TransportType: sub.Transport(), Address: sub.Address, VerificationToken: sub.VerificationToken},
	}
}
