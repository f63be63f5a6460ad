// A host page written against the widget's TypeScript definitions
// (/adapter.d.ts, web/static/adapter.d.ts here): it embeds the widget with
// adapter.js, listens to its events, narrowing on their type, posts commands
// and calls window.RCAdapter. TestTypeScriptContract compiles it with
// tsc --strict, so the definitions stay usable as integrators use them.
import type { AdapterFlags, HostCommand, RCAdapter, WebphoneCall, WidgetEvent, WidgetEventOf } from '../../web/static/adapter';

const WIDGET_ORIGIN = 'https://phone.example.com';

// Embedding: the flags become adapter.js's query.
export function embed(flags: AdapterFlags): HTMLScriptElement {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(flags)) {
    if (value !== undefined) query.set(name, typeof value === 'boolean' ? (value ? '1' : '0') : String(value));
  }
  const script = document.createElement('script');
  script.src = `${WIDGET_ORIGIN}/adapter.js?${query}`;
  document.head.append(script);
  return script;
}

embed({ clientId: 'my-crm', disableLoginPopup: true, theme: 'dark', defaultDirection: 'left', zIndex: 2000 });

const adapter = (): RCAdapter | undefined => window.RCAdapter;

// Commands go to the widget's frame at its exact origin.
function post(command: HostCommand): void {
  adapter()?.frame.contentWindow?.postMessage(command, WIDGET_ORIGIN);
}

const calls = new Map<string, WebphoneCall>();
const largestSequence = new Map<string, number>();
let signedIn = false;

function logCall(call: WebphoneCall): void {
  const seconds = call.duration ?? 0;
  console.log(`${call.direction} call ${call.from} → ${call.to}: ${call.result ?? 'no result'}, ${seconds} s`);
}

function onCallEvent(event: WidgetEventOf<'rc-call-ring-notify' | 'rc-call-start-notify' | 'rc-call-end-notify'>): void {
  if (event.type === 'rc-call-end-notify') {
    calls.delete(event.call.id);
    logCall(event.call);
  } else {
    calls.set(event.call.id, event.call);
  }
}

