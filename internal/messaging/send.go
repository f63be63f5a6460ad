package messaging

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/callbridge/widget-server/internal/identity"
	"github.com/callbridge/widget-server/internal/phonenumber"
)

// Limits of what is sent.
const (
	MaxTextLength      = 1000 // characters of a message's text
	MaxPagerRecipients = 50
)

// SMSRequest is an SMS to send: from one of the sender's numbers to one
// phone number.
type SMSRequest struct {
	From string
	To   []string
	Text string
}

// PagerRequest is a pager message to extensions of the sender's account;
// From, when set, must be the sender's own extension number.
type PagerRequest struct {
	From string
	To   []string
	Text string
}

// sender is the extension that sends, with its account.
type sender struct {
	acct identity.Account
	ext  identity.Extension
}

func (s *Service) sender(ctx context.Context, extensionID int64) (sender, error) {
	ext, err := s.accounts.Extension(ctx, extensionID)
	if err != nil {
		return sender{}, fmt.Errorf("sender %d: %w", extensionID, err)
	}
	acct, err := s.accounts.Account(ctx, ext.AccountID)
	if err != nil {
		return sender{}, fmt.Errorf("account of sender %d: %w", extensionID, err)
	}
	return sender{acct, ext}, nil
}

// checkText refuses an empty text or one longer than MaxTextLength.
func checkText(text string) error {
	switch n := utf8.RuneCountInString(text); {
	case strings.TrimSpace(text) == "":
		return invalid("text", "must not be empty")
	case n > MaxTextLength:
		return invalid("text", fmt.Sprintf("at most %d characters (this one has %d)", MaxTextLength, n))
	case !utf8.ValidString(text):
		return invalid("text", "must be UTF-8")
	}
	return nil
}

// SendSMS sends an SMS for the extension and returns its copy as it stands
// once the request is answered: Delivered to a number served here or a
// test number that accepts it, Queued while the provider is being tried,
// DeliveryFailed when there is no provider.
func (s *Service) SendSMS(ctx context.Context, extensionID int64, req SMSRequest) (Message, error) {
	if err := checkText(req.Text); err != nil {
		return Message{}, err
	}
	snd, err := s.sender(ctx, extensionID)
	if err != nil {
		return Message{}, err
	}
	from, err := s.ownNumber(snd, req.From)
	if err != nil {
		return Message{}, err
	}
	if len(req.To) != 1 {
		return Message{}, invalid("to", "exactly one recipient: an SMS goes to one phone number")
	}
	to, err := phonenumber.Normalize(req.To[0], snd.acct.CountryCode)
	if err != nil || !strings.HasPrefix(to, "+") {
		return Message{}, invalid("to", "a phone number, e.g. +16505550123 (extensions are reached by company pager)")
	}
	job := Delivery{Route: RouteProvider}
	toParty := Party{PhoneNumber: to}
	if tl, ok := lookupTestLine(to); ok {
		job.Route = RouteTestLine
		toParty.Name = tl.name
	} else if ext, ok, err := s.onNet(ctx, to); err != nil {
		return Message{}, err
	} else if ok {
		job.Route, job.Recipients = RouteOnNet, []int64{ext.ID}
		toParty.Name = ext.Name
	}
	now := s.now()
	m := Message{
		AccountID: snd.acct.ID, ExtensionID: snd.ext.ID, Type: SMS, Direction: Outbound,
		From: Party{PhoneNumber: from, Name: snd.ext.Name}, To: []Party{toParty}, Subject: req.Text,
		CreationTime: now, LastModifiedTime: now, ReadStatus: Read, Status: Queued, Availability: Alive,
		ConversationID: smsConversation(from, to),
	}
	return s.send(ctx, m, job)
}

// ownNumber checks that raw is one of the sender's numbers: a direct
// number or the account's main number.
func (s *Service) ownNumber(snd sender, raw string) (string, error) {
	own := append([]string{}, snd.ext.DirectNumbers...)
	own = append(own, snd.acct.MainNumber)
	why := "one of your numbers: " + strings.Join(own, ", ")
	if strings.TrimSpace(raw) == "" {
		return "", invalid("from", "missing: "+why)
	}
	n, err := phonenumber.Normalize(raw, snd.acct.CountryCode)
	if err != nil || !slices.Contains(own, n) {
		return "", invalid("from", why)
	}
	return n, nil
}

// onNet finds the extension an E.164 number reaches on this server: the
// extension with that direct number, or for an account's main number its
// first administrator (the operator, as calls do).
func (s *Service) onNet(ctx context.Context, number string) (identity.Extension, bool, error) {
	ext, err := s.store.ExtensionByDirectNumber(ctx, number)
	if err == nil {
		return ext, true, nil
	}
	if !errors.Is(err, identity.ErrNotFound) {
		return identity.Extension{}, false, fmt.Errorf("number %s: %w", number, err)
	}
	acct, err := s.accounts.AccountByMainNumber(ctx, number)
	if errors.Is(err, identity.ErrNotFound) {
		return identity.Extension{}, false, nil
	}
	if err != nil {
		return identity.Extension{}, false, fmt.Errorf("number %s: %w", number, err)
	}
	exts, err := s.accounts.Extensions(ctx, acct.ID)
	if err != nil {
		return identity.Extension{}, false, fmt.Errorf("extensions of account %d: %w", acct.ID, err)
	}
	var admin *identity.Extension
	for i, e := range exts {
		if e.Admin() && (admin == nil || e.Enabled() && !admin.Enabled()) {
			admin = &exts[i]
		}
	}
	if admin == nil {
		return identity.Extension{}, false, nil
	}
	return *admin, true, nil
}

