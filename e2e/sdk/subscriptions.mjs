// WebSocket subscriptions through the platform's own npm packages,
// @ringcentral/sdk and @ringcentral/subscriptions, against a running server.
//
//   CALLBRIDGE_SERVER=http://localhost:PORT CALLBRIDGE_TOKEN='{"access_token": …}' \
//   CALLBRIDGE_FILTERS='["/restapi/v1.0/account/~/extension/~/presence", …]' node sdk/subscriptions.mjs
//
// It subscribes and then prints one JSON object per line on stdout:
//   {"event": "subscribed", "subscription": {…}}
//   {"event": "notification", "notification": {…}}      for every notification
//   {"event": "dropped"}                                   after "drop"
//   {"event": "recovered", "recoveryState": "Successful"} once the socket is back
//   {"event": "renewed", "subscription": {…}}             after "renew"
//   {"event": "revoked"}                                   after "exit", then it exits
//   {"event": "error", "message": "…"}                     and it exits 1
// and takes one command per line on stdin:
//   drop     close the socket and stay away until "recover"
//   recover  let the SDK reconnect: it recovers the session with its wsc token
//   renew    update the subscription as the SDK does (PUT /subscription/{id}),
//            then renew it (POST /subscription/{id}/renew), both over the socket
//   exit     delete the subscription and exit
import { createInterface } from 'node:readline';
import { SDK } from '@ringcentral/sdk';
import { Subscriptions } from '@ringcentral/subscriptions';

const print = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const fail = (err) => {
  print({ event: 'error', message: String(err && err.stack ? err.stack : err) });
  process.exit(1);
};
process.on('unhandledRejection', fail);
process.on('uncaughtException', fail);

const server = process.env.CALLBRIDGE_SERVER;
const token = JSON.parse(process.env.CALLBRIDGE_TOKEN || 'null');
const filters = JSON.parse(process.env.CALLBRIDGE_FILTERS || '["/restapi/v1.0/account/~/extension/~/presence"]');
if (!server || !token) {
  fail('set CALLBRIDGE_SERVER and CALLBRIDGE_TOKEN');
}

const sdk = new SDK({ server, clientId: 'demo' });
await sdk.platform().auth().setData(token);

const subscriptions = new Subscriptions({ sdk });
const subscription = subscriptions.createSubscription();
subscription.setEventFilters(filters);
subscription.on(subscription.events.notification, (notification) => print({ event: 'notification', notification }));
const ws = await subscription.register(); // the socket's subscription: ws.wse is its socket
const wse = ws.wse;
print({ event: 'subscribed', subscription: ws.subscriptionInfo });

for (const name of ['autoRecoverSuccess', 'autoRecoverFailed']) {
  wse.eventEmitter.on(name, () => print({ event: 'recovered', recoveryState: wse.connectionDetails.recoveryState }));
}
wse.eventEmitter.on('autoRecoverError', (err) => print({ event: 'recoverError', message: String(err) }));

const commands = {
  async drop() {
    wse.options.autoRecover.enabled = false; // the SDK stays away until "recover"
    const closed = new Promise((resolve) => wse.ws.addEventListener('close', resolve));
    wse.ws.close();
    await closed;
    print({ event: 'dropped' });
  },
  async recover() {
    wse.options.autoRecover.enabled = true; // its next check reconnects with wsc
  },
  async renew() {
    await ws.refresh(); // the SDK's own update: PUT /subscription/{id}
    const r = await wse.request('POST', `/restapi/v1.0/subscription/${ws.subscriptionInfo.id}/renew`);
    ws.subscriptionInfo = r.data;
    print({ event: 'renewed', subscription: ws.subscriptionInfo });
  },
  async exit() {
    await wse.revoke();
    print({ event: 'revoked' });
    process.exit(0);
  },
};

const lines = createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on('line', (line) => {
  const command = commands[line.trim()];
  if (!command) {
    fail(`unknown command ${JSON.stringify(line)}`);
    return;
  }
  queue = queue.then(command).catch(fail);
});
lines.on('close', () => queue.then(() => process.exit(0)));
