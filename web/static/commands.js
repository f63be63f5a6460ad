// The host page's commands (the embedding contract, docs/commands.md): the
// fields of each command type, and how the widget carries it out through
// its actions. bridge.js checks a command against its fields and runs it in
// order; every handler here returns the response a request is answered
// with, or a Promise of it.

import { asString, describeProblems, optional, ownValue, required, validateFields } from './fields.js';

const ALERT_LEVELS = ['info', 'warning', 'danger'];
// The call actions of the contract (docs/commands.md).
const CALL_ACTIONS = [
  'answer', 'reject', 'ignore', 'hangup', 'hold', 'unhold', 'mute', 'unmute', 'transfer', 'completeTransfer',
  'cancelTransfer', 'forward', 'dtmf', 'startRecord', 'stopRecord', 'pauseRecord', 'resumeRecord', 'toVoicemail',
  'switch', 'moveHere', 'merge', 'addParticipant', 'removeParticipant', 'endConference',
];
// What rc-adapter-set-presence may set (docs/events.md rc-adapter-syncPresence).
const USER_STATUSES = ['Available', 'Busy', 'Offline'];
const DND_STATUSES = ['TakeAllCalls', 'DoNotAcceptAnyCalls', 'DoNotAcceptDepartmentCalls', 'TakeDepartmentCallsOnly'];
// The tones of options.dtmf: digits, *, #, A-D.
const DTMF_TONES = /^[0-9*#A-D]{1,64}$/i;
const MAX_NUMBER_LENGTH = 64;
// The longest call id or party id an option names.
const MAX_ID_LENGTH = 64;
const OK = Object.freeze({ data: 'ok' });

const numberProblem = (value, name) => (typeof value === 'string' && value.trim() !== '' && value.length <= MAX_NUMBER_LENGTH
  ? '' : `${name} must be a phone or extension number of at most ${MAX_NUMBER_LENGTH} characters`);

const isId = (value) => typeof value === 'string' && value !== '' && value.length <= MAX_ID_LENGTH;

// OPTION_PROBLEMS says, for the call actions that read options, what is
// wrong with them ('' when nothing is).
const OPTION_PROBLEMS = Object.freeze({
  answer: (o) => (o?.action === undefined || ['hold', 'end'].includes(o.action) ? '' : "options.action must be 'hold' or 'end'"),
  dtmf: (o) => (DTMF_TONES.test(asString(o?.dtmf)) ? '' : 'options.dtmf must be 1 to 64 of 0-9 * # A-D'),
  transfer: (o) => numberProblem(o?.transferNumber, 'options.transferNumber') ||
    (o.warm === undefined || typeof o.warm === 'boolean' ? '' : 'options.warm must be true or false'),
  forward: (o) => numberProblem(o?.forwardNumber, 'options.forwardNumber'),
  merge: (o) => (o?.otherCallId === undefined || isId(o.otherCallId) ? '' : 'options.otherCallId must be the id of another call of this widget'),
  addParticipant: (o) => numberProblem(o?.number, 'options.number'),
  removeParticipant: (o) => (isId(o?.partyId) ? '' : 'options.partyId must be the partyId of a participant (rc-conference-notify)'),
});

// ---------------------------------------------------------------------------
// Command handlers. Each returns the response a request is answered with.

// newCall opens the dialer with the number, and dials it when toCall is set.
function newCall(command, ctx) {
  return ctx.actions.newCall(command.phoneNumber, command.toCall === true);
}

// The dialer can take a call, or says why it cannot (dialerProblem): either
// way a new call need not wait any longer.
function dialerSettled(state) {
  return state.loggedIn && (state.dialerReady || Boolean(state.dialerProblem));
}

// controlCall carries out a call action on the web phone. Each failure is
// also told to the host as rc-control-call-error.
async function controlCall(command, ctx) {
  const problem = ownValue(OPTION_PROBLEMS, command.callAction)?.(command.options) ?? '';
  if (problem) {
    const message = `${command.type}: ${problem}`;
    ctx.warn(message);
    return { error: 'invalidField', message };
  }
  const { callId, ...response } = await ctx.actions.controlCall(command);
  if (response.error) {
    ctx.warn(`${command.type} (${command.callAction}): ${response.message}`);
    ctx.post({ type: 'rc-control-call-error', error: response.error, message: response.message, callId: callId ?? null });
  }
  return response;
}

// syncSessions tells the host the calls of this device.
async function syncSessions(_command, ctx) {
  const calls = await ctx.actions.webphoneSessions();
  ctx.post({ type: 'rc-webphone-sessions-sync', calls });
  return { data: calls };
}

function navigateTo(command, ctx) {
  if (ctx.actions.navigate(command.path)) return OK;
  const message = `${command.type}: unknown path "${command.path}"`;
  ctx.warn(message);
  return { error: 'invalidPath', message };
}

function showCustomAlert(body, ctx) {
  ctx.actions.showAlert({
    message: body.alertMessage,
    level: body.alertLevel ?? 'info',
    ttl: body.ttl,
  });
  return OK;
}

// callLog answers /get-call-log and /unlogged-calls with the signed-in
// user's recent calls, newest first; /unlogged-calls leaves out those
// logged in the host's CRM from this widget.
function callLog(body, ctx, path) {
  if (!ctx.state.loggedIn) {
    return { error: 'notSignedIn', message: `${path} needs a signed-in user` };
  }
  return ctx.actions.callLog({ perPage: body.perPage, unlogged: path === '/unlogged-calls' });
}

// newSms opens the message composer with the number and the text.
function newSms(command, ctx) {
  return ctx.actions.newSms({
    phoneNumber: command.phoneNumber,
    text: command.text ?? '',
    conversation: command.conversation === true,
  });
}

// setPresence sets the user's status; rc-adapter-syncPresence follows.
function setPresence(command, ctx) {
  if (command.userStatus === undefined && command.dndStatus === undefined) {
    const message = `${command.type}: give userStatus, dndStatus or both`;
    ctx.warn(message);
    return { error: 'invalidField', message };
  }
  return ctx.actions.setPresence({ userStatus: command.userStatus, dndStatus: command.dndStatus });
}

// callingSettings changes the calling mode, the phone a RingOut rings first
// and the caller id; rc-calling-settings-notify follows a change.
function callingSettings(command, ctx) {
  const { callWith, myLocation, fromNumber } = command;
  return ctx.actions.callingSettings({ callWith, myLocation, fromNumber });
}

const signedIn = (state) => state.loggedIn;

// runSessionAction answers a sign-in command once its action settles:
// {data:'ok'}, or the error code and message the action rejected with.
async function runSessionAction(command, ctx, action) {
  try {
    await action();
    return OK;
  } catch (err) {
    const message = err?.message || String(err);
    ctx.warn(`${command.type}: ${message}`);
    return { error: err?.code || 'failed', message };
  }
}

function login(command, ctx) {
  return runSessionAction(command, ctx, () => ctx.actions.login());
}

function logout(command, ctx) {
  return runSessionAction(command, ctx, () => ctx.actions.logout());
}

function authorizationCode(command, ctx) {
  return runSessionAction(command, ctx, () => ctx.actions.authorize(command.callbackUri));
}

// registerService takes the host's service (hostservice.js checks it).
function registerService(command, ctx) {
  return ctx.actions.registerService(command.service);
}

// hostResponse hands the host's answer to the request it answers.
function hostResponse(command, ctx) {
  ctx.actions.hostResponse(command);
}

// Paths of rc-adapter-message-request, each with the fields of its body.
const REQUESTS = Object.freeze({
  '/custom-alert-message': {
    fields: {
      alertMessage: required('string'),
      alertLevel: optional('string', ALERT_LEVELS),
      ttl: optional('number'),
    },
    run: showCustomAlert,
  },
  '/get-call-log': { fields: { perPage: optional('number') }, run: callLog },
  '/unlogged-calls': { fields: { perPage: optional('number') }, run: callLog },
});

function answerRequest(command, ctx) {
  const request = ownValue(REQUESTS, command.path);
  if (!request) {
    const message = `no handler for ${command.path}`;
    ctx.warn(`${command.type}: ${message}`);
    return { error: 'unknownPath', message };
  }
  const body = command.body ?? {};
  const problems = validateFields(request.fields, body);
  if (problems.length > 0) {
    const message = `${command.path}: ${describeProblems(problems)}`;
    ctx.warn(message);
    return { error: 'invalidRequest', message };
  }
  return request.run(body, ctx, command.path);
}

// Every command type of the embedding contract: its fields, and how it runs.
// A handler may add canRun(state, command); while it returns false the
// command waits in the queue; one marked immediate skips the queue. run returns the response, or a Promise of it;
// the commands behind wait until it settles.
export const COMMANDS = Object.freeze({
  'rc-adapter-navigate-to': {
    fields: { path: required('string') },
    run: navigateTo,
  },
  'rc-adapter-message-request': {
    fields: { requestId: required('id'), path: required('string'), body: optional('object') },
    run: answerRequest,
  },
  'rc-adapter-new-call': {
    fields: { phoneNumber: required('string'), toCall: optional('boolean') },
    canRun: dialerSettled,
    run: newCall,
  },
  'rc-adapter-control-call': {
    fields: {
      callAction: required('string', CALL_ACTIONS),
      callId: optional('string'),
      options: optional('object'),
    },
    run: controlCall,
  },
  'rc-adapter-new-sms': {
    fields: { phoneNumber: required('string'), text: optional('string'), conversation: optional('boolean') },
    canRun: signedIn,
    run: newSms,
  },
  'rc-adapter-login': { fields: {}, run: login },
  'rc-adapter-logout': { fields: {}, run: logout },
  'rc-adapter-authorization-code': {
    fields: { callbackUri: required('uri') },
    run: authorizationCode,
  },
  'rc-adapter-set-presence': {
    fields: { userStatus: optional('string', USER_STATUSES), dndStatus: optional('string', DND_STATUSES) },
    canRun: signedIn,
    run: setPresence,
  },
  'rc-calling-settings-update': {
    fields: {
      callWith: optional('string', ['browser', 'ringout']),
      myLocation: optional('string'),
      fromNumber: optional('string'),
    },
    run: callingSettings,
  },
  'rc-adapter-webphone-sessions-sync': { fields: {}, run: syncSessions },
  'rc-adapter-register-third-party-service': {
    fields: { service: required('object') },
    run: registerService,
  },
  // The host's answer to a request of the widget: it runs at once, ahead
  // of the commands waiting, and is not answered.
  'rc-post-message-response': {
    fields: { responseId: required('id') },
    immediate: true,
    run: hostResponse,
  },
});

// Any command may carry a requestId; it is then answered exactly once.
export const COMMON_FIELDS = { requestId: optional('id') };
