/**
 * Jest setup (every test file). Node 20.19+ lets a CommonJS package `require()` an ES module, and
 * @nestjs/throttler (CommonJS) requires @nestjs/common and @nestjs/core (ESM only since Nest 12):
 * production runs it natively. Jest's own module loader cannot do that before Node 24.9, so here
 * the ESM namespaces are handed to CommonJS `require` calls: the same module instances that the
 * test's own `import`s get, as under Node.
 */
import { jest } from '@jest/globals';
import * as common from '@nestjs/common';
import * as core from '@nestjs/core';

jest.mock('@nestjs/common', () => common);
jest.mock('@nestjs/core', () => core);
