// The widget shell: boot configuration, the session and sign-in, routing,
// the server's event stream and the host bridge. The web phone (phone.js),
// the history (history.js), the messages (messages.js), the status and
// calling settings (settings.js) and the answering rule and greeting
// (answering.js) run inside it.
//
// This module puts the widget together: it starts each part, follows the
// session and hands each event of the stream to the parts. Each part has a
// module of its own:
//   server.js    the requests to the server and its session endpoints
//   session.js   reading the session, and the host events it drives
//   signin.js    the sign-in window, or the host's, and completing sign-in
//   stream.js    the server's event stream
//   tabs.js      this tab's id, and which tab tells the host of calls
//   store.js     the widget's state
//   appview.js   the shell's part of the page, and the alerts
//   bridge.js    messaging with the host page (commands.js: its commands)
//   early.js     what the page's inline boot script (boot.js) said to the
//                host and kept from it before this module ran
//   hostservice.js  the host's CRM and the widget's requests to it
//   crm.js, crmview.js  what the widget does with that CRM: caller names,
//                contacts, logging

import { t } from './i18n.js';
import { createAnswering } from './answering.js';
import { createJWTCredentials } from './jwtcreds.js';
import { createAudioSettings } from './audio.js';
import { addStylesheet, applyTheme, bindControls, render, showAlert } from './appview.js';
import { createBridge } from './bridge.js';
import { asString } from './fields.js';
import { createHistory } from './history.js';
import { createHostService } from './hostservice.js';
import { callLogKey, createCrm, messageLogKey } from './crm.js';
import { createCrmView } from './crmview.js';
import { regionOf, setHostNames } from './numbers.js';
import { createMessages } from './messages.js';
import { createPhone } from './phone.js';
import { fetchMedia, request, server, setClient } from './server.js';
import { bootSession, readSession, sameUser, sessionEvents, STATE_FROM_EVENT } from './session.js';
import { createSettings } from './settings.js';
import { createSignIn, LOGIN_IDLE } from './signin.js';
import { createStore } from './store.js';
import { connectEvents, eventsUrlFor, parseServerEvent } from './stream.js';
import { messageNotice, createNotices } from './notices.js';
import { newTabId, TAB_SCOPED_EVENTS, trackActiveTab } from './tabs.js';

const ROUTES = Object.freeze(['/login', '/dialer', '/calls', '/history', '/messages', '/settings', '/contacts']);

const LOG_PREFIX = '[callbridge]';

const byId = (id) => document.getElementById(id);

function readConfig() {
  return JSON.parse(byId('cb-config').textContent);
}

