// The platform's JavaScript SDK (@ringcentral/sdk, as e2e/package.json
// pins it) against a real Callbridge server, given nothing but the server,
// the app's clientId and its redirect URI: sign-in with PKCE and no state,
// the resources integrations read first, pager messages, RingOut, active
// calls, refresh and logout; then a server app's JWT login with its secret.
//
// It talks to e2e/sdk_platform_test.go in JSON lines: it writes
// {"step": name, ...} on stdout; it reads {"redirect": url} on stdin after
// the loginUrl step.
import { createInterface } from 'node:readline';
import { SDK } from '@ringcentral/sdk';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const say = (step, fields = {}) => process.stdout.write(JSON.stringify({ step, ...fields }) + '\n');
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const readLine = async () => JSON.parse((await lines.next()).value);

// call reports a request's outcome: its status and its JSON, or the
// status and error code the server refused it with.
async function call(step, platform, method, path, body) {
  try {
    const response = await platform.send({ method, url: path, body });
    say(step, { status: response.status, body: response.status === 204 ? null : await response.json() });
  } catch (err) {
    const res = err.response;
    let payload = null;
    try { payload = res ? await res.clone().json() : null; } catch { /* not JSON */ }
    say(step, { status: res ? res.status : 0, error: err.message, body: payload });
  }
}

const server = env('CB_SERVER');
const sdk = new SDK({ server, clientId: env('CB_CLIENT_ID'), redirectUri: env('CB_REDIRECT_URI') });
const platform = sdk.platform();

// Sign-in: the SDK's own login URL, with PKCE and without state; the test
// signs in through it and hands back where the server redirected.
say('loginUrl', { url: platform.loginUrl({ usePKCE: true }) });
const { redirect } = await readLine();
const { code } = platform.parseLoginRedirect(new URL(redirect).search);
await platform.login({ code });
const auth = await platform.auth().data();
say('login', { ownerId: auth.owner_id, endpointId: auth.endpoint_id, refreshValid: await platform.auth().refreshTokenValid() });

await call('account', platform, 'GET', '/restapi/v1.0/account/~');
await call('extension', platform, 'GET', '/restapi/v1.0/account/~/extension/~');
await call('extensions', platform, 'GET', '/restapi/v1.0/account/~/extension');
await call('phoneNumbers', platform, 'GET', '/restapi/v1.0/account/~/extension/~/phone-number');
await call('callLog', platform, 'GET', '/restapi/v1.0/account/~/extension/~/call-log');
await call('presence', platform, 'GET', '/restapi/v1.0/account/~/extension/~/presence');
await call('pager', platform, 'POST', '/restapi/v1.0/account/~/extension/~/company-pager',
  { to: [{ extensionNumber: env('CB_PAGER_TO') }], text: 'Sent with the platform SDK' });
await call('messageStore', platform, 'GET', '/restapi/v1.0/account/~/extension/~/message-store');
// A RingOut from the tone line, which answers, to the ringing line, which
// rings until cancelled: once the from leg answered, the call is live.
const placed = await platform.post('/restapi/v1.0/account/~/extension/~/ring-out',
  { from: { phoneNumber: '+15550100' }, to: { phoneNumber: '+15550107' }, playPrompt: false });
const ringOut = (await placed.json()).id;
say('ringOut', { status: placed.status, id: ringOut });
for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
  const status = (await (await platform.get(`/restapi/v1.0/account/~/extension/~/ring-out/${ringOut}`)).json()).status;
  if (status.callerStatus !== 'InProgress') break;
  await new Promise((resolve) => setTimeout(resolve, 200));
}
await call('activeCalls', platform, 'GET', '/restapi/v1.0/account/~/extension/~/active-calls');
await call('ringOutStatus', platform, 'GET', `/restapi/v1.0/account/~/extension/~/ring-out/${ringOut}`);
await call('ringOutCancel', platform, 'DELETE', `/restapi/v1.0/account/~/extension/~/ring-out/${ringOut}`);

const before = (await platform.auth().data()).access_token;
await platform.refresh();
const after = await platform.auth().data();
say('refresh', { changed: after.access_token !== before, endpointId: after.endpoint_id });
await call('afterRefresh', platform, 'GET', '/restapi/v1.0/account/~/extension/~');
const old = after.access_token;
await platform.logout();
say('logout', { loggedIn: await platform.loggedIn() });
// The token the SDK dropped no longer works on the server either.
const revoked = await fetch(`${server}/restapi/v1.0/account/~/extension/~`, { headers: { Authorization: `Bearer ${old}` } });
say('afterLogout', { status: revoked.status });

// A server app: its secret, and a user's JWT credential.
const backend = new SDK({ server, clientId: env('CB_JWT_CLIENT_ID'), clientSecret: env('CB_JWT_CLIENT_SECRET') }).platform();
try {
  await backend.login({ jwt: env('CB_JWT') });
  await call('jwtExtension', backend, 'GET', '/restapi/v1.0/account/~/extension/~');
} catch (err) {
  say('jwtExtension', { status: err.response ? err.response.status : 0, error: err.message });
}
const wrong = new SDK({ server, clientId: env('CB_JWT_CLIENT_ID'), clientSecret: 'not-the-secret' }).platform();
try {
  await wrong.login({ jwt: env('CB_JWT') });
  say('jwtWrongSecret', { status: 200 });
} catch (err) {
  say('jwtWrongSecret', { status: err.response ? err.response.status : 0 });
}
say('done');
process.exit(0);
