import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** Swagger UI at /api/docs and the OpenAPI 3 document at /api/docs-json, generated from the code. */
export function setupOpenApi(app: NestFastifyApplication): void {
  const doc = new DocumentBuilder()
    .setTitle('Ninefold API')
    .setDescription(
      'Public API contract v1 of Ninefold. Every /api/v1 call needs `Authorization: Bearer <api key>`. ' +
        'Roles, each including the ones before it: agent, viewer, operator, admin. Errors are JSON ' +
        '`{ statusCode, error, message }`; lists take `?limit=&cursor=` and return `{ items, nextCursor }`.',
    )
    .setVersion('1')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key (nf_…)' })
    .build();
  const document = SwaggerModule.createDocument(app, doc);
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json', yamlDocumentUrl: 'api/docs-yaml' });
}