function onEvent(event: WidgetEvent): void {
  switch (event.type) {
    case 'rc-login-status-notify':
      signedIn = event.loggedIn;
      if (event.loggedIn && event.features.call) {
        post({
          type: 'rc-adapter-register-third-party-service',
          service: { name: 'My CRM', contactMatchPath: '/contacts/match', callLoggerPath: '/callLogger' },
        });
      }
      break;
    case 'rc-login-popup-notify':
      if (new URL(event.oAuthUri).origin === WIDGET_ORIGIN) window.open(event.oAuthUri, 'sign-in', 'popup');
      break;
    case 'rc-call-ring-notify':
    case 'rc-call-start-notify':
    case 'rc-call-end-notify':
      onCallEvent(event);
      break;
    case 'rc-call-failed-notify':
      console.warn(`call to ${event.call.to} failed: ${event.code} ${event.reason}`);
      break;
    case 'rc-telephony-session-notify': {
      const session = event.telephonySession;
      if ((largestSequence.get(session.sessionId) ?? -1) >= session.sequence) break;
      largestSequence.set(session.sessionId, session.sequence);
      const answered = session.parties.filter((p) => p.status.code === 'Answered');
      console.log(`${session.id}: ${answered.length} answered, origin ${session.origin.type}`);
      break;
    }
    case 'rc-active-call-notify':
    case 'rc-ringout-call-notify':
      if (event.call.telephonyStatus === 'NoCall' && event.call.terminationType === 'final') console.log('call over');
      break;
    case 'rc-adapter-syncPresence':
      console.log(`presence ${event.presenceStatus}, dnd ${event.dndStatus}`);
      break;
    case 'rc-inbound-message-notify':
    case 'rc-message-updated-notify':
      if (event.message.type === 'VoiceMail') {
        const seconds = event.message.attachments?.[0]?.vmDuration ?? 0;
        console.log(`voicemail from ${event.message.from.phoneNumber ?? event.message.from.extensionNumber}: ${seconds} s`);
      }
      break;
    case 'rc-conference-notify': {
      const { conference, change } = event;
      const names = conference.participants.map((p) => (p.mutedByHost ? `${p.name} (muted)` : p.name));
      console.log(`conference ${conference.id} ${change}: ${names.join(', ')}`);
      break;
    }
    case 'rc-call-transfer-notify':
      if (event.state === 'failed') console.warn(`transfer to ${event.target} failed; the call comes back`);
      break;
    case 'rc-call-record-notify':
      if (event.recording) console.log(`recording ${event.recording.id} (${event.recording.type})`);
      break;
    case 'rc-call-stats-notify':
      console.log(`MOS ${event.stats.mos.toFixed(1)}, ${event.stats.packetsLost} lost`);
      break;
    case 'rc-control-call-error':
      console.warn(`call control on ${event.callId ?? 'the active call'}: ${event.error} (${event.message})`);
      break;
    case 'rc-adapter-message-response':
      if (event.response.error) console.warn(`request ${event.responseId}: ${event.response.error}`);
      break;
    case 'rc-post-message-request':
      post({
        type: 'rc-post-message-response',
        responseId: event.requestId,
        response: event.path === '/callLogger' ? { data: 'ok' } : { error: `no handler for ${event.path}` },
      });
      break;
    case 'rc-webphone-connection-status-notify':
      if (event.connectionStatus === 'connectFailed') console.warn('the widget lost its server');
      break;
    case 'rc-calling-settings-notify':
      console.log(`calls with ${event.callWith} from ${event.fromNumbers.map((n) => n.phoneNumber).join(', ')}`);
      break;
    case 'rc-webphone-sessions-sync':
      for (const call of event.calls) calls.set(call.id, call);
      break;
    case 'rc-badge-notify':
      document.title = `CRM (${event.missedCalls + event.unreadMessages})`;
      break;
    case 'rc-route-changed-notify':
    case 'rc-region-settings-notify':
    case 'rc-dialer-status-notify':
    case 'rc-meeting-status-notify':
    case 'rc-call-init-notify':
    case 'rc-call-hold-notify':
    case 'rc-call-resume-notify':
    case 'rc-call-mute-notify':
    case 'rc-call-moved-notify':
    case 'rc-dtmf-sent-notify':
      break;
    default: {
      // Every event type is handled above: a new one fails to compile here.
      const unhandled: never = event;
      console.log('unknown event', unhandled);
    }
  }
}

window.addEventListener('message', (e: MessageEvent<WidgetEvent>) => {
  if (e.origin !== WIDGET_ORIGIN || e.source !== adapter()?.frame.contentWindow || !e.data) return;
  onEvent(e.data);
});

// Commands without the adapter's help, then with it.
export async function demo(): Promise<void> {
  post({ type: 'rc-adapter-navigate-to', path: '/history' });
  post({ type: 'rc-adapter-set-presence', userStatus: 'Busy', dndStatus: 'DoNotAcceptAnyCalls' });
  post({ type: 'rc-adapter-message-request', requestId: 1, path: '/get-call-log', body: { perPage: 10 } });
  post({ type: 'rc-calling-settings-update', requestId: 'settings-1', callWith: 'ringout', myLocation: '+16505550123' });

  const rc = adapter();
  if (!rc || !signedIn) return;
  await rc.clickToCall('+16505550199', true);
  const [call] = calls.values();
  if (call) {
    await rc.controlCall('hold', call.id);
    await rc.controlCall('transfer', call.id, { transferNumber: '103', warm: true });
    await rc.controlCall('completeTransfer');
  }
  await rc.clickToSMS('+16505550199', 'Running late');
  await rc.navigateTo('/messages');
  rc.setMinimized(true);
  rc.setClosed(false);
  try {
    await rc.logoutUser();
  } catch (err) {
    console.warn('logout', (err as Error & { code?: string }).code);
  }

  // What the definitions refuse; each line must stay an error.
  // @ts-expect-error: not a call action
  await rc.controlCall('park', call?.id);
  // @ts-expect-error: toCall is a boolean
  post({ type: 'rc-adapter-new-call', phoneNumber: '102', toCall: 'yes' });
  // @ts-expect-error: not a presence the widget takes
  post({ type: 'rc-adapter-set-presence', userStatus: 'Away' });
  rc.dispose();
}
