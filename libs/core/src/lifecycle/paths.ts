import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The installation's root directory (the one holding prisma/, apps/ and, when
 * built, dist/), whether this code runs from dist/ or from the sources (tests).
 */
export function installRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const marker = `${path.sep}dist${path.sep}`;
  // Sources: libs/core/src/lifecycle → four levels up.
  return here.includes(marker) ? here.slice(0, here.lastIndexOf(marker)) : path.resolve(here, '..', '..', '..', '..');
}
