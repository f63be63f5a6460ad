// Tests of what the RingOut bar says (ringout.js) in the widget's
// languages, under `node --test`; its phases are tested with the settings
// (settings.test.js).
import { catalogue } from './english.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { setCatalogue } from '../static/i18n.js';
import { barText, endedText, statusPhase } from '../static/ringout.js';

test('the RingOut bar speaks the widget\'s language, with or without the number dialled', (ctx) => {
  ctx.after(() => setCatalogue('en-US', catalogue('en')));
  const shown = (n) => (n ? `<${n}>` : '');
  const ringout = { id: 'r1', from: '+16505550100', to: '+16505550199', phase: 'caller', ended: false, text: '' };
  const says = () => [
    barText({ ...ringout, id: '' }, shown),
    barText(ringout, shown),
    barText({ ...ringout, phase: 'callee', to: '' }, shown),
    barText({ ...ringout, phase: 'connected', to: '' }, shown),
    statusPhase({ callStatus: 'CannotReach', callerStatus: 'Success', calleeStatus: 'CannotReach' }).ended,
    endedText({ phase: 'callee' }),
  ];
  setCatalogue('fr-FR', catalogue('fr'));
  assert.deepEqual(says(), [
    'RingOut vers <+16505550199>…',
    'RingOut : votre téléphone <+16505550100> sonne…',
    'RingOut : appel vers le numéro…',
    'RingOut connecté avec le numéro',
    'Numéro injoignable',
    'RingOut terminé avant la connexion',
  ]);
  setCatalogue('de', catalogue('de'));
  assert.deepEqual(says(), [
    'RingOut an <+16505550199>…',
    'RingOut: Ihr Telefon <+16505550100> klingelt…',
    'RingOut: Zielnummer wird angerufen…',
    'RingOut verbunden mit Zielnummer',
    'Nummer nicht erreichbar',
    'RingOut vor dem Verbinden beendet',
  ]);
  setCatalogue('es-ES', catalogue('es'));
  assert.deepEqual(says(), [
    'RingOut hacia <+16505550199>…',
    'RingOut: llamando a su teléfono <+16505550100>…',
    'RingOut: marcando el número…',
    'RingOut conectado con el número',
    'Número no localizable',
    'RingOut finalizado antes de conectar',
  ]);
});
