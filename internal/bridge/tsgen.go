package bridge

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode"

	"github.com/callbridge/widget-server/internal/messaging"
	"github.com/callbridge/widget-server/internal/presence"
	"github.com/callbridge/widget-server/internal/telephony"
)

// The TypeScript definitions of the contract, web/static/adapter.d.ts, are
// generated from the Go types of this package: each event and command of
// Events and Commands (its Payload's JSON fields), the objects they carry,
// window.RCAdapter (AdapterAPI) and the widget flags (Flags). A test keeps
// the committed file equal to what TypeScript returns.

// TypeScriptRegenerate is the command that rewrites web/static/adapter.d.ts.
const TypeScriptRegenerate = "go test ./internal/bridge -run TestTypeScriptDefinitions -update"

// fieldKey names one JSON field of a payload type.
type fieldKey struct {
	t    reflect.Type
	name string
}

func field[T any](name string) fieldKey { return fieldKey{reflect.TypeFor[T](), name} }

// tsUnion is the TypeScript union of string literals.
func tsUnion[S ~string](values ...S) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = "'" + strings.ReplaceAll(string(v), "'", `\'`) + "'"
	}
	return strings.Join(parts, " | ")
}

// stringOrNumber is the type of a request id.
const stringOrNumber = "string | number"

// tsFieldTypes are the TypeScript types of the fields whose Go type says
// less than the contract does: strings that take one of the values of Go
// constants, and fields of any type.
func tsFieldTypes() map[fieldKey]string {
	directions := tsUnion(telephony.Inbound, telephony.Outbound)
	partyStatuses := tsUnion(telephony.StatusSetup, telephony.StatusProceeding, telephony.StatusAnswered,
		telephony.StatusHold, telephony.StatusDisconnected)
	telephonyStatuses := tsUnion(telephony.NoCall, telephony.Ringing, telephony.CallConnected, telephony.OnHold)
	callStatuses := make([]string, 0, len(callStatus))
	for _, s := range []telephony.PartyStatus{telephony.StatusSetup, telephony.StatusProceeding, telephony.StatusAnswered,
		telephony.StatusHold, telephony.StatusDisconnected} {
		callStatuses = append(callStatuses, callStatus[s])
	}
	callingModes := slices.Sorted(func(yield func(string) bool) {
		for _, m := range CallingModes {
			if !yield(m) {
				return
			}
		}
	})
	return map[fieldKey]string{
		field[WebphoneCall]("direction"):    directions,
		field[WebphoneCall]("callStatus"):   tsUnion(callStatuses...),
		field[WebphoneCall]("recordStatus"): tsUnion(RecordStatusIdle, RecordStatusRecording, RecordStatusPaused),
		field[RecordingRef]("type"):         tsUnion(telephony.RecordingOnDemand, telephony.RecordingAutomatic),

		field[ActiveCall]("direction"):       directions,
		field[ActiveCall]("telephonyStatus"): telephonyStatuses,
		field[ActiveCall]("terminationType"): tsUnion(terminationFinal),
		field[SessionParty]("direction"):     directions,
		field[PartyStatus]("code"):           partyStatuses,
		field[SessionOrigin]("type"):         tsUnion(telephony.OriginCall, telephony.OriginRingOut),

		field[SyncPresence]("telephonyStatus"): telephonyStatuses,
		field[SyncPresence]("userStatus"):      tsUnion(presence.UserStatuses...),
		field[SyncPresence]("dndStatus"):       tsUnion(presence.DNDStatuses...),
		field[SyncPresence]("presenceStatus"):  tsUnion(presence.Available, presence.Busy, presence.Offline),

		field[Message]("type"):                 tsUnion(messaging.SMS, messaging.Pager, messaging.VoiceMail),
		field[Message]("direction"):            tsUnion(messaging.Inbound, messaging.Outbound),
		field[Message]("readStatus"):           tsUnion(messaging.Read, messaging.Unread),
		field[Message]("messageStatus"):        tsUnion(messaging.Queued, messaging.Sent, messaging.Delivered, messaging.DeliveryFailed, messaging.Received),
		field[Message]("availability"):         tsUnion(messaging.Alive, messaging.Deleted),
		field[MessageAttachment]("type"):       tsUnion(messaging.AttachmentType),
		field[CallTransferNotify]("state"):     tsUnion(TransferStarted, TransferCompleted, TransferFailed),
		field[ConferenceNotify]("change"):      tsUnion(slices.Sorted(mapValues(conferenceChanges))...),
		field[ConferenceView]("state"):         tsUnion(telephony.ConferenceConnected, telephony.ConferenceHeld, telephony.ConferenceEnded),
		field[ConferenceParticipant]("status"): partyStatuses,

		field[ConnectionStatusNotify]("connectionStatus"): tsUnion(ConnectionConnected, ConnectionConnecting, ConnectionDisconnected, ConnectionFailed),
		field[CallingSettingsNotify]("callWith"):          tsUnion(CallWithModes...),
		field[CallingSettingsNotify]("callingMode"):       tsUnion(callingModes...),
		field[MessageResponse]("responseId"):              stringOrNumber,
		field[ControlCallError]("error"):                  tsUnion(ControlCallUnsupported, ControlCallNoSuchCall, ControlCallInvalidState, ControlCallFailed),

		field[Request]("requestId"):               stringOrNumber,
		field[ControlCallCommand]("callAction"):   tsUnion(CallActions...),
		field[ControlCallOptions]("action"):       tsUnion(AnswerActions...),
		field[SetPresenceCommand]("userStatus"):   tsUnion(presence.UserStatuses...),
		field[SetPresenceCommand]("dndStatus"):    tsUnion(presence.DNDStatuses...),
		field[CallingSettingsCommand]("callWith"): tsUnion(CallWithModes...),
		field[MessageRequestCommand]("requestId"): stringOrNumber,
		field[MessageRequestCommand]("path"):      tsUnion(RequestPaths...),
		field[HostResponseCommand]("responseId"):  stringOrNumber,
		field[HostResponse]("error"):              "string | { message: string }",

		field[Flags]("defaultCallWith"):  tsUnion(CallWithModes...),
		field[Flags]("defaultDirection"): tsUnion(Directions...),
		field[Flags]("theme"):            tsUnion(Themes...),
	}
}

