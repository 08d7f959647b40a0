import { waitFor } from '../../test/processes.js';
import { startStompTestApp, type StompTestApp } from '../../test/stomp-app.js';

/** `/health/ready` of the whole app, its LISTEN connection going through a proxy the test can cut. */
describe('readiness', () => {
  let server: StompTestApp;
  let url: string;

  beforeAll(async () => {
    server = await startStompTestApp();
    url = `${server.stompUrl.replace(/^ws/, 'http').replace(/\/stomp$/, '')}/health/ready`;
  });
  afterAll(() => server.close());

  const readiness = async () => {
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return { status: response.status, body: await response.json() };
  };

  it('is 503, naming the live feed, while the node hears no projected events; 200 once it listens again', async () => {
    await waitFor('readiness', async () => (await readiness()).status === 200);
    expect((await readiness()).body.checks).toEqual({ database: 'up', eventStore: 'up', liveFeed: 'up' });

    await server.listenProxy.cut();
    const down = await waitFor('the lost LISTEN connection reported', async () => {
      const answer = await readiness();
      return answer.status === 503 ? answer : undefined;
    });
    expect(down.body).toMatchObject({ status: 'unavailable', checks: { database: 'up', eventStore: 'up', liveFeed: 'down' } });

    await server.listenProxy.restore();
    const up = await waitFor('readiness again', async () => {
      const answer = await readiness();
      return answer.status === 200 ? answer : undefined;
    });
    expect(up.body).toMatchObject({ status: 'ready', checks: { liveFeed: 'up' } });
  });
});
