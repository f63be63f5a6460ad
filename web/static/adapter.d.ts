// The Callbridge widget's host-page contract in TypeScript: the events the
// widget posts to the host page (docs/events.md), the commands the host page
// posts to the widget (docs/commands.md), window.RCAdapter and the flags of
// adapter.js (docs/flags.md). Served at /adapter.d.ts.
//
// Generated from internal/bridge; do not edit. To regenerate:
//   go test ./internal/bridge -run TestTypeScriptDefinitions -update

/** Every event the widget posts to the host page; narrow on `type`. */
export type WidgetEvent =
  | LoginStatusNotify
  | LoginPopupNotify
  | CallRingNotify
  | CallInitNotify
  | CallStartNotify
  | CallHoldNotify
  | CallResumeNotify
  | CallMuteNotify
  | CallEndNotify
  | RingoutCallNotify
  | ActiveCallNotify
  | TelephonySessionNotify
  | AdapterSyncPresence
  | MessageUpdatedNotify
  | InboundMessageNotify
  | RouteChangedNotify
  | RegionSettingsNotify
  | DialerStatusNotify
  | MeetingStatusNotify
  | WebphoneConnectionStatusNotify
  | CallingSettingsNotify
  | AdapterMessageResponse
  | WebphoneSessionsSync
  | ControlCallError
  | CallFailedNotify
  | CallStatsNotify
  | CallTransferNotify
  | CallMovedNotify
  | CallRecordNotify
  | ConferenceNotify
  | DtmfSentNotify
  | BadgeNotify
  | PostMessageRequest;

/** The type of an event. */
export type WidgetEventType = WidgetEvent['type'];

/** The event of one type. */
export type WidgetEventOf<T extends WidgetEventType> = Extract<WidgetEvent, { type: T }>;

/** Every command the host page may post to the widget. */
export type HostCommand =
  | AdapterNewCall
  | AdapterControlCall
  | AdapterNewSms
  | AdapterLogin
  | AdapterLogout
  | AdapterAuthorizationCode
  | AdapterNavigateTo
  | AdapterSetPresence
  | CallingSettingsUpdate
  | AdapterWebphoneSessionsSync
  | AdapterMessageRequest
  | AdapterRegisterThirdPartyService
  | PostMessageResponse;

/** The type of a command. */
export type HostCommandType = HostCommand['type'];

/** The command of one type. */
export type HostCommandOf<T extends HostCommandType> = Extract<HostCommand, { type: T }>;

// ---- Events (docs/events.md)

/** `rc-login-status-notify` */
export interface LoginStatusNotify {
  type: 'rc-login-status-notify';
  loggedIn: boolean;
  loginNumber: string;
  contractedCountryCode: string;
  admin: boolean;
  features: Features;
}

/** `rc-login-popup-notify` */
export interface LoginPopupNotify {
  type: 'rc-login-popup-notify';
  oAuthUri: string;
}

/** `rc-call-ring-notify` */
export interface CallRingNotify {
  type: 'rc-call-ring-notify';
  call: WebphoneCall;
}

/** `rc-call-init-notify` */
export interface CallInitNotify {
  type: 'rc-call-init-notify';
  call: WebphoneCall;
}

/** `rc-call-start-notify` */
export interface CallStartNotify {
  type: 'rc-call-start-notify';
  call: WebphoneCall;
}

/** `rc-call-hold-notify` */
export interface CallHoldNotify {
  type: 'rc-call-hold-notify';
  call: WebphoneCall;
}

/** `rc-call-resume-notify` */
export interface CallResumeNotify {
  type: 'rc-call-resume-notify';
  call: WebphoneCall;
}

/** `rc-call-mute-notify` */
export interface CallMuteNotify {
  type: 'rc-call-mute-notify';
  call: WebphoneCall;
}

/** `rc-call-end-notify` */
export interface CallEndNotify {
  type: 'rc-call-end-notify';
  call: WebphoneCall;
}