func mapValues[K comparable, V any](m map[K]V) func(func(V) bool) {
	return func(yield func(V) bool) {
		for _, v := range m {
			if !yield(v) {
				return
			}
		}
	}
}

// tsField is one property of an interface.
type tsField struct {
	name, ts string
	optional bool
}

// tsGen writes the definitions; the first error stops it.
type tsGen struct {
	fieldTypes map[fieldKey]string
	used       map[fieldKey]bool
	reserved   map[string]bool         // the names of the events' and commands' interfaces
	named      map[reflect.Type]string // object types given an interface
	queue      []reflect.Type          // object types still to write, in order of first use
	err        error
}

func (g *tsGen) fail(format string, a ...any) {
	if g.err == nil {
		g.err = fmt.Errorf(format, a...)
	}
}

// tsName is the interface name of an event or command: its type in
// PascalCase without "rc-" (rc-call-ring-notify: CallRingNotify).
func tsName(typ string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(strings.TrimPrefix(typ, "rc-"), "-") {
		r := []rune(part)
		if len(r) > 0 {
			r[0] = unicode.ToUpper(r[0])
		}
		b.WriteString(string(r))
	}
	return b.String()
}

// fields are the JSON properties of struct type t, as encoding/json writes
// them: an embedded struct without a name of its own gives its fields.
func (g *tsGen) fields(t reflect.Type) []tsField {
	var out []tsField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, g.fields(f.Type)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		optional := slices.Contains(strings.Split(opts, ","), "omitempty")
		key := fieldKey{t, name}
		ts, ok := g.fieldTypes[key]
		if ok {
			g.used[key] = true
		} else {
			ts = g.goType(f.Type)
		}
		if f.Type.Kind() == reflect.Pointer && !optional {
			ts += " | null"
		}
		if slices.ContainsFunc(out, func(o tsField) bool { return o.name == name }) {
			g.fail("%s has two fields named %q", t, name)
		}
		out = append(out, tsField{name: name, ts: ts, optional: optional})
	}
	return out
}

