// The audio of this tab's calls: one RTCPeerConnection per call to the
// server's media gateway, its ICE gathering, its statistics, the call's
// quality graded from them, and its microphone track (replaced when the
// user picks another microphone during the call).
//
// The tab always makes the offer, with its candidates in it (no trickle):
// the answer request of an inbound call carries one too. A ringing call has
// its connection and offer prepared while it rings, without the microphone,
// so that answering only sends the offer; the next dial has one readied the
// same way while the dialer is in use, and its microphone opens alongside
// the request. The media fields of a call entry
// (pc, stream, remote, prepared, statsTimer, statsTicks, lastStats, quality)
// are this module's.

import { phoneError } from './calls.js';
import { t } from './i18n.js';

const LOG_PREFIX = '[callbridge]';
const warn = (...args) => console.warn(LOG_PREFIX, ...args);

// The offer goes out with its candidates in it (no trickle): gathering gets
// this long, then the offer goes with what was found.
export const ICE_GATHERING_TIMEOUT_MS = 2_000;
export const STATS_INTERVAL_MS = 10_000;
// The call's quality is read this often; every STATS_INTERVAL_MS the
// statistics also go to the host.
export const QUALITY_INTERVAL_MS = 2_000;
export const DTMF_DURATION_MS = 100;
export const DTMF_GAP_MS = 70;
// The in-call keypad shows this many of the last tones sent.
export const MAX_TONES_SHOWN = 24;
// A dial readied while the user is about to place one is kept this long
// after the last sign of it.
export const WARM_MS = 60_000;

// iceGathered resolves once pc has gathered its candidates, or after timeoutMs.
export function iceGathered(pc, timeoutMs) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

// makeOffer sets pc's offer and resolves to its SDP, candidates included.
export async function makeOffer(pc) {
  await pc.setLocalDescription(await pc.createOffer());
  await iceGathered(pc, ICE_GATHERING_TIMEOUT_MS);
  return pc.localDescription.sdp;
}

// estimateMos rates a call's audio from 1 (bad) to 4.5 (excellent) with the
// simplified E-model commonly used for VoIP monitoring (after ITU-T G.107):
//   effective latency  Le = rtt/2 + 2·jitter + 10 ms (codec)
//   R = 93.2 − Le/40               when Le < 160 ms
//   R = 93.2 − (Le − 120)/10       otherwise
//   R = R − 2.5·lossPct            (lossPct: packets lost, in percent)
//   MOS = 1 + 0.035·R + 7·10⁻⁶·R·(R − 60)·(100 − R) with R held to 0–100,
//   clamped to 1–4.5
export function estimateMos({ rttMs, jitterMs, packetsLost, packetsReceived }) {
  const latency = rttMs / 2 + 2 * jitterMs + 10;
  const expected = packetsLost + packetsReceived;
  const lossPct = expected > 0 ? (100 * Math.max(0, packetsLost)) / expected : 0;
  const delayed = latency < 160 ? 93.2 - latency / 40 : 93.2 - (latency - 120) / 10;
  const r = Math.min(100, Math.max(0, delayed - 2.5 * lossPct));
  const mos = 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r);
  return Math.round(Math.min(4.5, Math.max(1, mos)) * 100) / 100;
}

// summarizeStats sums up the audio of an RTCStatsReport (anything with
// forEach over its stats) as the stats of rc-call-stats-notify.
export function summarizeStats(report) {
  const stats = { rttMs: 0, jitterMs: 0, packetsLost: 0, packetsReceived: 0, bytesSent: 0, bytesReceived: 0, mos: 1 };
  report.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'audio') {
      stats.packetsLost += s.packetsLost ?? 0;
      stats.packetsReceived += s.packetsReceived ?? 0;
      stats.bytesReceived += s.bytesReceived ?? 0;
      stats.jitterMs = Math.max(stats.jitterMs, (s.jitter ?? 0) * 1000);
    } else if (s.type === 'outbound-rtp' && s.kind === 'audio') {
      stats.bytesSent += s.bytesSent ?? 0;
    } else if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded' && Number.isFinite(s.currentRoundTripTime)) {
      stats.rttMs = s.currentRoundTripTime * 1000;
    }
  });
  stats.rttMs = Math.round(stats.rttMs);
  stats.jitterMs = Math.round(stats.jitterMs);
  stats.mos = estimateMos(stats);
  return stats;
}