/** `rc-ringout-call-notify` */
export interface RingoutCallNotify {
  type: 'rc-ringout-call-notify';
  call: ActiveCall;
}

/** `rc-active-call-notify` */
export interface ActiveCallNotify {
  type: 'rc-active-call-notify';
  call: ActiveCall;
}

/** `rc-telephony-session-notify` */
export interface TelephonySessionNotify {
  type: 'rc-telephony-session-notify';
  telephonySession: TelephonySession;
}

/** `rc-adapter-syncPresence` */
export interface AdapterSyncPresence {
  type: 'rc-adapter-syncPresence';
  telephonyStatus: 'NoCall' | 'Ringing' | 'CallConnected' | 'OnHold';
  userStatus: 'Available' | 'Busy' | 'Offline';
  dndStatus: 'TakeAllCalls' | 'DoNotAcceptAnyCalls' | 'DoNotAcceptDepartmentCalls' | 'TakeDepartmentCallsOnly';
  presenceStatus: 'Available' | 'Busy' | 'Offline';
}

/** `rc-message-updated-notify` */
export interface MessageUpdatedNotify {
  type: 'rc-message-updated-notify';
  message: Message;
}

/** `rc-inbound-message-notify` */
export interface InboundMessageNotify {
  type: 'rc-inbound-message-notify';
  message: Message;
}

/** `rc-route-changed-notify` */
export interface RouteChangedNotify {
  type: 'rc-route-changed-notify';
  path: string;
}

/** `rc-region-settings-notify` */
export interface RegionSettingsNotify {
  type: 'rc-region-settings-notify';
  countryCode: string;
  areaCode: string;
}

/** `rc-dialer-status-notify` */
export interface DialerStatusNotify {
  type: 'rc-dialer-status-notify';
  ready: boolean;
}

/** `rc-meeting-status-notify`: not emitted yet. */
export interface MeetingStatusNotify {
  type: 'rc-meeting-status-notify';
  ready: boolean;
  permission: boolean;
}

/** `rc-webphone-connection-status-notify` */
export interface WebphoneConnectionStatusNotify {
  type: 'rc-webphone-connection-status-notify';
  connectionStatus: 'connected' | 'connecting' | 'disconnected' | 'connectFailed';
  deviceId: string;
}

/** `rc-calling-settings-notify` */
export interface CallingSettingsNotify {
  type: 'rc-calling-settings-notify';
  callWith: 'browser' | 'ringout';
  callingMode: 'ringout' | 'webphone';
  fromNumbers: FromNumber[];
  fromNumber: string;
  myLocation: string;
}

/** `rc-adapter-message-response` */
export interface AdapterMessageResponse {
  type: 'rc-adapter-message-response';
  responseId: string | number;
  response: CommandResponse;
}

/** `rc-webphone-sessions-sync` */
export interface WebphoneSessionsSync {
  type: 'rc-webphone-sessions-sync';
  calls: WebphoneCall[];
}

/** `rc-control-call-error` */
export interface ControlCallError {
  type: 'rc-control-call-error';
  error: 'unsupported' | 'noSuchCall' | 'invalidState' | 'failed';
  message: string;
  callId: string | null;
}

/** `rc-call-failed-notify` */
export interface CallFailedNotify {
  type: 'rc-call-failed-notify';
  call: WebphoneCall;
  code: number;
  reason: string;
}

/** `rc-call-stats-notify` */
export interface CallStatsNotify {
  type: 'rc-call-stats-notify';
  call: WebphoneCall;
  stats: CallStats;
}

/** `rc-call-transfer-notify` */
export interface CallTransferNotify {
  type: 'rc-call-transfer-notify';
  call: WebphoneCall;
  state: 'started' | 'completed' | 'failed';
  target: string;
}

/** `rc-call-moved-notify` */
export interface CallMovedNotify {
  type: 'rc-call-moved-notify';
  call: WebphoneCall;
  toDeviceId: string;
}

