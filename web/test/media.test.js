// Tests of media.js, the calls' audio, under `node --test`: the pure parts,
// and the call media of createMedia on fake connections and tracks.
import { catalogue } from './english.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  createMedia, DTMF_DURATION_MS, DTMF_GAP_MS, estimateMos, gradeQuality, iceGathered, MAX_TONES_SHOWN, QUALITY_INTERVAL_MS, WARM_MS,
  qualityText, STATS_INTERVAL_MS, summarizeStats,
} from '../static/media.js';
import { newEntry } from '../static/calls.js';
import { setCatalogue } from '../static/i18n.js';

test('estimateMos rates good, fair and bad audio on the E-model\'s scale', () => {
  const rate = (rttMs, jitterMs, packetsLost, packetsReceived) => estimateMos({ rttMs, jitterMs, packetsLost, packetsReceived });
  assert.equal(rate(0, 0, 0, 0), 4.4);
  assert.equal(rate(20, 2, 0, 1000), 4.4);
  assert.equal(rate(300, 30, 0, 1000), 4.14);
  assert.equal(rate(40, 5, 50, 950), 4.01);
  assert.equal(rate(800, 100, 0, 1000), 2.27);
  // Losing everything is as bad as it gets; the rating never leaves 1–4.5.
  assert.equal(rate(0, 0, 1000, 0), 1);
  assert.equal(rate(5000, 1000, 500, 500), 1);
  assert.equal(rate(0, 0, -5, 100), 4.4);
  for (const [rtt, jitter, lost] of [[0, 0, 0], [100, 10, 3], [400, 50, 20], [2000, 200, 90]]) {
    const mos = rate(rtt, jitter, lost, 100 - lost);
    assert.ok(mos >= 1 && mos <= 4.5, `${mos}`);
  }
  assert.ok(rate(50, 5, 0, 100) > rate(50, 5, 5, 95));
  assert.ok(rate(50, 5, 0, 100) > rate(500, 5, 0, 100));
});

test('summarizeStats sums the audio of a stats report', () => {
  const report = new Map(Object.entries({
    in1: { type: 'inbound-rtp', kind: 'audio', packetsLost: 3, packetsReceived: 97, bytesReceived: 1000, jitter: 0.0042 },
    in2: { type: 'inbound-rtp', kind: 'audio', packetsReceived: 100, bytesReceived: 500, jitter: 0.012 },
    video: { type: 'inbound-rtp', kind: 'video', packetsLost: 50, packetsReceived: 50, bytesReceived: 9999, jitter: 1 },
    out: { type: 'outbound-rtp', kind: 'audio', bytesSent: 2000 },
    pair: { type: 'candidate-pair', nominated: true, state: 'succeeded', currentRoundTripTime: 0.0456 },
    spare: { type: 'candidate-pair', nominated: false, state: 'succeeded', currentRoundTripTime: 1 },
  }));
  const stats = summarizeStats(report);
  assert.deepEqual({ ...stats, mos: undefined }, {
    rttMs: 46, jitterMs: 12, packetsLost: 3, packetsReceived: 197, bytesSent: 2000, bytesReceived: 1500, mos: undefined,
  });
  assert.equal(stats.mos, estimateMos(stats));
  assert.deepEqual(summarizeStats(new Map()), {
    rttMs: 0, jitterMs: 0, packetsLost: 0, packetsReceived: 0, bytesSent: 0, bytesReceived: 0, mos: 4.4,
  });
});

// fakePc is a connection whose ICE gathering completes when told.
function fakePc(state = 'gathering') {
  const pc = new EventTarget();
  pc.iceGatheringState = state;
  pc.complete = () => {
    pc.iceGatheringState = 'complete';
    pc.dispatchEvent(new Event('icegatheringstatechange'));
  };
  return pc;
}

test('iceGathered waits for gathering to complete, or for its timeout', async () => {
  await iceGathered(fakePc('complete'), 1_000);

  const pc = fakePc();
  let done = false;
  const gathered = iceGathered(pc, 60_000).then(() => { done = true; });
  pc.dispatchEvent(new Event('icegatheringstatechange'));
  await Promise.resolve();
  assert.equal(done, false);
  pc.complete();
  await gathered;

  // Gathering that never completes ends with the timeout.
  await iceGathered(fakePc(), 0);
});

// fakeTrack and fakeStream stand in for the microphone's.
function fakeStream() {
  const track = { enabled: true, stopped: false, stop() { this.stopped = true; } };
  return { track, getTracks: () => [track], getAudioTracks: () => [track] };
}

function media(t, fields = {}) {
  const heard = { changes: 0, stats: [] };
  const m = createMedia({
    iceServers: [],
    microphone: { open: async () => fakeStream(), granted: () => true },
    canPrepare: () => true,
    onChange: () => { heard.changes += 1; },
    onFailed: () => {},
    onTone: () => {},
    onStats: (entry, stats) => heard.stats.push([entry.id, stats]),
    ...fields,
  });
  return { m, heard };
}