// goType is the TypeScript type of a Go type; a struct becomes an
// interface of its own name.
func (g *tsGen) goType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Pointer:
		return g.goType(t.Elem())
	case reflect.Slice, reflect.Array:
		elem := g.goType(t.Elem())
		if strings.ContainsAny(elem, " |") {
			elem = "(" + elem + ")"
		}
		return elem + "[]"
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			g.fail("map %s: JSON object keys are strings", t)
		}
		return "Record<string, " + g.goType(t.Elem()) + ">"
	case reflect.Interface:
		return "unknown"
	case reflect.Struct:
		return g.object(t)
	}
	g.fail("no TypeScript type for %s", t)
	return "never"
}

// object names the interface of struct type t, to be written later.
func (g *tsGen) object(t reflect.Type) string {
	if name, ok := g.named[t]; ok {
		return name
	}
	name := t.Name()
	switch {
	case name == "":
		g.fail("anonymous struct %s: give it a name", t)
	case g.reserved[name]:
		g.fail("%s is named as an event or command; rename one", t)
	}
	for other, n := range g.named {
		if n == name {
			g.fail("%s and %s have the same name", t, other)
		}
	}
	g.named[t] = name
	g.queue = append(g.queue, t)
	return name
}

func writeDoc(b *strings.Builder, indent, doc string) {
	if doc != "" {
		fmt.Fprintf(b, "%s/** %s */\n", indent, doc)
	}
}

func writeFields(b *strings.Builder, fields []tsField) {
	for _, f := range fields {
		opt := ""
		if f.optional {
			opt = "?"
		}
		fmt.Fprintf(b, "  %s%s: %s;\n", f.name, opt, f.ts)
	}
}

// message writes the interface of one event or command: its literal type
// and the other fields of its payload.
func (g *tsGen) message(b *strings.Builder, typ string, payload any, doc string) {
	t := reflect.TypeOf(payload)
	if t == nil || t.Kind() != reflect.Struct {
		g.fail("%s: the payload must be a struct, not %v", typ, t)
		return
	}
	fields := g.fields(t)
	i := slices.IndexFunc(fields, func(f tsField) bool { return f.name == "type" })
	if i < 0 || fields[i].ts != "string" || fields[i].optional {
		g.fail("%s: %s has no field type (string)", typ, t)
		return
	}
	fields[i].ts = tsUnion(typ)
	writeDoc(b, "", doc)
	fmt.Fprintf(b, "export interface %s {\n", tsName(typ))
	writeFields(b, slices.Concat(fields[i:i+1], fields[:i], fields[i+1:]))
	b.WriteString("}\n\n")
}

// TypeScript returns the contents of web/static/adapter.d.ts.
func TypeScript() ([]byte, error) {
	g := &tsGen{fieldTypes: tsFieldTypes(), used: map[fieldKey]bool{}, reserved: map[string]bool{},
		named: map[reflect.Type]string{}}
	var events, commands []string
	for _, e := range Events {
		events = append(events, tsName(e.Type))
	}
	for _, c := range Commands {
		commands = append(commands, tsName(c.Type))
	}
	for _, name := range slices.Concat(events, commands, []string{"RCAdapter", "AdapterFlags"}) {
		if g.reserved[name] {
			g.fail("two events or commands are named %s in TypeScript", name)
		}
		g.reserved[name] = true
	}

	var b strings.Builder
	b.WriteString(`// The Callbridge widget's host-page contract in TypeScript: the events the
// widget posts to the host page (docs/events.md), the commands the host page
// posts to the widget (docs/commands.md), window.RCAdapter and the flags of
// adapter.js (docs/flags.md). Served at /adapter.d.ts.
//
// Generated from internal/bridge; do not edit. To regenerate:
//   ` + TypeScriptRegenerate + `

`)
	union := func(doc, name string, members []string) {
		fmt.Fprintf(&b, "/** %s */\nexport type %s =\n", doc, name)
		for i, m := range members {
			end := ""
			if i == len(members)-1 {
				end = ";"
			}
			fmt.Fprintf(&b, "  | %s%s\n", m, end)
		}
		b.WriteString("\n")
	}
	union("Every event the widget posts to the host page; narrow on `type`.", "WidgetEvent", events)
	b.WriteString("/** The type of an event. */\nexport type WidgetEventType = WidgetEvent['type'];\n\n")
	b.WriteString("/** The event of one type. */\nexport type WidgetEventOf<T extends WidgetEventType> = Extract<WidgetEvent, { type: T }>;\n\n")
	union("Every command the host page may post to the widget.", "HostCommand", commands)
	b.WriteString("/** The type of a command. */\nexport type HostCommandType = HostCommand['type'];\n\n")
	b.WriteString("/** The command of one type. */\nexport type HostCommandOf<T extends HostCommandType> = Extract<HostCommand, { type: T }>;\n\n")

	b.WriteString("// ---- Events (docs/events.md)\n\n")
	for _, e := range Events {
		doc := "`" + e.Type + "`"
		if !e.Emitted {
			doc += ": not emitted yet."
		}
		g.message(&b, e.Type, e.Payload, doc)
	}
	b.WriteString("// ---- Commands (docs/commands.md)\n\n")
	for _, c := range Commands {
		doc := "`" + c.Type + "`"
		if !c.Supported {
			doc += ": not supported yet; answered with an error."
		}
		g.message(&b, c.Type, c.Payload, doc)
	}

	g.adapter(&b)
	g.flags(&b)

	b.WriteString("// ---- Objects of the events and commands\n\n")
	for len(g.queue) > 0 {
		t := g.queue[0]
		g.queue = g.queue[1:]
		fmt.Fprintf(&b, "export interface %s {\n", g.named[t])
		writeFields(&b, g.fields(t))
		b.WriteString("}\n\n")
	}

	b.WriteString(`declare global {
  interface Window {
    /** Defined by adapter.js once it ran; gone after dispose(). */
    RCAdapter?: RCAdapter;
  }
}
`)
	for key := range g.fieldTypes {
		if !g.used[key] {
			g.fail("tsFieldTypes names %s.%s, which no event or command carries", key.t, key.name)
		}
	}
	if g.err != nil {
		return nil, g.err
	}
	return []byte(b.String()), nil
}

