package identity

import (
	"context"
	"errors"
	"slices"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
)

// jwtBearer is the token endpoint's handler of the jwt-bearer grant (RFC
// 7523 §2.1) with this server's JWT credentials. Only a confidential
// client may use it: a credential alone, leaked from a server's
// configuration, signs nobody in.
type jwtBearer struct {
	auth    *AuthServer
	helper  *oauth2.HandleHelper
	refresh oauth2.RefreshTokenStrategy
	store   oauth2.RefreshTokenStorage
}

var _ fosite.TokenEndpointHandler = (*jwtBearer)(nil)

func (h *jwtBearer) CanSkipClientAuth(context.Context, fosite.AccessRequester) bool { return false }

func (h *jwtBearer) CanHandleTokenEndpointRequest(_ context.Context, r fosite.AccessRequester) bool {
	return h.auth.jwt.Load() != nil && r.GetGrantTypes().ExactOne(GrantTypeJWTBearer)
}

func (h *jwtBearer) HandleTokenEndpointRequest(ctx context.Context, r fosite.AccessRequester) error {
	if !h.CanHandleTokenEndpointRequest(ctx, r) {
		return fosite.ErrUnknownRequest
	}
	client := r.GetClient()
	if client.IsPublic() || !client.GetGrantTypes().Has(GrantTypeJWTBearer) {
		return fosite.ErrUnauthorizedClient.WithHint("Only a confidential client, one with a client secret, may exchange a JWT credential.")
	}
	for _, s := range r.GetRequestedScopes() {
		if !slices.Contains(grantableScopes, s) {
			return fosite.ErrInvalidScope.WithHintf("The scope %q cannot be granted.", s)
		}
	}
	form := r.GetRequestForm()
	assertion := form.Get("assertion")
	// The credential must never reach the token store with the request.
	form.Del("assertion")
	j := h.auth.jwt.Load()
	cred, acct, ext, err := j.Verify(ctx, assertion)
	if errors.Is(err, errAssertion) {
		return fosite.ErrInvalidGrant.WithHint("The assertion is not an active JWT credential of this server.").WithDebug(err.Error())
	}
	if err != nil {
		return fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
	}
	s, ok := r.GetSession().(*openid.DefaultSession)
	if !ok {
		return fosite.ErrServerError.WithDebug("unexpected session type")
	}
	h.auth.signIn(s, acct, ext)
	now := h.auth.cfg.Now().UTC()
	s.SetExpiresAt(fosite.AccessToken, now.Add(h.auth.cfg.AccessTokenLifespan).Round(1e9))
	s.SetExpiresAt(fosite.RefreshToken, now.Add(h.auth.cfg.RefreshTokenLifespan).Round(1e9))
	if err := j.store.UseJWTCredential(ctx, cred.ID, r.GetID(), now); err != nil {
		return fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
	}
	return nil
}

func (h *jwtBearer) PopulateTokenEndpointResponse(ctx context.Context, r fosite.AccessRequester, resp fosite.AccessResponder) error {
	if !h.CanHandleTokenEndpointRequest(ctx, r) {
		return fosite.ErrUnknownRequest
	}
	accessSig, err := h.helper.IssueAccessToken(ctx, h.auth.cfg.AccessTokenLifespan, r, resp)
	if err != nil {
		return err
	}
	token, sig, err := h.refresh.GenerateRefreshToken(ctx, r)
	if err != nil {
		return fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
	}
	if err := h.store.CreateRefreshTokenSession(ctx, sig, accessSig, r.Sanitize(nil)); err != nil {
		return fosite.ErrServerError.WithWrap(err).WithDebug(err.Error())
	}
	resp.SetExtra("refresh_token", token)
	return nil
}
