import { overallState } from './status-page.js';

describe('overall state of the status page', () => {
  it.each([
    [[], 'unknown'],
    [['UNKNOWN', 'UNKNOWN'], 'unknown'],
    [['UP', 'UP'], 'operational'],
    [['UP', 'UNKNOWN'], 'operational'],
    [['UP', 'DEGRADED'], 'degraded'],
    [['UP', 'DOWN', 'DEGRADED'], 'partial_outage'],
    [['DOWN', 'DOWN'], 'major_outage'],
    [['DOWN', 'UNKNOWN'], 'major_outage'],
  ] as const)('%j is %s', (states, expected) => {
    expect(overallState([...states])).toBe(expected);
  });
});