// adapter writes the interface of window.RCAdapter.
func (g *tsGen) adapter(b *strings.Builder) {
	b.WriteString("// ---- window.RCAdapter (adapter.js, docs/commands.md)\n\n")
	b.WriteString("/** What adapter.js defines as window.RCAdapter. A Promise resolves with the answer's data and\n" +
		" * rejects with an Error whose code is the widget's error code, or 'timeout' after 5 s. */\n")
	b.WriteString("export interface RCAdapter {\n")
	payloads := map[string]any{}
	for _, c := range Commands {
		payloads[c.Type] = c.Payload
	}
	for _, m := range AdapterAPI {
		writeDoc(b, "  ", m.Doc)
		if m.Command == "" {
			fmt.Fprintf(b, "  %s;\n", m.TS)
			continue
		}
		payload, ok := payloads[m.Command]
		if !ok {
			g.fail("RCAdapter.%s posts %s, which is not a command", m.Name, m.Command)
			continue
		}
		fields := g.fields(reflect.TypeOf(payload))
		var params []string
		optional := false
		for _, p := range m.Params {
			i := slices.IndexFunc(fields, func(f tsField) bool { return f.name == p })
			if i < 0 {
				g.fail("RCAdapter.%s takes %s, which %s has not", m.Name, p, m.Command)
				continue
			}
			f := fields[i]
			if strings.Contains(f.ts, "'") { // a union of literals: say it once, in the command
				f.ts = tsName(m.Command) + "['" + p + "']"
			}
			if f.optional {
				optional = true
				params = append(params, p+"?: "+f.ts)
			} else {
				if optional {
					g.fail("RCAdapter.%s: %s is required after an optional parameter", m.Name, p)
				}
				params = append(params, p+": "+f.ts)
			}
		}
		fmt.Fprintf(b, "  %s(%s): Promise<unknown>;\n", m.Name, strings.Join(params, ", "))
	}
	b.WriteString("}\n\n")
}

// flags writes the flags of adapter.js's query (and /app's): clientId and
// every field of Flags, each optional.
func (g *tsGen) flags(b *strings.Builder) {
	b.WriteString("// ---- Flags (docs/flags.md)\n\n")
	b.WriteString("/** The query of adapter.js's src (and of /app): each value is written as a string,\n" +
		" * booleans as 1 or 0. Unknown flags are ignored; bad values get the default. */\n")
	b.WriteString("export interface AdapterFlags {\n  clientId: string;\n")
	fields := g.fields(reflect.TypeFor[Flags]())
	for i := range fields {
		fields[i].optional = true
	}
	writeFields(b, fields)
	b.WriteString("}\n\n")
}