/** `rc-call-record-notify` */
export interface CallRecordNotify {
  type: 'rc-call-record-notify';
  call: WebphoneCall;
  recording?: RecordingRef;
}

/** `rc-conference-notify` */
export interface ConferenceNotify {
  type: 'rc-conference-notify';
  conference: ConferenceView;
  change: 'created' | 'ended' | 'held' | 'invited' | 'joined' | 'left' | 'rejected' | 'removed' | 'resumed' | 'updated';
}

/** `rc-dtmf-sent-notify` */
export interface DtmfSentNotify {
  type: 'rc-dtmf-sent-notify';
  call: WebphoneCall;
  tone: string;
}

/** `rc-badge-notify` */
export interface BadgeNotify {
  type: 'rc-badge-notify';
  missedCalls: number;
  unreadMessages: number;
}

/** `rc-post-message-request` */
export interface PostMessageRequest {
  type: 'rc-post-message-request';
  requestId: string;
  path: string;
  body: unknown;
}

// ---- Commands (docs/commands.md)

/** `rc-adapter-new-call` */
export interface AdapterNewCall {
  type: 'rc-adapter-new-call';
  requestId?: string | number;
  phoneNumber: string;
  toCall?: boolean;
}

/** `rc-adapter-control-call` */
export interface AdapterControlCall {
  type: 'rc-adapter-control-call';
  requestId?: string | number;
  callAction: 'answer' | 'reject' | 'ignore' | 'hangup' | 'hold' | 'unhold' | 'mute' | 'unmute' | 'transfer' | 'completeTransfer' | 'cancelTransfer' | 'forward' | 'dtmf' | 'startRecord' | 'stopRecord' | 'pauseRecord' | 'resumeRecord' | 'toVoicemail' | 'switch' | 'moveHere' | 'merge' | 'addParticipant' | 'removeParticipant' | 'endConference';
  callId?: string;
  options?: ControlCallOptions;
}

/** `rc-adapter-new-sms` */
export interface AdapterNewSms {
  type: 'rc-adapter-new-sms';
  requestId?: string | number;
  phoneNumber: string;
  text?: string;
  conversation?: boolean;
}

/** `rc-adapter-login` */
export interface AdapterLogin {
  type: 'rc-adapter-login';
  requestId?: string | number;
}

/** `rc-adapter-logout` */
export interface AdapterLogout {
  type: 'rc-adapter-logout';
  requestId?: string | number;
}

/** `rc-adapter-authorization-code` */
export interface AdapterAuthorizationCode {
  type: 'rc-adapter-authorization-code';
  requestId?: string | number;
  callbackUri: string;
}

/** `rc-adapter-navigate-to` */
export interface AdapterNavigateTo {
  type: 'rc-adapter-navigate-to';
  requestId?: string | number;
  path: string;
}

/** `rc-adapter-set-presence` */
export interface AdapterSetPresence {
  type: 'rc-adapter-set-presence';
  requestId?: string | number;
  userStatus?: 'Available' | 'Busy' | 'Offline';
  dndStatus?: 'TakeAllCalls' | 'DoNotAcceptAnyCalls' | 'DoNotAcceptDepartmentCalls' | 'TakeDepartmentCallsOnly';
}

/** `rc-calling-settings-update` */
export interface CallingSettingsUpdate {
  type: 'rc-calling-settings-update';
  requestId?: string | number;
  callWith?: 'browser' | 'ringout';
  myLocation?: string;
  fromNumber?: string;
}

/** `rc-adapter-webphone-sessions-sync` */
export interface AdapterWebphoneSessionsSync {
  type: 'rc-adapter-webphone-sessions-sync';
  requestId?: string | number;
}

/** `rc-adapter-message-request` */
export interface AdapterMessageRequest {
  type: 'rc-adapter-message-request';
  requestId: string | number;
  path: '/custom-alert-message' | '/get-call-log' | '/unlogged-calls';
  body?: Record<string, unknown>;
}

