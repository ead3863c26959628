/** Writes the endpoint table of README.md from the route table (src/dify/endpoint-table.ts). */
import { readFileSync, writeFileSync } from 'node:fs';
import { withEndpointTable } from '../src/dify/endpoint-table.js';

const file = new URL('../README.md', import.meta.url);
writeFileSync(file, withEndpointTable(readFileSync(file, 'utf8')));
console.log('README.md: endpoint table written');
