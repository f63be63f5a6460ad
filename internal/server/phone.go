package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/media"
	"github.com/callbridge/widget-server/internal/telephony"
)

// phoneDirectory answers the switch's questions about extensions from the
// account store: who an extension number or one of the account's numbers
// reaches, and how to present an extension as a caller.
type phoneDirectory struct {
	accounts identity.AccountStore
	dids     didStore
}

// didStore finds the extension, of any account, that has a direct number.
type didStore interface {
	ExtensionByDirectNumber(ctx context.Context, e164 string) (identity.Extension, error)
}

func (d phoneDirectory) Lookup(ctx context.Context, callerExt int64, target string) (telephony.Endpoint, bool, error) {
	caller, err := d.accounts.Extension(ctx, callerExt)
	if err != nil {
		return telephony.Endpoint{}, false, err
	}
	if !strings.HasPrefix(target, "+") {
		ext, err := d.accounts.ExtensionByNumber(ctx, caller.AccountID, target)
		if errors.Is(err, identity.ErrNotFound) {
			return telephony.Endpoint{}, false, nil
		}
		if err != nil {
			return telephony.Endpoint{}, false, err
		}
		return d.endpoint(ctx, ext)
	}
	acct, err := d.accounts.Account(ctx, caller.AccountID)
	if err != nil {
		return telephony.Endpoint{}, false, err
	}
	exts, err := d.accounts.Extensions(ctx, acct.ID)
	if err != nil {
		return telephony.Endpoint{}, false, err
	}
	for _, e := range exts {
		if slices.Contains(e.DirectNumbers, target) {
			return d.endpoint(ctx, e)
		}
	}
	if target == acct.MainNumber {
		return d.operator(ctx, exts)
	}
	return telephony.Endpoint{}, false, nil
}

// operator is whom an account's main number reaches: its first admin.
func (d phoneDirectory) operator(ctx context.Context, exts []identity.Extension) (telephony.Endpoint, bool, error) {
	for _, e := range exts {
		if e.Admin() && e.Enabled() {
			return d.endpoint(ctx, e)
		}
	}
	return telephony.Endpoint{}, false, nil
}

// LookupDID answers telephony.DIDs for calls from trunks: a number (E.164)
// reaches the extension, of any account, that has it as a direct number,
// and an account's main number its operator.
func (d phoneDirectory) LookupDID(ctx context.Context, e164 string) (telephony.Endpoint, bool, error) {
	e, err := d.dids.ExtensionByDirectNumber(ctx, e164)
	switch {
	case err == nil:
		return d.endpoint(ctx, e)
	case !errors.Is(err, identity.ErrNotFound):
		return telephony.Endpoint{}, false, err
	}
	acct, err := d.accounts.AccountByMainNumber(ctx, e164)
	if errors.Is(err, identity.ErrNotFound) {
		return telephony.Endpoint{}, false, nil
	}
	if err != nil {
		return telephony.Endpoint{}, false, err
	}
	exts, err := d.accounts.Extensions(ctx, acct.ID)
	if err != nil {
		return telephony.Endpoint{}, false, err
	}
	return d.operator(ctx, exts)
}

func (d phoneDirectory) endpoint(ctx context.Context, e identity.Extension) (telephony.Endpoint, bool, error) {
	if !e.Enabled() {
		return telephony.Endpoint{}, false, nil
	}
	ep, err := d.Describe(ctx, e.ID)
	return ep, err == nil, err
}

// Members answers telephony.Departments: a call to a department rings its members.
func (d phoneDirectory) Members(ctx context.Context, extensionID int64) ([]int64, bool, error) {
	e, err := d.accounts.Extension(ctx, extensionID)
	if err != nil {
		return nil, false, err
	}
	return e.Members, e.Department(), nil
}