// SendPager sends a company pager message to extensions of the sender's
// account and returns the sender's copy, Delivered. A department among the
// recipients stands for its members (seeds/001): each gets its own copy,
// addressed to the department, but the sender, and the sent copy says
// ToDepartment. A department with no one to forward to is refused.
func (s *Service) SendPager(ctx context.Context, extensionID int64, req PagerRequest) (Message, error) {
	if err := checkText(req.Text); err != nil {
		return Message{}, err
	}
	snd, err := s.sender(ctx, extensionID)
	if err != nil {
		return Message{}, err
	}
	if req.From != "" && strings.TrimSpace(req.From) != snd.ext.Number {
		return Message{}, invalid("from", "your own extension number, "+snd.ext.Number+", or nothing")
	}
	switch {
	case len(req.To) == 0:
		return Message{}, invalid("to", "at least one extension number")
	case len(req.To) > MaxPagerRecipients:
		return Message{}, invalid("to", fmt.Sprintf("at most %d extension numbers", MaxPagerRecipients))
	}
	job := Delivery{Route: RouteOnNet}
	var to []Party
	numbers := []string{snd.ext.Number}
	toDepartment := false
	for _, raw := range req.To {
		n := strings.TrimSpace(raw)
		if slices.Contains(numbers[1:], n) {
			continue
		}
		if !phonenumber.IsExtension(n) {
			return Message{}, invalid("to", fmt.Sprintf("%q is not an extension number (2-8 digits)", raw))
		}
		ext, err := s.accounts.ExtensionByNumber(ctx, snd.acct.ID, n)
		if errors.Is(err, identity.ErrNotFound) {
			return Message{}, invalid("to", "no extension "+n+" in this account")
		}
		if err != nil {
			return Message{}, fmt.Errorf("pager recipient %s: %w", n, err)
		}
		numbers = append(numbers, n)
		to = append(to, Party{ExtensionNumber: ext.Number, Name: ext.Name})
		if !ext.Department() {
			job.Recipients = append(job.Recipients, ext.ID)
			continue
		}
		toDepartment = true
		members := slices.DeleteFunc(slices.Clone(ext.Members), func(id int64) bool { return id == snd.ext.ID })
		if len(members) == 0 {
			return Message{}, invalid("to", "department "+n+" has no members to forward the message to")
		}
		job.Recipients = append(job.Recipients, members...)
	}
	job.Recipients = uniqueIDs(job.Recipients)
	now := s.now()
	m := Message{
		AccountID: snd.acct.ID, ExtensionID: snd.ext.ID, Type: Pager, Direction: Outbound,
		From: Party{ExtensionNumber: snd.ext.Number, Name: snd.ext.Name}, To: to, Subject: req.Text,
		CreationTime: now, LastModifiedTime: now, ReadStatus: Read, Status: Queued, Availability: Alive,
		ConversationID: pagerConversation(snd.acct.ID, numbers), ToDepartment: toDepartment,
	}
	return s.send(ctx, m, job)
}

// uniqueIDs drops repeated ids, keeping the first of each in its place: a
// user paged directly and through a department gets one copy.
func uniqueIDs(ids []int64) []int64 {
	seen := make(map[int64]bool, len(ids))
	return slices.DeleteFunc(ids, func(id int64) bool {
		if seen[id] {
			return true
		}
		seen[id] = true
		return false
	})
}

// send stores the sender's copy with its delivery — from then on the
// message survives a restart — and delivers at once what needs no network.
// Deliveries to the provider go to Run.
func (s *Service) send(ctx context.Context, m Message, d Delivery) (Message, error) {
	inline := d.Route != RouteProvider || s.cfg.WebhookURL == ""
	due := m.CreationTime
	if inline {
		// Delivered below; Run takes it over only if that is cut short.
		due = due.Add(resumeAfter)
	}
	job := d.Job(m.ConversationID, due)
	stored, err := s.add(ctx, []Message{m}, &job)
	if err != nil {
		return Message{}, fmt.Errorf("store sent message: %w", err)
	}
	m = stored[0]
	if !inline {
		s.out.Wake(job.Kind, job.Target)
		return m, nil
	}
	// The delivery finishes even if the client goes away meanwhile.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), WebhookTimeout)
	defer cancel()
	if err := s.out.Attempt(dctx, job); err != nil {
		// The message is stored: Run delivers it after the back-off.
		s.log.Warn("message delivery postponed", "message", m.ID, "err", err)
	}
	return s.store.Message(ctx, m.ID)
}

// resumeAfter is how long after it was sent Run may take over a delivery
// that needs no network and is made at once: longer than that can take
// (WebhookTimeout), so the two never overlap, and Run only finishes what a
// crash cut short.
const resumeAfter = 30 * time.Second

// smsConversation is the conversation of two phone numbers: the same in
// either direction.
func smsConversation(a, b string) string {
	if b < a {
		a, b = b, a
	}
	return conversationID("sms", a, b)
}

// pagerConversation is the conversation of a set of extensions of an account.
func pagerConversation(accountID int64, numbers []string) string {
	set := slices.Clone(numbers)
	slices.Sort(set)
	set = slices.Compact(set)
	return conversationID(append([]string{"pager", strconv.FormatInt(accountID, 10)}, set...)...)
}

// conversationID hashes the parties into a positive 63-bit number, written
// in decimal like the platform's conversation ids.
func conversationID(parts ...string) string {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return strconv.FormatUint(h.Sum64()&(1<<63-1), 10)
}
