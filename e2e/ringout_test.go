package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
)

// ringOutStatus reads a RingOut through the API: callStatus, callerStatus, calleeStatus.
func ringOutStatus(t *testing.T, api *apiClient, id string) [3]string {
	t.Helper()
	r := api.do(t, "GET", "/account/~/extension/~/ring-out/"+id, nil)
	var ro struct {
		Status struct{ CallStatus, CallerStatus, CalleeStatus string }
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &ro) != nil {
		t.Fatalf("GET ring-out: %d %s", r.status, r.body)
	}
	return [3]string{ro.Status.CallStatus, ro.Status.CallerStatus, ro.Status.CalleeStatus}
}

// placeRingOut asks for a RingOut through the API and returns its id and session.
func placeRingOut(t *testing.T, api *apiClient, from, to string) (id, session string) {
	t.Helper()
	r := api.do(t, "POST", "/account/~/extension/~/ring-out", map[string]any{
		"from": map[string]string{"phoneNumber": from}, "to": map[string]string{"phoneNumber": to}})
	var ro struct {
		ID                 string `json:"id"`
		TelephonySessionID string `json:"telephonySessionId"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &ro) != nil || ro.ID == "" {
		t.Fatalf("POST ring-out: %d %s", r.status, r.body)
	}
	return ro.ID, ro.TelephonySessionID
}

// TestRingOutFromOwnWidget: bob's CRM server places a RingOut for him from
// his own number to the tone line. His widget rings like an inbound call,
// he answers, the tone line rings and answers, and audio flows; his host
// page follows every step (rc-ringout-call-notify, rc-active-call-notify),
// and hanging up ends it. A second RingOut is cancelled while it rings.
func TestRingOutFromOwnWidget(t *testing.T) {
	bob := start(t)
	signedIn(t, bob, "bob@demo.test", "+16505550100*102")
	api := newAPIClient(t, bob.Addrs, "bob@demo.test")

	id, session := placeRingOut(t, api, "+16505550102", "+15550100")
	sessionIs := `m.data.call.telephonySessionId === ` + quote(session)
	ring := waitMessage(t, bob.ctx, "rc-call-ring-notify", sessionIs)
	if c := ring.Data["call"].(map[string]any); c["direction"] != "Inbound" || c["fromNumber"] != "+15550100" {
		t.Errorf("ring on bob's page: %v", c)
	}
	waitMessage(t, bob.ctx, "rc-ringout-call-notify", sessionIs+` && m.data.call.telephonyStatus === 'Ringing' && m.data.call.direction === 'Outbound'`)
	waitMessage(t, bob.ctx, "rc-active-call-notify", sessionIs+` && m.data.call.telephonyStatus === 'Ringing'`)
	if got := ringOutStatus(t, api, id); got != [3]string{"InProgress", "InProgress", "InProgress"} {
		t.Errorf("while from rings: %v", got)
	}

	controlCall(t, bob, "answer", "")
	waitMessage(t, bob.ctx, "rc-call-start-notify", sessionIs)
	waitMessage(t, bob.ctx, "rc-ringout-call-notify", sessionIs+` && m.data.call.telephonyStatus === 'CallConnected'`)
	waitMessage(t, bob.ctx, "rc-active-call-notify", sessionIs+` && m.data.call.telephonyStatus === 'CallConnected'`)
	// The tone line answers the to leg: both parties answered in the session.
	waitMessage(t, bob.ctx, "rc-telephony-session-notify", `m.data.telephonySession.id === `+quote(session)+
		` && m.data.telephonySession.origin.type === 'RingOut' && m.data.telephonySession.parties.every(p => p.status.code === 'Answered')`)
	if got := ringOutStatus(t, api, id); got != [3]string{"Success", "Success", "Success"} {
		t.Errorf("once both answered: %v", got)
	}
	audioFlows(t, "bob (RingOut to the tone line)", frameCtx(t, bob))
	if r := api.do(t, "DELETE", "/account/~/extension/~/ring-out/"+id, nil); r.status != http.StatusConflict {
		t.Errorf("DELETE of a connected RingOut: %d %s", r.status, r.body)
	}

	controlCall(t, bob, "hangup", "")
	end := waitMessage(t, bob.ctx, "rc-call-end-notify", sessionIs)
	if c := end.Data["call"].(map[string]any); c["result"] != "Call connected" {
		t.Errorf("end: %v", c)
	}
	waitMessage(t, bob.ctx, "rc-ringout-call-notify", sessionIs+` && m.data.call.telephonyStatus === 'NoCall'`)
	waitMessage(t, bob.ctx, "rc-active-call-notify", sessionIs+` && m.data.call.telephonyStatus === 'NoCall'`)

	// Cancelled while bob's widget rings: the ringing stops, the host hears the end.
	id, session = placeRingOut(t, api, "102", "+15550101")
	sessionIs = `m.data.call.telephonySessionId === ` + quote(session)
	waitMessage(t, bob.ctx, "rc-call-ring-notify", sessionIs)
	if r := api.do(t, "DELETE", "/account/~/extension/~/ring-out/"+id, nil); r.status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	waitMessage(t, bob.ctx, "rc-call-end-notify", sessionIs)
	waitMessage(t, bob.ctx, "rc-ringout-call-notify", sessionIs+` && m.data.call.telephonyStatus === 'NoCall'`)
	if got := ringOutStatus(t, api, id); got != [3]string{"Canceled", "Canceled", "Canceled"} {
		t.Errorf("cancelled: %v", got)
	}
	noSecretsReachedHost(t, bob, false)
	capture(t, "bob-ringout", bob)
}
