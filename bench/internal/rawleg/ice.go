package rawleg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/pion/stun"
)

// The leg does ICE by hand (RFC 8445) as the controlling agent with one host
// candidate and aggressive nomination: every Binding request it sends
// carries USE-CANDIDATE, and it answers the other side's requests, its
// connectivity checks and later its consent checks (RFC 7675), for as long
// as the leg lives.

// prflxPriority is the PRIORITY a check carries: that of a peer-reflexive
// candidate of component 1 (RFC 8445 §5.1.2.1 with type preference 110 and
// the highest local preference).
const prflxPriority = 110<<24 | 65535<<8 | (256 - 1)

// controlling is the ICE-CONTROLLING attribute with its tie-breaker
// (RFC 8445 §16.1).
type controlling uint64

func (c controlling) AddTo(m *stun.Message) error {
	var v [8]byte
	binary.BigEndian.PutUint64(v[:], uint64(c))
	m.Add(stun.AttrICEControlling, v[:])
	return nil
}

// priority is the PRIORITY attribute (RFC 8445 §16.1).
type priority uint32

func (p priority) AddTo(m *stun.Message) error {
	var v [4]byte
	binary.BigEndian.PutUint32(v[:], uint32(p))
	m.Add(stun.AttrPriority, v[:])
	return nil
}

// useCandidate is the USE-CANDIDATE attribute, which has no value.
type useCandidate struct{}

func (useCandidate) AddTo(m *stun.Message) error {
	m.Add(stun.AttrUseCandidate, nil)
	return nil
}

// iceCreds are the ufrags and passwords of both ends of a leg's ICE.
type iceCreds struct {
	localUfrag, localPwd   string
	remoteUfrag, remotePwd string
}

// buildCheck writes into m a connectivity check to the remote agent, with a
// new transaction id: USERNAME "remote:local", signed with the remote
// password (RFC 8445 §7.2.2).
func buildCheck(m *stun.Message, c iceCreds, tieBreaker uint64) error {
	m.Reset()
	return m.Build(stun.BindingRequest, stun.TransactionID,
		stun.NewUsername(c.remoteUfrag+":"+c.localUfrag),
		controlling(tieBreaker), priority(prflxPriority), useCandidate{},
		stun.NewShortTermIntegrity(c.remotePwd), stun.Fingerprint)
}

// errNotForUs is a Binding request whose USERNAME does not name this leg
// first, or that is not signed with its password.
var errNotForUs = errors.New("binding request not for this leg")

// buildReply checks that req, decoded, is a Binding request for this leg
// (USERNAME "local:remote", signed with the local password, with a good
// FINGERPRINT) and writes into m its success response: the same
// transaction id, XOR-MAPPED-ADDRESS of from, signed with the local
// password (RFC 8445 §7.3).
func buildReply(m, req *stun.Message, c iceCreds, from netip.AddrPort) error {
	if req.Type != stun.BindingRequest {
		return fmt.Errorf("%w: %s", errNotForUs, req.Type)
	}
	var user stun.Username
	if err := user.GetFrom(req); err != nil {
		return fmt.Errorf("%w: %v", errNotForUs, err)
	}
	if !strings.HasPrefix(string(user), c.localUfrag+":") {
		return fmt.Errorf("%w: username %q", errNotForUs, user)
	}
	if err := stun.NewShortTermIntegrity(c.localPwd).Check(req); err != nil {
		return fmt.Errorf("%w: %v", errNotForUs, err)
	}
	if err := stun.Fingerprint.Check(req); err != nil {
		return fmt.Errorf("%w: %v", errNotForUs, err)
	}
	m.Reset()
	return m.Build(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
		&stun.XORMappedAddress{IP: net.IP(from.Addr().Unmap().AsSlice()), Port: int(from.Port())},
		stun.NewShortTermIntegrity(c.localPwd), stun.Fingerprint)
}

// checkAnswered reports whether resp, decoded, is a success response to
// one of the checks this leg sent (sent reports which transaction ids are
// its own), signed with the remote password.
func checkAnswered(resp *stun.Message, c iceCreds, sent func([stun.TransactionIDSize]byte) bool) bool {
	return resp.Type == stun.BindingSuccess && sent(resp.TransactionID) &&
		stun.NewShortTermIntegrity(c.remotePwd).Check(resp) == nil
}
