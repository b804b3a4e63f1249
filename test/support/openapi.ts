import { spawnSync } from 'node:child_process';

/**
 * Validates an OpenAPI document against the specification with
 * @apidevtools/swagger-parser. It runs in a plain Node process: the library
 * require()s an ES module, which Node allows and Jest's module runtime does not.
 * Resolves to null when valid, else the validator's message.
 */
export function openApiProblems(doc: unknown): string | null {
  const script = `
    import SwaggerParser from '@apidevtools/swagger-parser';
    let input = '';
    for await (const chunk of process.stdin) input += chunk;
    try { await SwaggerParser.validate(JSON.parse(input)); }
    catch (err) { process.stdout.write(err.message); process.exitCode = 1; }
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { input: JSON.stringify(doc), encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  return r.status === 0 ? null : r.stdout || r.stderr || `validator exited ${r.status}`;
}
