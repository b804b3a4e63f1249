/** The agent's version, as it reports it (User-Agent, status). Kept equal to package.json's by a unit test. */
export const AGENT_VERSION = '0.1.0';
