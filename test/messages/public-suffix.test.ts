import { describe, expect, it } from 'vitest';
import { isAlignedSigningDomain, isPublicSuffix } from '../../src/messages/public-suffix';

describe('public suffixes for DKIM alignment', () => {
  it('treats TLDs, registry second levels and listed platforms as public suffixes', () => {
    for (const suffix of ['org', 'uk', 'co.uk', 'com.au', 'ne.jp', 'gov.br', 'github.io', 'herokuapp.com', 'eu.org']) expect(isPublicSuffix(suffix)).toBe(true);
    for (const domain of ['example.org', 'ca.example', 'example.co.uk', 'google.com', 'co.example']) expect(isPublicSuffix(domain)).toBe(false);
  });

  it('aligns d= with the From domain or a non-public-suffix parent, label-wise', () => {
    expect(isAlignedSigningDomain('ca.example', 'ca.example')).toBe(true);
    expect(isAlignedSigningDomain('CA.example', 'mail.ca.example')).toBe(true);
    expect(isAlignedSigningDomain('example.co.uk', 'mail.example.co.uk')).toBe(true);
    expect(isAlignedSigningDomain('co.uk', 'example.co.uk')).toBe(false);
    expect(isAlignedSigningDomain('github.io', 'ca.github.io')).toBe(false);
    expect(isAlignedSigningDomain('ample.org', 'example.org')).toBe(false);
    expect(isAlignedSigningDomain('mail.ca.example', 'ca.example')).toBe(false);
  });
});