function start() {
  const config = readConfig();
  // What the page's boot script started (early.js): the host heard of the
  // session from it, and it kept the host's messages for the bridge.
  const early = window.cbEarly ?? null;
  (config.warnings ?? []).forEach((warning) => console.warn(LOG_PREFIX, warning));
  applyTheme(config.flags?.theme);
  addStylesheet(config.flags?.stylesUri);

  setClient(asString(config.clientId));
  // This tab's phone: an id the server issues to the signed-in session,
  // renewed whenever the session changes ('' while signed out).
  let deviceId = asString(config.session?.deviceId);
  const activeTab = trackActiveTab(config.flags?.disableInactiveTabCallEvent === true, newTabId());
  const firstSession = bootSession(config);
  // loggedIn repeats session.loggedIn for the bridge: commands wait on it,
  // and a new call on dialerReady, or on dialerProblem saying why the phone
  // cannot call (the phone keeps both). callWith is the calling mode, which
  // the settings keep.
  const store = createStore({
    route: null,
    session: firstSession,
    loggedIn: firstSession.loggedIn,
    login: LOGIN_IDLE,
    signingOut: false,
    dialerReady: false,
    dialerProblem: '',
    connection: 'connecting',
    callWith: 'browser',
    missedCalls: 0,
    unreadMessages: 0,
    // The host's CRM (hostservice.js), null until it registers one; crmNames
    // counts the changes of what crm.js learnt from it.
    hostService: null,
    crmNames: 0,
  });

  function navigate(path) {
    if (!ROUTES.includes(path)) return false;
    if (path !== store.get().route) {
      store.update({ route: path });
      bridge.post({ type: 'rc-route-changed-notify', path });
    }
    return true;
  }

  // showPage is navigate for the host page: the page it asks for shows,
  // over a call in progress too.
  function showPage(path) {
    if (!navigate(path)) return false;
    phone.foldCall();
    return true;
  }

  const setLogin = (login) => store.update({ login: Object.freeze({ ...LOGIN_IDLE, ...login }) });

  // applySession takes a session from the server: it tells the host what
  // changed (all of it about a user who just signed in), then updates the
  // widget (which lets waiting commands run), then moves to the page the
  // change calls for. byUser is set when this widget signed in or out
  // itself; a session that ends otherwise says so on the sign-in page. The
  // event stream follows a change of user.
  function applySession(raw, { byUser = false } = {}) {
    const previous = store.get().session;
    const session = readSession(raw, config.features);
    const known = session.loggedIn && !sameUser(previous, session) ? null : previous;
    sessionEvents(known, session).forEach(bridge.post);
    store.update({ session, loggedIn: session.loggedIn });
    if (session.loggedIn && !previous.loggedIn) {
      signIn.cancel();
      navigate('/dialer');
    } else if (!session.loggedIn && previous.loggedIn) {
      setLogin({ note: byUser ? '' : t('shell.signedOut') });
      navigate('/login');
    }
    if (byUser || !sameUser(previous, session)) {
      // The server's answer brings this tab's device for the new session;
      // a session pushed without one has the tab ask for it.
      deviceId = session.loggedIn ? asString(raw?.deviceId) : '';
      if (session.loggedIn && !deviceId) renewStream();
      else events.reconnect();
    }
  }

  // renewStream takes a device id for the session of the moment, then opens
  // the event stream anew with it.
  let renewing = null;
  function renewStream() {
    renewing ??= (async () => {
      try {
        deviceId = store.get().session.loggedIn ? asString((await server.newDevice()).deviceId) : '';
      } catch (err) {
        deviceId = '';
        if (err.code === 'NotSignedIn') refreshSession();
        else console.warn(LOG_PREFIX, `could not register this tab's phone: ${err.message}`);
      } finally {
        renewing = null;
      }
      events.reconnect();
    })();
    return renewing;
  }

  // A stream the server refused is tried again after a pause that grows
  // to half a minute, with a new device id when signed in.
  let retryMs = 1000;
  let retryTimer = 0;
  function streamClosed() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => renewStream(), retryMs);
    retryMs = Math.min(retryMs * 2, 30_000);
  }

  function refreshSession() {
    server.state()
      .then((session) => session && applySession(session))
      .catch((err) => console.warn(LOG_PREFIX, `could not refresh the session: ${err.message}`));
  }

  // startSignIn answers the host's rc-adapter-login: nothing to do when
  // signed in already, else the sign-in page shows how it goes.
  function startSignIn() {
    if (store.get().session.loggedIn) return Promise.resolve();
    navigate('/login');
    return signIn.start();
  }

  async function signOut() {
    signIn.cancel();
    store.update({ signingOut: true });
    try {
      applySession(await server.logout(), { byUser: true });
    } finally {
      store.update({ signingOut: false });
    }
  }

  // Widget-internal events of the stream; the host never sees them.
  const INTERNAL_EVENTS = {
    'cb-session': (event) => applySession(event.session),
    'cb-call-rejoin': (event) => phone.rejoin(event.telephonySessionId),
    'cb-resync': () => {
      refreshSession();
      phone.resync();
      history.reload();
      messages.reload();
    },
  };

  const signIn = createSignIn({
    popupOff: config.flags?.disableLoginPopup === true,
    setLogin,
    signedIn: (session) => applySession(session, { byUser: true }),
    post: (message) => bridge.post(message),
    theme: config.flags?.theme,
  });

  // The host page's CRM, once it registers one: the widget's requests to it
  // go through the bridge, to the host origin only.
  const hostService = createHostService({
    post: (request) => bridge.post({ type: 'rc-post-message-request', ...request }),
    onChange: (service) => store.update({ hostService: service }),
  });

  const bridge = createBridge({
    config,
    getState: store.get,
    actions: {
      navigate: showPage,
      showAlert,
      login: startSignIn,
      logout: signOut,
      authorize: (callbackUri) => signIn.authorize(callbackUri),
      newCall: (phoneNumber, toCall) => phone.newCall(phoneNumber, toCall),
      controlCall: (command) => phone.controlCall(command),
      webphoneSessions: () => phone.sessions(),
      newSms: (sms) => messages.newSms(sms),
      setPresence: (presence) => settings.setPresence(presence),
      callingSettings: (update) => settings.update(update),
      callLog: (options) => history.callLog(options),
      registerService: (service) => hostService.register(service),
      hostResponse: (answer) => hostService.receive(answer),
    },
    isOwnMessage: signIn.isFromLoginWindow,
    early,
  });
  store.subscribe(render);
  store.subscribe(bridge.stateChanged);
  // The host hears of the dialer's readiness at start and on every change.
  let dialerReady = store.get().dialerReady;
  store.subscribe((state) => {
    if (state.dialerReady === dialerReady) return;
    dialerReady = state.dialerReady;
    bridge.post({ type: 'rc-dialer-status-notify', ready: dialerReady });
  });

  // The host hears how many calls were missed and messages are unread (its
  // bar shows the sum while minimised) on every change; both start at 0.
  let badges = '0/0';
  const postBadges = ({ missedCalls, unreadMessages }) => {
    if (badges === `${missedCalls}/${unreadMessages}`) return;
    badges = `${missedCalls}/${unreadMessages}`;
    bridge.post({ type: 'rc-badge-notify', missedCalls, unreadMessages });
  };
  store.subscribe(postBadges);

  // The page's boot script told the host of the session already, unless it
  // could not run.
  if (early?.postedTo !== bridge.hostOrigin) sessionEvents(null, firstSession).forEach(bridge.post);
  bridge.post({ type: 'rc-dialer-status-notify', ready: dialerReady });
  postBadges(store.get());
  navigate(firstSession.loggedIn ? '/dialer' : '/login');
  bindControls(config, { navigate, signIn, signOut });

  // Desktop notifications: off unless turned on in Settings (or by the
  // host's notification flag, until the user chooses).
  const notices = createNotices({
    checkbox: byId('cb-desktop-notify'),
    note: byId('cb-desktop-notify-note'),
    byDefault: config.flags?.notification === true,
  });

  // The microphone, speaker, ringer output, ringtone and volume the user picked.
  const audio = createAudioSettings({ store, showAlert });
  // The host's CRM on the widget's pages: showParty (numbers.js) names the
  // numbers it knows everywhere.
  const crm = createCrm({ host: hostService, store, showAlert });
  setHostNames(crm.lookup);
  const crmView = createCrmView({
    crm,
    store,
    region: () => regionOf(store.get().session, asString(config.region?.countryCode)),
    dial: (number) => phone.newCall(number, true),
    request,
  });
  const crmViews = {
    has: crm.has,
    labels: crm.labels,
    viewContact: crm.viewContact,
    isLogged: (call) => crm.isLogged(callLogKey(call)),
    offerLog: (call, name) => crmView.openLog({
      title: crm.labels().logCall, what: name, log: (options) => crm.logCall(call, options),
    }),
    isConversationLogged: (id) => crm.isLogged(messageLogKey(id)),
    offerConversationLog: (conversation, name) => crmView.openLog({
      title: crm.labels().logMessages, what: name, log: (options) => crm.logConversation(conversation, options),
    }),
  };

  const phone = createPhone({
    config,
    audio,
    device: () => deviceId,
    store,
    request,
    navigate,
    showAlert,
    post: (message) => bridge.post(message),
    ringOut: (number) => settings.ringOut(number),
    notify: (notice) => notices.show(notice),
    crm: crmViews,
  });

  // The host hears the calling settings at start and on every change.
  const settings = createSettings({
    config,
    store,
    request,
    showAlert,
    onChange: (current) => bridge.post({ type: 'rc-calling-settings-notify', ...current }),
  });
  const history = createHistory({
    store,
    request,
    callBack: (number) => phone.newCall(number, true),
    loadMedia: fetchMedia,
    crm: crmViews,
  });
  const callBack = (number) => phone.newCall(number, true);
  const messages = createMessages({ store, request, loadMedia: fetchMedia, showPage, showAlert, callBack, crm: crmViews });
  // What the CRM names, and what it logged, shows on the pages that keep
  // their own rendering (the phone renders on every change).
  let crmNames = store.get().crmNames;
  store.subscribe((state) => {
    if (state.crmNames === crmNames) return;
    crmNames = state.crmNames;
    history.render();
    messages.render();
  });
  createAnswering({ store, request, loadMedia: fetchMedia, dial: callBack, showAlert });
  createJWTCredentials({ store, request });

  const events = connectEvents(() => eventsUrlFor(config.eventsUrl, asString(config.clientId), deviceId), {
    onStatus: (connection) => {
      if (connection === 'connected') retryMs = 1000;
      store.update({ connection });
    },
    onLink: phone.linkChanged,
    onEvent: receive,
    onClosed: streamClosed,
  });

  // receive takes one event of the server's stream. The host hears of it
  // at once; the widget's own work on it follows in a task of its own, the
  // events in the order they came: the browser sends the host page a message
  // only once the task that posted it is over.
  const received = [];
  const nextTask = new MessageChannel();
  nextTask.port1.onmessage = () => {
    for (const event of received.splice(0)) {
      try {
        handle(event);
      } catch (err) {
        console.error(LOG_PREFIX, `could not take ${event.type}:`, err);
      }
    }
  };
  function receive(event) {
    // Events for one device name it in _to; other tabs' are not ours.
    if (Object.hasOwn(event, '_to')) {
      if (event._to !== deviceId) return;
      delete event._to;
    }
    const relayed = !Object.hasOwn(INTERNAL_EVENTS, event.type) &&
      (!TAB_SCOPED_EVENTS.includes(event.type) || activeTab.isActive());
    if (relayed) bridge.relay(event);
    received.push(event);
    if (received.length === 1) nextTask.port2.postMessage(null);
  }

  function handle(event) {
    const internal = Object.hasOwn(INTERNAL_EVENTS, event.type) && INTERNAL_EVENTS[event.type];
    if (internal) {
      internal(event);
      return;
    }
    const patch = Object.hasOwn(STATE_FROM_EVENT, event.type) && STATE_FROM_EVENT[event.type];
    if (patch) store.update(patch(event, store.get()));
    phone.handleEvent(event);
    history.handleEvent(event);
    messages.handleEvent(event);
    settings.handleEvent(event);
    // A call of this device that ended is logged when auto-log is on.
    if (event.type === 'rc-call-end-notify' && event.call) crm.callEnded(event.call);
    if (event.type === 'rc-inbound-message-notify') notices.show(messageNotice(event.message), () => showPage('/messages'));
  }

  // The hook tests use to hand the widget an event of the stream again, as
  // a replay after a reconnect may: receive(data) takes the event's data.
  // Only a development server turns it on.
  if (config.testHooks === true) {
    window.cbEvents = Object.freeze({
      receive: (data) => {
        const event = parseServerEvent(data);
        if (event) receive(event);
      },
    });
  }

  // Everything a host command may use is there: the bridge takes them now,
  // those that came while the page loaded first.
  bridge.listen();
}

start();