/** `rc-adapter-register-third-party-service` */
export interface AdapterRegisterThirdPartyService {
  type: 'rc-adapter-register-third-party-service';
  requestId?: string | number;
  service: HostService;
}

/** `rc-post-message-response` */
export interface PostMessageResponse {
  type: 'rc-post-message-response';
  responseId: string | number;
  response: HostResponse;
}

// ---- window.RCAdapter (adapter.js, docs/commands.md)

/** What adapter.js defines as window.RCAdapter. A Promise resolves with the answer's data and
 * rejects with an Error whose code is the widget's error code, or 'timeout' after 5 s. */
export interface RCAdapter {
  /** The widget's <iframe>. */
  readonly frame: HTMLIFrameElement;
  /** Shows the widget and opens the dialer with the number; dials it when toCall. */
  clickToCall(phoneNumber: string, toCall?: boolean): Promise<unknown>;
  /** Shows the widget and opens a new message to the number with the text. */
  clickToSMS(phoneNumber: string, text?: string): Promise<unknown>;
  /** Carries out a call action; failures also come as rc-control-call-error. */
  controlCall(callAction: AdapterControlCall['callAction'], callId?: string, options?: ControlCallOptions): Promise<unknown>;
  /** Changes the widget's page. */
  navigateTo(path: string): Promise<unknown>;
  /** Signs the user out. */
  logoutUser(): Promise<unknown>;
  /** Minimises or expands the frame. */
  setMinimized(minimized: boolean): void;
  /** Hides the frame (true) or shows it again (false). */
  setClosed(closed: boolean): void;
  /** Removes the widget, its styles and listeners; pending Promises reject with code 'disposed'. */
  dispose(): void;
}

// ---- Flags (docs/flags.md)

/** The query of adapter.js's src (and of /app): each value is written as a string,
 * booleans as 1 or 0. Unknown flags are ignored; bad values get the default. */
export interface AdapterFlags {
  clientId: string;
  prefix?: string;
  disableLoginPopup?: boolean;
  disableInactiveTabCallEvent?: boolean;
  defaultCallWith?: 'browser' | 'ringout';
  disableCall?: boolean;
  disableMessages?: boolean;
  disableContacts?: boolean;
  stylesUri?: string;
  defaultDirection?: 'left' | 'right';
  zIndex?: number;
  disableMinimize?: boolean;
  notification?: boolean;
  theme?: 'light' | 'dark' | 'auto';
  lang?: string;
  width?: number;
  height?: number;
}

// ---- Objects of the events and commands

export interface Features {
  call: boolean;
  sms: boolean;
  meeting: boolean;
}

export interface WebphoneCall {
  id: string;
  callId: string;
  sessionId: string;
  telephonySessionId: string;
  partyId: string;
  direction: 'Inbound' | 'Outbound';
  callStatus: 'webphone-session-setup' | 'connecting' | 'connected' | 'onHold' | 'finished';
  from: string;
  fromNumber: string;
  fromUserName: string;
  to: string;
  toNumber: string;
  toUserName: string;
  startTime: number;
  creationTime: number;
  isOnHold: boolean;
  isOnMute: boolean;
  isOnTransfer: boolean;
  recordStatus: 'idle' | 'recording' | 'paused';
  partyData: PartyData;
  endTime?: number;
  duration?: number;
  result?: string;
  reason?: string;
  code?: number;
}

export interface ActiveCall {
  id: string;
  sessionId: string;
  telephonySessionId: string;
  partyId: string;
  direction: 'Inbound' | 'Outbound';
  from: CallEndpoint;
  to: CallEndpoint;
  telephonyStatus: 'NoCall' | 'Ringing' | 'CallConnected' | 'OnHold';
  terminationType?: 'final';
  startTime: string;
  sequence: number;
}

