import { HttpClient } from '../../../../test/support/http.js';
import { type Stack, startStack } from '../../../../test/support/stack.js';

/** The availability calculators: the nines table and composition, as a script calls them. */
describe('availability calculators (e2e)', () => {
  let stack: Stack;
  let viewer: HttpClient;

  beforeAll(async () => {
    stack = await startStack({ workers: 0 });
    ({ http: viewer } = await stack.client('viewer'));
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('gives the allowed downtime of a percentage or a count of nines', async () => {
    const byPercent = await viewer.get('/api/v1/availability/nines?percent=99.9');
    expect(byPercent.status).toBe(200);
    expect(byPercent.body).toMatchObject({ availability: 0.999, percent: 99.9, nines: 3 });
    const d = byPercent.body.allowedDowntimeSeconds;
    expect(d.year / 3600).toBeCloseTo(8.77, 2);
    expect(d.month / 60).toBeCloseTo(43.8, 1);
    expect(d.week / 60).toBeCloseTo(10.1, 1);
    const five = await viewer.get('/api/v1/availability/nines?nines=5');
    expect(five.body.percent).toBe(99.999);
    expect(five.body.allowedDowntimeSeconds.year / 60).toBeCloseTo(5.26, 2);
  });

  it('says what is wrong with a nines question', async () => {
    for (const [query, message] of [
      ['', 'give either percent (e.g. 99.95) or nines (e.g. 3), not both and not neither'],
      ['?percent=99.9&nines=3', 'give either percent (e.g. 99.95) or nines (e.g. 3), not both and not neither'],
      ['?percent=101', 'percent must be a number from 0 to 100'],
      ['?percent=lots', 'percent must be a number from 0 to 100'],
      ['?nines=-1', 'nines must be a number from 0 to 12'],
    ]) {
      const res = await viewer.get(`/api/v1/availability/nines${query}`);
      expect(res.status).toBe(400);
      expect(res.body.message).toContain(message);
    }
    expect((await new HttpClient(stack.api.url).get('/api/v1/availability/nines?nines=3')).status).toBe(401);
  });

  it('composes availability in sequence and in parallel', async () => {
    const sequence = await viewer.post('/api/v1/availability/compose', { groups: [[0.999], [0.999]] });
    expect(sequence.status).toBe(200);
    expect(sequence.body.availability).toBeCloseTo(0.998001, 9);
    expect(sequence.body.percent).toBeCloseTo(99.8, 1);
    const parallel = await viewer.post('/api/v1/availability/compose', { groups: [[0.999, 0.999]] });
    expect(parallel.body.availability).toBeCloseTo(0.999999, 9);
    expect(parallel.body.nines).toBeCloseTo(6, 6);
    expect(parallel.body.allowedDowntimeSeconds.year).toBeCloseTo(31.5576, 3);
  });

  it('names each bad member of a composition', async () => {
    const res = await viewer.post('/api/v1/availability/compose', { groups: [[0.999, 99.9], [], ['0.5']] });
    expect(res.status).toBe(400);
    expect(res.body.message).toEqual(['groups[0][1] must be a fraction from 0 to 1 (99.9 % is 0.999)', 'groups[1] must be a list of 1 to 100 availabilities', 'groups[2][0] must be a fraction from 0 to 1 (99.9 % is 0.999)']);
    for (const body of [{}, { groups: [] }, { groups: 'all' }]) {
      const bad = await viewer.post('/api/v1/availability/compose', body);
      expect(bad.status).toBe(400);
      expect(bad.body.message[0]).toMatch(/^groups must be a list/);
    }
    expect((await viewer.post('/api/v1/availability/compose', { groups: [[0.9]], extra: 1 })).status).toBe(400);
  });
});
