// Run by jest's global setup in a child process (tsx), because jest loads its global setup as
// CommonJS, where this ESM helper (import.meta, .js specifiers) cannot be required.
import { preparePgliteTemplate } from './database.js';

await preparePgliteTemplate();