export interface TelephonySession {
  id: string;
  sessionId: string;
  sequence: number;
  eventTime: string;
  origin: SessionOrigin;
  parties: SessionParty[];
}

export interface Message {
  id: string;
  type: 'SMS' | 'Pager' | 'VoiceMail';
  direction: 'Inbound' | 'Outbound';
  from: MessageParty;
  to: MessageParty[];
  subject: string;
  creationTime: string;
  lastModifiedTime: string;
  readStatus: 'Read' | 'Unread';
  messageStatus: 'Queued' | 'Sent' | 'Delivered' | 'DeliveryFailed' | 'Received';
  conversationId: string;
  availability: 'Alive' | 'Deleted';
  deliveryErrorCode?: string;
  deliveryErrorReason?: string;
  attachments?: MessageAttachment[];
}

export interface FromNumber {
  phoneNumber: string;
  usageType: string;
}

export interface CommandResponse {
  data?: unknown;
  error?: string;
  message?: string;
}

export interface CallStats {
  rttMs: number;
  jitterMs: number;
  packetsLost: number;
  packetsReceived: number;
  bytesSent: number;
  bytesReceived: number;
  mos: number;
}

export interface RecordingRef {
  id: string;
  type: 'OnDemand' | 'Automatic';
  contentUri: string;
}

export interface ConferenceView {
  id: string;
  telephonySessionId: string;
  hostSessionId: string;
  host: boolean;
  hostPresent: boolean;
  state: 'connected' | 'held' | 'ended';
  participants: ConferenceParticipant[];
  invitations: ConferenceInvitation[];
}

export interface ControlCallOptions {
  action?: 'hold' | 'end';
  transferNumber?: string;
  warm?: boolean;
  forwardNumber?: string;
  dtmf?: string;
  otherCallId?: string;
  number?: string;
  partyId?: string;
}

export interface HostService {
  name: string;
  contactsPath?: string;
  contactSearchPath?: string;
  contactMatchPath?: string;
  viewMatchedContactPath?: string;
  callLoggerPath?: string;
  callLoggerTitle?: string;
  callLoggerAutoSettingLabel?: string;
  messageLoggerPath?: string;
  messageLoggerTitle?: string;
  activitiesPath?: string;
}

export interface HostResponse {
  data?: unknown;
  error?: string | { message: string };
}

export interface PartyData {
  partyId: string;
  sessionId: string;
}

export interface CallEndpoint {
  phoneNumber: string;
  name?: string;
  extensionNumber?: string;
}

export interface SessionOrigin {
  type: 'Call' | 'RingOut';
}

export interface SessionParty {
  id: string;
  direction: 'Inbound' | 'Outbound';
  from: CallEndpoint;
  to: CallEndpoint;
  status: PartyStatus;
  muted: boolean;
  owner?: PartyOwner;
  telephonySessionId?: string;
}

export interface MessageParty {
  phoneNumber?: string;
  extensionNumber?: string;
  name?: string;
}

export interface MessageAttachment {
  id: string;
  uri: string;
  type: 'AudioRecording';
  contentType: string;
  vmDuration: number;
}

export interface ConferenceParticipant {
  partyId: string;
  telephonySessionId: string;
  name: string;
  number: string;
  extensionNumber?: string;
  host: boolean;
  status: 'Setup' | 'Proceeding' | 'Answered' | 'Hold' | 'Disconnected';
  muted: boolean;
  mutedByHost: boolean;
}

export interface ConferenceInvitation {
  telephonySessionId: string;
  name?: string;
  number: string;
}

export interface PartyStatus {
  code: 'Setup' | 'Proceeding' | 'Answered' | 'Hold' | 'Disconnected';
  reason?: string;
}

export interface PartyOwner {
  extensionId: string;
}

declare global {
  interface Window {
    /** Defined by adapter.js once it ran; gone after dispose(). */
    RCAdapter?: RCAdapter;
  }
}
