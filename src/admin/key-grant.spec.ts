import { describe, expect, it } from '@jest/globals';
import { missingFromGrant, requireGrantable, requireNamespaceGrantable } from './key-grant.js';

const DS = '0b6f1c52-2a39-4a53-9d0e-0e2f8d6b7a11';
const actor = { scopes: ['admin', 'chat'] as never[], apps: ['default'], datasets: [DS], namespace: 'ops' };

describe('key grants (Vault rule)', () => {
  it('allows what the actor holds, in any letter case for datasets', () => {
    expect(missingFromGrant(actor, { scopes: ['chat'], apps: ['default'], datasets: [DS.toUpperCase()] })).toEqual([]);
    expect(missingFromGrant(actor, {})).toEqual([]);
  });

  it('names every scope, app and dataset not held; unknown scopes are left to validation', () => {
    expect(missingFromGrant(actor, { scopes: ['chat', 'audit:read', 'root'], apps: ['default', 'hr'], datasets: [DS, 'other'] })).toEqual([
      'scopes audit:read',
      'apps hr',
      'datasets other',
    ]);
    expect(missingFromGrant(actor, { datasets: ['*'] })).toEqual(['every dataset (*)']);
    expect(missingFromGrant({ ...actor, datasets: ['*'] }, { datasets: ['*', DS] })).toEqual([]);
    expect(() => requireGrantable(actor, { scopes: ['app:all-users'] })).toThrow(/cannot grant what it does not hold itself: scopes app:all-users/);
  });

  it('allows its own namespace or a new one, never another existing one', () => {
    expect(() => requireNamespaceGrantable(actor, 'ops', true)).not.toThrow();
    expect(() => requireNamespaceGrantable(actor, 'brand-new', false)).not.toThrow();
    expect(() => requireNamespaceGrantable(actor, 'team-a', true)).toThrow(/namespace 'team-a' belongs to other keys/);
  });
});
