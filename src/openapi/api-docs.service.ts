import { Injectable } from '@nestjs/common';
import type { OpenAPIObject } from '@nestjs/swagger';

/**
 * Holds the OpenAPI document. Bootstrap publishes a factory (the document is built from the
 * running application's controllers); it runs at the first read, so boot does not pay for it.
 */
@Injectable()
export class ApiDocsService {
  private factory?: () => OpenAPIObject;
  private built?: OpenAPIObject;

  publish(factory: () => OpenAPIObject): void {
    this.factory = factory;
    this.built = undefined;
  }

  document(): OpenAPIObject | undefined {
    this.built ??= this.factory?.();
    return this.built;
  }
}
