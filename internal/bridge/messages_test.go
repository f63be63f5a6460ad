package bridge

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/callbridge/widget-server/internal/messaging"
)

func testCopy() messaging.Message {
	return messaging.Message{
		ID: "8", AccountID: 1, ExtensionID: 2, Type: messaging.SMS, Direction: messaging.Inbound,
		From: messaging.Party{PhoneNumber: "+16505550101", Name: "Alice Adams"}, To: []messaging.Party{{PhoneNumber: "+16505550102", Name: "Bob Brown"}},
		Subject: "Hi Bob", CreationTime: t0.Add(125 * time.Millisecond), LastModifiedTime: t0.Add(127 * time.Millisecond),
		ReadStatus: messaging.Unread, Status: messaging.Received, Availability: messaging.Alive, ConversationID: "3470811256931622113",
		OriginID: "7",
	}
}

// TestMessagePayload pins the contract's message object (CONTRACT §5).
func TestMessagePayload(t *testing.T) {
	b, err := json.Marshal(MessageFor(testCopy()))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"id":"8","type":"SMS","direction":"Inbound","from":{"phoneNumber":"+16505550101","name":"Alice Adams"},` +
		`"to":[{"phoneNumber":"+16505550102","name":"Bob Brown"}],"subject":"Hi Bob","creationTime":"2026-11-21T10:00:00.125Z",` +
		`"lastModifiedTime":"2026-11-21T10:00:00.127Z","readStatus":"Unread","messageStatus":"Received",` +
		`"conversationId":"3470811256931622113","availability":"Alive"}`
	if string(b) != want {
		t.Fatalf("message\n got %s\nwant %s", b, want)
	}
	failed := testCopy()
	failed.Type, failed.Direction, failed.Status = messaging.Pager, messaging.Outbound, messaging.DeliveryFailed
	failed.From, failed.To = messaging.Party{ExtensionNumber: "101"}, nil
	failed.DeliveryErrorCode, failed.DeliveryErrorReason = "NoRoute", "why"
	var m map[string]any
	b, _ = json.Marshal(MessageFor(failed))
	json.Unmarshal(b, &m)
	if to, ok := m["to"].([]any); !ok || len(to) != 0 || m["deliveryErrorCode"] != "NoRoute" || m["deliveryErrorReason"] != "why" ||
		m["from"].(map[string]any)["extensionNumber"] != "101" {
		t.Fatalf("failed pager message %s", b)
	}
}

// TestMessageEvents: every version is rc-message-updated-notify; a new
// inbound copy is also rc-inbound-message-notify, after it.
func TestMessageEvents(t *testing.T) {
	sent := testCopy()
	sent.Direction = messaging.Outbound
	for _, tt := range []struct {
		name   string
		change messaging.Change
		want   []string
	}{
		{"new inbound copy", messaging.Change{Message: testCopy(), New: true}, []string{EventMessageUpdated, EventInboundMessage}},
		{"inbound copy read", messaging.Change{Message: testCopy()}, []string{EventMessageUpdated}},
		{"new sent copy", messaging.Change{Message: sent, New: true}, []string{EventMessageUpdated}},
		{"sent copy delivered", messaging.Change{Message: sent}, []string{EventMessageUpdated}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			envs := MessageEvents(tt.change)
			if len(envs) != len(tt.want) {
				t.Fatalf("%d messages, want %v", len(envs), tt.want)
			}
			for i, env := range envs {
				var got struct {
					Type    string  `json:"type"`
					To      string  `json:"_to"`
					Message Message `json:"message"`
				}
				b, _ := json.Marshal(env)
				if err := json.Unmarshal(b, &got); err != nil || got.Type != tt.want[i] || got.To != "" || got.Message.ID != "8" {
					t.Fatalf("message %d: %s, want %s for every device", i, b, tt.want[i])
				}
			}
		})
	}
}