func (d phoneDirectory) Describe(ctx context.Context, extensionID int64) (telephony.Endpoint, error) {
	e, err := d.accounts.Extension(ctx, extensionID)
	if err != nil {
		return telephony.Endpoint{}, err
	}
	acct, err := d.accounts.Account(ctx, e.AccountID)
	if err != nil {
		return telephony.Endpoint{}, err
	}
	number := acct.MainNumber
	if len(e.DirectNumbers) > 0 {
		number = e.DirectNumbers[0]
	}
	return telephony.Endpoint{PhoneNumber: number, Name: e.Name, ExtensionNumber: e.Number, ExtensionID: e.ID}, nil
}

func (d phoneDirectory) Region(ctx context.Context, extensionID int64) (string, error) {
	e, err := d.accounts.Extension(ctx, extensionID)
	if err != nil {
		return "", err
	}
	acct, err := d.accounts.Account(ctx, e.AccountID)
	if err != nil {
		return "", err
	}
	return acct.CountryCode, nil
}

// gatewayMedia adapts the media gateway to the switch's Media interface.
type gatewayMedia struct {
	g *media.Gateway
}

var legKinds = map[telephony.LegKind]media.Kind{
	telephony.LegPhone: media.KindPhone,
	telephony.LegTone:  media.KindTone,
	telephony.LegEcho:  media.KindEcho,

	telephony.LegTrunkPhone: media.KindTrunkPhone,
}

func (m gatewayMedia) OpenLeg(ctx context.Context, id, offer string, kind telephony.LegKind) (string, error) {
	answer, err := m.g.OpenLeg(ctx, id, offer, legKinds[kind])
	return answer, badOffer(err)
}

// badOffer names an offer the gateway refused as the switch's ErrBadOffer,
// which the HTTP faces answer 400: the browser's description, not the server,
// is at fault.
func badOffer(err error) error {
	if errors.Is(err, media.ErrBadOffer) {
		return fmt.Errorf("%w: %w", telephony.ErrBadOffer, err)
	}
	return err
}
func (m gatewayMedia) Connect(a, b string) error     { return m.g.Connect(a, b) }
func (m gatewayMedia) SetForward(id string, on bool) { m.g.SetForward(id, on) }
func (m gatewayMedia) CloseLeg(id string)            { m.g.CloseLeg(id) }

// Conferences: the switch's mixes are the gateway's (telephony.Mixer).

var _ telephony.Mixer = gatewayMedia{}

func (m gatewayMedia) SetMix(id string, members []telephony.MixMember) error {
	mix := make([]media.MixMember, len(members))
	for i, mm := range members {
		mix[i] = media.MixMember{Leg: mm.Leg, Speak: mm.Speak, Listen: mm.Listen}
	}
	return m.g.SetMix(id, mix)
}

// The RTP legs of trunk calls and desk phones (telephony.TrunkMedia).

var _ telephony.TrunkMedia = gatewayMedia{}

func (m gatewayMedia) OfferRTP(ctx context.Context, id, like string, hold bool) (string, error) {
	return m.g.OfferRTP(ctx, id, media.RTPOptions{Like: like, Direction: holdDirection(hold)})
}
func (m gatewayMedia) ApplyRTPAnswer(id, sdp string) error { return m.g.ApplyRTPAnswer(id, sdp) }
func (m gatewayMedia) AnswerRTP(ctx context.Context, id, offer, like string, hold bool) (string, error) {
	return m.g.AnswerRTP(ctx, id, offer, media.RTPOptions{Like: like, Direction: holdDirection(hold)})
}
func (m gatewayMedia) OpenLegLike(ctx context.Context, id, offer, like string) (string, error) {
	answer, err := m.g.OpenLegLike(ctx, id, offer, like)
	return answer, badOffer(err)
}

// holdDirection is what the gateway's side of a trunk call wants: to send
// nothing while the call is held here.
func holdDirection(hold bool) media.Direction {
	if hold {
		return media.SendOnly
	}
	return media.SendRecv
}
func (m gatewayMedia) Ringback(id string, on bool) { _ = m.g.Ringback(id, on) } // a leg closed meanwhile stops ringing
func (m gatewayMedia) SendDTMF(id string, digit rune, d time.Duration) error {
	return m.g.SendDTMF(id, digit, d)
}