// The limits of good and fair audio: packets lost since the last reading
// (percent), jitter and round-trip time (ms). Past any fair limit the call
// is poor; each measure grades on its own and the worst one counts.
export const QUALITY_LIMITS = Object.freeze({
  good: Object.freeze({ lossPct: 1, jitterMs: 30, rttMs: 250 }),
  fair: Object.freeze({ lossPct: 5, jitterMs: 60, rttMs: 500 }),
});
// The word for each grade, by message key.
export const QUALITY_LABELS = Object.freeze({ good: 'call.qualityGood', fair: 'call.qualityFair', poor: 'call.qualityPoor' });

// gradeQuality grades a call's audio from stats (summarizeStats) and the
// reading before it (null for the first): {level: good|fair|poor, label,
// lossPct, jitterMs, rttMs}. The packets lost count since the reading
// before, so that an early loss does not mark the whole call.
export function gradeQuality(stats, before = null) {
  const since = before && stats.packetsReceived >= before.packetsReceived ? before : { packetsLost: 0, packetsReceived: 0 };
  const lost = Math.max(0, stats.packetsLost - since.packetsLost);
  const received = Math.max(0, stats.packetsReceived - since.packetsReceived);
  const lossPct = lost + received > 0 ? Math.round((1000 * lost) / (lost + received)) / 10 : 0;
  const measures = { lossPct, jitterMs: stats.jitterMs, rttMs: stats.rttMs };
  const within = (limits) => Object.entries(limits).every(([key, limit]) => !(measures[key] > limit));
  let level = 'poor';
  if (within(QUALITY_LIMITS.good)) level = 'good';
  else if (within(QUALITY_LIMITS.fair)) level = 'fair';
  return { level, label: t(QUALITY_LABELS[level]), ...measures };
}

// qualityText says a call's quality for people: the level and its measures.
export function qualityText(quality) {
  return t('call.qualityText', { label: quality.label, loss: quality.lossPct, jitter: quality.jitterMs, rtt: quality.rttMs });
}

// readStats sums up a call's audio statistics (rc-call-stats-notify).
export async function readStats(pc) {
  return summarizeStats(await pc.getStats());
}

const stopTracks = (stream) => stream.getTracks().forEach((track) => track.stop());

