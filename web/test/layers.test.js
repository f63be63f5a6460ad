// Tests of the layers of the widget's views (layers.js): what each covers, and
// which is on top, under `node --test`.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { LAYERS, coveredBy, topLayer } from '../static/layers.js';

test('a shown layer covers what lies under it, the pages always', () => {
  assert.deepEqual(coveredBy(new Set()), new Set());
  const call = coveredBy(new Set(['#cb-active-call']));
  assert.ok(call.has('.pages') && call.has('#cb-call-bar'));
  assert.ok(!call.has('#cb-tabs'), 'the tabs stay in reach beside a call');
  const ringing = coveredBy(new Set(['#cb-active-call', '#cb-incoming']));
  assert.ok(ringing.has('#cb-active-call') && ringing.has('.pages'));
  const transfer = coveredBy(new Set(['#cb-active-call', '#cb-transfer']));
  assert.ok(transfer.has('#cb-active-call') && transfer.has('#cb-tabs') && transfer.has('.topbar'));
});

test('no layer covers itself or one above it', () => {
  LAYERS.forEach((layer, i) => {
    assert.ok(!layer.covers.includes(layer.selector), layer.selector);
    for (const above of LAYERS.slice(0, i)) assert.ok(!layer.covers.includes(above.selector), `${layer.selector} covers ${above.selector}`);
  });
});

test('the top layer is the highest one shown', () => {
  assert.equal(topLayer(new Set()), null);
  assert.equal(topLayer(new Set(['#cb-active-call'])).focus, '#cb-call-name');
  assert.equal(topLayer(new Set(['#cb-active-call', '#cb-incoming'])).focus, '#cb-answer');
  assert.equal(topLayer(new Set(['#cb-incoming', '#cb-transfer'])).selector, '#cb-transfer');
});