test('muting turns the microphone off at once and the call\'s state keeps it so', (t) => {
  const { m } = media(t);
  const entry = newEntry({ id: 'c1', isOnMute: false });
  entry.stream = fakeStream();
  m.muteNow(entry);
  assert.equal(entry.stream.track.enabled, false);
  m.applyMute(entry);
  assert.equal(entry.stream.track.enabled, true);
  entry.call = { ...entry.call, isOnMute: true };
  m.applyMute(entry);
  assert.equal(entry.stream.track.enabled, false);
});

test('tones go to the call\'s DTMF sender, and the keypad keeps the last ones', (t) => {
  const { m } = media(t);
  const entry = newEntry({ id: 'c1' });
  assert.throws(() => m.sendTones(entry, '1'), { code: 'invalidState' });
  const inserted = [];
  const dtmf = { canInsertDTMF: true, toneBuffer: '9', insertDTMF: (...args) => inserted.push(args) };
  entry.pc = { getSenders: () => [{ dtmf }] };
  m.sendTones(entry, '12');
  assert.deepEqual(inserted, [['912', DTMF_DURATION_MS, DTMF_GAP_MS]]);
  assert.equal(entry.tones, '12');
  m.sendTones(entry, '#'.repeat(MAX_TONES_SHOWN));
  assert.equal(entry.tones, '#'.repeat(MAX_TONES_SHOWN));
  dtmf.canInsertDTMF = false;
  assert.throws(() => m.sendTones(entry, '1'), { code: 'invalidState' });
});

// fakeCallPc is a connection with statistics that can be closed.
function fakeCallPc() {
  return {
    closed: false,
    close() { this.closed = true; },
    getStats: async () => new Map([['in', { type: 'inbound-rtp', kind: 'audio', packetsReceived: 10 }]]),
  };
}

test('a connected call\'s statistics are watched while it lasts and go out once more as it ends', async (t) => {
  const { m, heard } = media(t);
  const entry = newEntry({ id: 'c1' });
  const pc = fakeCallPc();
  entry.pc = pc;
  entry.stream = fakeStream();
  m.watchStats(entry);
  assert.equal(entry.statsTimer, 0, 'not connected yet');
  entry.connectedAt = 1;
  m.watchStats(entry);
  const timer = entry.statsTimer;
  assert.ok(timer, 'connected');
  m.watchStats(entry);
  assert.equal(entry.statsTimer, timer, 'one timer per call');

  const { stream } = entry;
  m.end(entry);
  assert.equal(pc.closed, false, 'the last statistics are read first');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(heard.stats.length, 1);
  assert.equal(heard.stats[0][0], 'c1');
  assert.equal(heard.stats[0][1].packetsReceived, 10);
  assert.equal(pc.closed, true);
  assert.equal(stream.track.stopped, true);
  assert.deepEqual([entry.pc, entry.stream, entry.remote], [null, null, null]);
  assert.equal(heard.changes, 1);
});

test('a call that never connected closes its media without statistics, its prepared answer too', (t) => {
  const { m, heard } = media(t);
  const entry = newEntry({ id: 'c1' });
  const prepared = fakeCallPc();
  entry.prepared = { pc: prepared };
  m.end(entry);
  assert.equal(prepared.closed, true);
  assert.equal(entry.prepared, null);
  assert.deepEqual(heard.stats, []);
  assert.equal(heard.changes, 1);
});

test('a ringing call prepares nothing while the dialer has a problem', (t) => {
  const { m } = media(t, { canPrepare: () => false });
  const entry = newEntry({ id: 'c1' });
  m.prepare(entry);
  assert.equal(entry.prepared, null);
});

test('a microphone picked during a call takes the place of the old one on the call\'s sender', async (t) => {
  const opened = [];
  const { m } = media(t, {
    microphone: {
      open: async () => {
        const stream = fakeStream();
        stream.track.kind = 'audio';
        opened.push(stream);
        return stream;
      },
      granted: () => true,
    },
  });
  const replaced = [];
  const old = fakeStream();
  old.track.kind = 'audio';
  const sender = { track: old.track, replaceTrack: async (track) => { replaced.push(track); sender.track = track; } };
  const entry = newEntry({ id: 'c1', isOnMute: true });
  entry.pc = { getSenders: () => [sender] };
  entry.stream = old;
  const ringing = newEntry({ id: 'c2' }); // no microphone open: nothing to replace
  await m.useMicrophone([entry, ringing]);
  assert.equal(opened.length, 1);
  assert.deepEqual(replaced, [opened[0].track]);
  assert.equal(entry.stream, opened[0]);
  assert.equal(old.track.stopped, true);
  assert.equal(opened[0].track.enabled, false, 'a muted call stays muted');

  // A sender that refuses the track keeps the old one.
  sender.replaceTrack = async () => { throw new Error('no'); };
  const before = entry.stream;
  await m.useMicrophone([entry]);
  assert.equal(entry.stream, before);
  assert.equal(opened[1].track.stopped, true);
});

