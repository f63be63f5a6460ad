package rawleg

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/pion/stun"
)

var creds = iceCreds{localUfrag: "loc1", localPwd: "local-password-0123456789", remoteUfrag: "gw01", remotePwd: "gateway-password-0123456789"}

// decode parses a message as the other side would from the wire.
func decode(t *testing.T, raw []byte) *stun.Message {
	t.Helper()
	m := &stun.Message{Raw: append([]byte(nil), raw...)}
	if err := m.Decode(); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBuildCheck(t *testing.T) {
	var m stun.Message
	if err := buildCheck(&m, creds, 0x0102030405060708); err != nil {
		t.Fatal(err)
	}
	got := decode(t, m.Raw)
	if got.Type != stun.BindingRequest {
		t.Errorf("type %s", got.Type)
	}
	var user stun.Username
	if err := user.GetFrom(got); err != nil || user.String() != "gw01:loc1" {
		t.Errorf("USERNAME %q, %v; want the remote ufrag first", user, err)
	}
	if err := stun.NewShortTermIntegrity(creds.remotePwd).Check(got); err != nil {
		t.Errorf("not signed with the remote password: %v", err)
	}
	if err := stun.Fingerprint.Check(got); err != nil {
		t.Errorf("FINGERPRINT: %v", err)
	}
	if !got.Contains(stun.AttrUseCandidate) {
		t.Error("no USE-CANDIDATE")
	}
	if v, err := got.Get(stun.AttrICEControlling); err != nil || binary.BigEndian.Uint64(v) != 0x0102030405060708 {
		t.Errorf("ICE-CONTROLLING %x, %v", v, err)
	}
	if v, err := got.Get(stun.AttrPriority); err != nil || binary.BigEndian.Uint32(v) != prflxPriority {
		t.Errorf("PRIORITY %x, %v", v, err)
	}
	var again stun.Message
	_ = buildCheck(&again, creds, 1)
	if again.TransactionID == m.TransactionID {
		t.Error("two checks with one transaction id")
	}
}

// gatewayCheck is a check as the gateway sends it to the leg.
func gatewayCheck(t *testing.T, user, pwd string) *stun.Message {
	t.Helper()
	m, err := stun.Build(stun.BindingRequest, stun.TransactionID, stun.NewUsername(user),
		stun.NewShortTermIntegrity(pwd), stun.Fingerprint)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, m.Raw)
}

func TestBuildReply(t *testing.T) {
	from := netip.MustParseAddrPort("127.0.0.1:50000")
	req := gatewayCheck(t, "loc1:gw01", creds.localPwd)
	var resp stun.Message
	if err := buildReply(&resp, req, creds, from); err != nil {
		t.Fatal(err)
	}
	got := decode(t, resp.Raw)
	if got.Type != stun.BindingSuccess || got.TransactionID != req.TransactionID {
		t.Errorf("reply %s with id %x, want a success with %x", got.Type, got.TransactionID, req.TransactionID)
	}
	var addr stun.XORMappedAddress
	if err := addr.GetFrom(got); err != nil || addr.String() != "127.0.0.1:50000" {
		t.Errorf("XOR-MAPPED-ADDRESS %s, %v", addr, err)
	}
	if err := stun.NewShortTermIntegrity(creds.localPwd).Check(got); err != nil {
		t.Errorf("reply not signed with the local password: %v", err)
	}
	if err := stun.Fingerprint.Check(got); err != nil {
		t.Errorf("FINGERPRINT: %v", err)
	}

	for name, req := range map[string]*stun.Message{
		"for another leg":              gatewayCheck(t, "other:gw01", creds.localPwd),
		"ufrag only as prefix":         gatewayCheck(t, "loc1x:gw01", creds.localPwd),
		"signed with another password": gatewayCheck(t, "loc1:gw01", "not-the-password-0123456"),
	} {
		if err := buildReply(&resp, req, creds, from); err == nil {
			t.Errorf("check %s answered", name)
		}
	}
	ind, _ := stun.Build(stun.NewType(stun.MethodBinding, stun.ClassIndication), stun.TransactionID)
	if err := buildReply(&resp, decode(t, ind.Raw), creds, from); err == nil {
		t.Error("indication answered")
	}
}

func TestCheckAnswered(t *testing.T) {
	var check stun.Message
	if err := buildCheck(&check, creds, 1); err != nil {
		t.Fatal(err)
	}
	st := &iceState{creds: creds}
	st.remember(check.TransactionID)
	// The gateway answers with its own password.
	gw := iceCreds{localUfrag: creds.remoteUfrag, localPwd: creds.remotePwd, remoteUfrag: creds.localUfrag, remotePwd: creds.localPwd}
	var resp stun.Message
	if err := buildReply(&resp, decode(t, check.Raw), gw, netip.MustParseAddrPort("127.0.0.1:40000")); err != nil {
		t.Fatal(err)
	}
	if !checkAnswered(decode(t, resp.Raw), creds, st.sent) {
		t.Error("the answer to a check not taken")
	}
	if checkAnswered(decode(t, resp.Raw), creds, (&iceState{}).sent) {
		t.Error("an answer to a check not sent taken")
	}
	forged, _ := stun.Build(stun.NewTransactionIDSetter(check.TransactionID), stun.BindingSuccess,
		stun.NewShortTermIntegrity("someone-else-0123456789"), stun.Fingerprint)
	if checkAnswered(decode(t, forged.Raw), creds, st.sent) {
		t.Error("an answer signed with another password taken")
	}
}

// TestRememberedChecks: the last 16 checks' ids are known, older ones not.
func TestRememberedChecks(t *testing.T) {
	st := &iceState{}
	ids := make([][stun.TransactionIDSize]byte, 20)
	for i := range ids {
		ids[i] = stun.NewTransactionID()
		st.remember(ids[i])
	}
	for i, id := range ids {
		if want := i >= 4; st.sent(id) != want {
			t.Errorf("check %d of 20 known: %v, want %v", i, !want, want)
		}
	}
}
