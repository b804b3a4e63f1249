import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

/** Swagger UI at /api/docs and the OpenAPI 3 document at /api/docs-json, generated from the code. */
export function setupOpenApi(app: NestFastifyApplication): void {
  const doc = new DocumentBuilder()
    .setTitle('Ninefold API')
    .setDescription(
      'Public API contract v1.1 of Ninefold. Every /api/v1 call needs `Authorization: Bearer <api key>`. ' +
        'Roles (v1.1), which do not include one another: `agent` does what agents and probers do (heartbeats, ' +
        'registration, probe tasks, recovery points, discovery); `viewer` reads everything and changes nothing; ' +
        '`operator` is a viewer that acts (maintenance windows, deregistering instances); `admin` does everything. ' +
        'Each operation lists the roles that may call it under "Roles:" and in `x-ninefold-roles`; any other key gets 403. ' +
        'Errors are JSON `{ statusCode, error, message }`; lists take `?limit=&cursor=` and return `{ items, nextCursor }`.',
    )
    .setVersion('1.1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key (nf_…)' })
    .build();
  const document = describeRoles(SwaggerModule.createDocument(app, doc));
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json', yamlDocumentUrl: 'api/docs-yaml' });
}

/** Writes each operation's `x-ninefold-roles` (from `@Access`) into its description too, where Swagger UI shows it. */
function describeRoles(document: OpenAPIObject): OpenAPIObject {
  for (const item of Object.values(document.paths)) {
    for (const op of Object.values(item) as { description?: string; 'x-ninefold-access'?: string; 'x-ninefold-roles'?: string[] }[]) {
      const roles = op?.['x-ninefold-roles'];
      if (!Array.isArray(roles)) continue;
      const line = op['x-ninefold-access'] === 'public' ? 'Roles: none needed (public).' : `Roles: ${roles.join(', ')}.`;
      op.description = op.description ? `${op.description}\n\n${line}` : line;
    }
  }
  return document;
}