test('a connected call\'s quality is graded at every reading, and every fifth goes to the host', async (t) => {
  const { m, heard } = media(t);
  t.mock.timers.enable({ apis: ['setInterval'] });
  const entry = newEntry({ id: 'c1' });
  let received = 0;
  entry.pc = {
    close() {},
    getStats: async () => {
      received += 100;
      return new Map([['in', { type: 'inbound-rtp', kind: 'audio', packetsReceived: received, packetsLost: received === 300 ? 50 : 0 }]]);
    },
  };
  entry.connectedAt = 1;
  m.watchStats(entry);
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  t.mock.timers.tick(QUALITY_INTERVAL_MS);
  await settle();
  assert.equal(entry.quality.level, 'good');
  assert.equal(heard.stats.length, 0);
  t.mock.timers.tick(QUALITY_INTERVAL_MS);
  await settle();
  t.mock.timers.tick(QUALITY_INTERVAL_MS);
  await settle();
  assert.equal(entry.quality.level, 'poor', 'half the packets since the last reading were lost');
  t.mock.timers.tick(QUALITY_INTERVAL_MS);
  await settle();
  assert.equal(entry.quality.level, 'good', 'no loss since');
  t.mock.timers.tick(QUALITY_INTERVAL_MS);
  await settle();
  assert.equal(heard.stats.length, 1);
  assert.equal(STATS_INTERVAL_MS / QUALITY_INTERVAL_MS, 5);
  assert.ok(heard.changes >= 5, 'the view hears of each reading');
  clearInterval(entry.statsTimer);
});

test('the call\'s quality is said in the widget\'s language, its measures written as the language writes numbers', (ctx) => {
  ctx.after(() => setCatalogue('en-US', catalogue('en')));
  const stats = { packetsLost: 57, packetsReceived: 943, jitterMs: 12, rttMs: 40 };
  assert.equal(qualityText(gradeQuality(stats)), 'Call quality: Poor (5.7% loss, 12 ms jitter, 40 ms round trip)');
  setCatalogue('fr-FR', catalogue('fr'));
  const fr = gradeQuality(stats);
  assert.equal(fr.label, 'Mauvaise');
  assert.equal(qualityText(fr), 'Qualité de l\'appel : Mauvaise (5,7 % de perte, gigue de 12 ms, aller-retour de 40 ms)');
});

// FakeRTCPeerConnection is enough of a connection for an offer: its
// candidates are gathered at once.
class FakeRTCPeerConnection extends EventTarget {
  static made = [];
  constructor() {
    super();
    this.closed = false;
    this.iceGatheringState = 'new';
    this.sender = { track: null, replaceTrack: async (track) => { this.sender.track = track; } };
    FakeRTCPeerConnection.made.push(this);
  }
  addTransceiver() { return { sender: this.sender }; }
  getSenders() { return [this.sender]; }
  async createOffer() { return { type: 'offer', sdp: `offer ${FakeRTCPeerConnection.made.indexOf(this)}` }; }
  async setLocalDescription(d) { this.localDescription = d; this.iceGatheringState = 'complete'; }
  close() { this.closed = true; }
}

test('a dial readied while the dialer is in use sends its offer at once, the microphone joining as it opens', async (t) => {
  FakeRTCPeerConnection.made = [];
  globalThis.RTCPeerConnection = FakeRTCPeerConnection;
  t.after(() => { delete globalThis.RTCPeerConnection; });
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let openMic;
  const { m } = media(t, {
    microphone: { open: () => new Promise((resolve) => { openMic = resolve; }), granted: () => true },
  });
  m.warmUp();
  m.warmUp(); // a second sign keeps the same one
  assert.equal(FakeRTCPeerConnection.made.length, 1);
  const [pc] = FakeRTCPeerConnection.made;

  const entry = newEntry({ id: '' });
  const { sdp, microphone } = await m.dialOffer(entry);
  assert.equal(sdp, 'offer 0', 'the readied offer, without waiting for the microphone');
  assert.equal(entry.pc, pc);
  assert.equal(pc.sender.track, null);
  const stream = fakeStream();
  openMic(stream);
  await microphone;
  assert.equal(pc.sender.track, stream.track, 'the microphone joined the connection');

  // The next dial has none ready: it makes its own.
  const next = newEntry({ id: '' });
  const second = m.dialOffer(next);
  openMic(fakeStream());
  assert.equal((await second).sdp, 'offer 1');

  // Unused, a readied dial is dropped after WARM_MS.
  m.warmUp();
  const idle = FakeRTCPeerConnection.made[2];
  t.mock.timers.tick(WARM_MS);
  assert.equal(idle.closed, true);
  assert.equal(pc.closed, false);
});

test('no dial is readied while the dialer has a problem, and one readied is dropped', (t) => {
  FakeRTCPeerConnection.made = [];
  globalThis.RTCPeerConnection = FakeRTCPeerConnection;
  t.after(() => { delete globalThis.RTCPeerConnection; });
  let problem = false;
  const { m } = media(t, { canPrepare: () => !problem });
  m.warmUp();
  assert.equal(FakeRTCPeerConnection.made.length, 1);
  problem = true;
  m.warmUp();
  assert.equal(FakeRTCPeerConnection.made[0].closed, true);
  m.warmUp();
  assert.equal(FakeRTCPeerConnection.made.length, 1);
});