// createMedia gives calls their audio.
//   iceServers: the ICE servers of every connection
//   microphone: the microphone (microphone.js)
//   canPrepare: canPrepare() says whether a ringing call may prepare its
//               answer now (the dialer has no problem)
//   onChange:   onChange() hears that a call's media changed (a track came,
//               the media closed)
//   onFailed:   onFailed(entry) hears that the call's connection failed
//   onTone:     onTone(entry, tone) hears of each DTMF tone played
//   onStats:    onStats(entry, stats) receives the call's statistics
//               every STATS_INTERVAL_MS (its quality in between: onChange)
export function createMedia({ iceServers, microphone, canPrepare, onChange, onFailed, onTone, onStats }) {
  // open gives a call its microphone and its RTCPeerConnection.
  async function open(entry) {
    const stream = await microphone.open();
    if (entry.done) {
      stopTracks(stream);
      throw phoneError('cancelled', 'The call ended.');
    }
    const pc = new RTCPeerConnection({ iceServers });
    stream.getAudioTracks().forEach((track) => pc.addTrack(track, stream));
    use(entry, pc);
    entry.stream = stream;
    applyMute(entry);
  }

  // use makes pc the call's connection and listens to it.
  function use(entry, pc) {
    entry.pc = pc;
    pc.addEventListener('track', (event) => {
      entry.remote = event.streams[0] ?? new MediaStream([event.track]);
      onChange();
    });
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState !== 'failed' || entry.pc !== pc) return;
      onFailed(entry);
    });
    pc.getSenders()[0]?.dtmf?.addEventListener('tonechange', (event) => {
      if (event.tone) onTone(entry, event.tone);
    });
  }

  // newPrepared makes a connection with an audio transceiver and starts its
  // offer (candidates gathered) without the microphone: { pc, sender, sdp },
  // sdp a promise; null where the browser cannot.
  function newPrepared() {
    if (!canPrepare() || typeof RTCPeerConnection !== 'function') return null;
    try {
      const pc = new RTCPeerConnection({ iceServers });
      const { sender } = pc.addTransceiver('audio', { direction: 'sendrecv' });
      const sdp = makeOffer(pc);
      sdp.catch(() => {}); // its user falls back to a fresh offer
      return { pc, sender, sdp };
    } catch (err) {
      warn(`could not prepare a call's audio: ${err.message}`);
      return null;
    }
  }

  // prepare readies the answer of a call while it rings: its connection and
  // its offer, with candidates gathered, so that answering only sends it.
  // The microphone stays closed until the user answers (nothing is captured
  // for a call that only rings); its track then joins the prepared
  // connection without a new offer.
  function prepare(entry) {
    if (!entry.prepared) entry.prepared = newPrepared();
  }

  function dropPrepared(entry) {
    entry.prepared?.pc.close();
    entry.prepared = null;
  }

  // warmUp readies the next dial the same way while the user is about to
  // place one (the dialer shows, a number is typed): a connection and its
  // offer, kept for WARM_MS after the last sign, so that dialling sends its
  // request at once. coolDown drops it.
  let warm = null;
  function warmUp() {
    if (!canPrepare()) {
      coolDown();
      return;
    }
    warm ??= newPrepared();
    if (!warm) return;
    clearTimeout(warm.timer);
    warm.timer = setTimeout(coolDown, WARM_MS);
  }

  function coolDown() {
    if (!warm) return;
    clearTimeout(warm.timer);
    warm.pc.close();
    warm = null;
  }

  // offer opens a call's media with its microphone and resolves to its
  // offer (a call moved here from another device).
  async function offer(entry) {
    await open(entry);
    return makeOffer(entry.pc);
  }

  // reoffer gives a call a new connection and offer in place of its old
  // one, which closes: the server moved the call's audio to another of its
  // nodes.
  async function reoffer(entry) {
    const old = { pc: entry.pc, stream: entry.stream };
    await open(entry);
    old.pc?.close();
    if (old.stream) stopTracks(old.stream);
    return makeOffer(entry.pc);
  }

  // dialOffer gives a call being dialled its connection and offer: the warm
  // ones, or new ones, with the microphone joining when it opens (see
  // offerWith).
  function dialOffer(entry) {
    const prepared = warm ?? newPrepared();
    if (warm) clearTimeout(warm.timer);
    warm = null;
    return offerWith(entry, prepared);
  }

  // answerOffer gives an answering call its connection and offer: the ones
  // prepared while it rang, or new ones (see offerWith).
  function answerOffer(entry) {
    const { prepared } = entry;
    entry.prepared = null;
    return offerWith(entry, prepared && canPrepare() ? prepared : (prepared?.pc.close(), null));
  }

  // offerWith resolves to { sdp, microphone } for a call: prepared's offer,
  // with the microphone joining its connection when it opens (the returned
  // microphone promise; awaited here where the permission is not granted
  // yet, so that a refusal sends nothing), or, without a prepared offer or
  // when it failed, a new connection made with the microphone.
  async function offerWith(entry, prepared) {
    let sdp = null;
    if (prepared) {
      sdp = await prepared.sdp.catch((err) => {
        warn(`the prepared offer failed, making a new one: ${err.message}`);
        return null;
      });
    }
    if (entry.done) {
      prepared?.pc.close();
      throw phoneError('cancelled', 'The call ended.');
    }
    if (!sdp) {
      prepared?.pc.close();
      await open(entry);
      return { sdp: await makeOffer(entry.pc), microphone: null };
    }
    use(entry, prepared.pc);
    const opened = microphone.open().then(async (stream) => {
      if (entry.pc !== prepared.pc) {
        stopTracks(stream);
        return;
      }
      entry.stream = stream;
      applyMute(entry);
      await prepared.sender.replaceTrack(stream.getAudioTracks()[0] ?? null);
    });
    if (!microphone.granted()) {
      await opened;
      return { sdp, microphone: null };
    }
    opened.catch(() => {}); // awaited once the call is answered
    return { sdp, microphone: opened };
  }

  // accept applies the server's answer to the call's offer.
  const accept = (entry, sdp) => entry.pc.setRemoteDescription({ type: 'answer', sdp });

  // close ends a call's media: its prepared answer, connection and microphone.
  function close(entry) {
    dropPrepared(entry);
    entry.pc?.close();
    if (entry.stream) stopTracks(entry.stream);
    entry.pc = null;
    entry.stream = null;
    entry.remote = null;
    onChange();
  }

  // applyMute keeps the microphone's track off while the call is muted.
  function applyMute(entry) {
    entry.stream?.getAudioTracks().forEach((track) => {
      track.enabled = entry.call.isOnMute !== true;
    });
  }

  // muteNow turns the microphone off at once, before the server confirms.
  function muteNow(entry) {
    entry.stream?.getAudioTracks().forEach((track) => {
      track.enabled = false;
    });
  }

  async function report(entry, pc) {
    try {
      onStats(entry, await readStats(pc));
    } catch (err) {
      warn(`could not read the call's statistics: ${err.message}`);
    }
  }

  // measure grades the call's quality from a new reading, and every
  // STATS_INTERVAL_MS sends the reading on.
  async function measure(entry, pc) {
    entry.statsTicks = (entry.statsTicks ?? 0) + 1;
    const post = entry.statsTicks % Math.round(STATS_INTERVAL_MS / QUALITY_INTERVAL_MS) === 0;
    let stats;
    try {
      stats = await readStats(pc);
    } catch (err) {
      warn(`could not read the call's statistics: ${err.message}`);
      return;
    }
    if (entry.pc !== pc) return;
    entry.quality = gradeQuality(stats, entry.lastStats ?? null);
    entry.lastStats = stats;
    onChange();
    if (post) onStats(entry, stats);
  }

  // watchStats grades a connected call's quality every QUALITY_INTERVAL_MS
  // and reports its statistics every STATS_INTERVAL_MS.
  function watchStats(entry) {
    if (!entry.connectedAt || !entry.pc || entry.statsTimer) return;
    entry.statsTimer = setInterval(() => {
      if (entry.pc) measure(entry, entry.pc);
    }, QUALITY_INTERVAL_MS);
  }

  // useMicrophone opens the microphone the user picked now for each call
  // of entries that has one open, and puts its track in place of the old
  // one without a new offer.
  async function useMicrophone(entries) {
    for (const entry of entries) {
      const { pc } = entry;
      if (!pc || !entry.stream || entry.done) continue;
      const sender = pc.getSenders().find((s) => s.track?.kind === 'audio') ?? pc.getSenders()[0];
      if (!sender) continue;
      let stream;
      try {
        stream = await microphone.open();
      } catch (err) {
        warn(`could not switch the call's microphone: ${err.message}`);
        continue;
      }
      if (entry.pc !== pc || entry.done) {
        stopTracks(stream);
        continue;
      }
      const old = entry.stream;
      entry.stream = stream;
      applyMute(entry);
      try {
        await sender.replaceTrack(stream.getAudioTracks()[0] ?? null);
        stopTracks(old);
      } catch (err) {
        warn(`could not switch the call's microphone: ${err.message}`);
        entry.stream = old;
        stopTracks(stream);
      }
    }
  }

  // end closes the media of a call that ended, after its statistics went
  // out a last time if it connected.
  function end(entry) {
    clearInterval(entry.statsTimer);
    const { pc } = entry;
    if (pc && entry.connectedAt) report(entry, pc).finally(() => close(entry));
    else close(entry);
  }

  // sendTones plays DTMF tones on the call and keeps the last ones for the keypad.
  function sendTones(entry, tones) {
    const dtmf = entry.pc?.getSenders()[0]?.dtmf;
    if (!dtmf?.canInsertDTMF) {
      throw phoneError('invalidState', 'This call cannot send tones right now.', t('call.noTones'));
    }
    dtmf.insertDTMF(dtmf.toneBuffer + tones, DTMF_DURATION_MS, DTMF_GAP_MS);
    entry.tones = (entry.tones + tones).slice(-MAX_TONES_SHOWN);
  }

  return {
    prepare, dropPrepared, warmUp, coolDown, offer, reoffer, dialOffer, answerOffer, accept, close, applyMute, muteNow, watchStats, end, sendTones, useMicrophone,
  };
}
