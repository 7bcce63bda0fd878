/** The background's answers to the popup, over the real state machine and fake ports. */
import { describe, expect, it } from 'vitest';
import { handle, type HandlerContext } from '../../src/background/handlers';
import { isEnvelope, PROTOCOL } from '../../src/enroll/protocol';
import { World, challengeMail } from '../enroll/fakes';

function context(world: World, kicked: (string | undefined)[] = []): HandlerContext {
  const enroller = world.enroller();
  return {
    enroller,
    acme: world.acme,
    keys: world.keys,
    downloads: world.deps().downloads,
    settings: () => Promise.resolve({ ...world.settings, locked: false }),
    identities: () =>
      Promise.resolve([
        { id: 'id1', email: 'alice@example.test', name: 'Alice', accountName: 'Work', smime: { signing: false, encryption: false, signMail: false, encrypt: false } },
        { id: 'id2', email: 'alice.alias@example.test', name: 'Alice', accountName: 'Work', smime: { signing: false, encryption: false, signMail: false, encrypt: false } },
      ]),
    kick: (id) => {
      kicked.push(id);
      if (id !== undefined) void enroller.advance(id);
    },
  };
}

describe('background request handlers', () => {
  it('starts an enrollment for a known identity and returns the generated passphrase once', async () => {
    const world = new World();
    const kicked: (string | undefined)[] = [];
    const ctx = context(world, kicked);
    const started = await handle(ctx, { type: 'start', identityId: 'id1', keyType: 'P-384', usage: 'sign', termsAgreed: true, keepKey: false });
    expect(started).toEqual({ ok: true, value: { enrollmentId: 'e1', generatedPassphrase: 'generated-passphrase-123' } });
    expect(kicked).toEqual(['e1']);
    expect(world.keys.generated).toEqual([{ email: 'alice@example.test', emails: ['alice@example.test'], keyType: 'P-384', usage: 'sign' }]);
  });

  it('starts one enrollment for several identities: their addresses, in the order given, in one key request', async () => {
    const world = new World();
    const ctx = context(world);
    const started = await handle(ctx, { type: 'start', identityId: 'id1', keyType: 'P-256', usage: 'both', termsAgreed: true, keepKey: false, alsoFor: ['id2'] });
    expect(started.ok).toBe(true);
    expect(world.keys.generated.map((g) => g.emails)).toEqual([['alice@example.test', 'alice.alias@example.test']]);
    const [e] = await world.enroller().list();
    expect(e?.addresses).toEqual([{ identityId: 'id1', email: 'alice@example.test' }, { identityId: 'id2', email: 'alice.alias@example.test' }]);
    // An identity the add-on does not know is refused before anything is asked of the CA.
    const unknown = await handle(ctx, { type: 'start', identityId: 'id1', keyType: 'P-256', usage: 'both', termsAgreed: true, keepKey: false, alsoFor: ['id9'] });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'unknownIdentity' } });
  });

  it('gives the popup its state without any key material', async () => {
    const world = new World();
    const ctx = context(world);
    await handle(ctx, { type: 'start', identityId: 'id1', keyType: 'P-256', usage: 'both', passphrase: 'correct horse battery', termsAgreed: true, keepKey: false });
    const state = await handle(ctx, { type: 'getState' });
    if (!state.ok) throw new Error(state.error.message);
    expect(state.value.identities.map((i) => i.email)).toEqual(['alice@example.test', 'alice.alias@example.test']);
    expect(state.value.enrollments).toHaveLength(1);
    const view = state.value.enrollments[0]!;
    expect(view.hasKey).toBe(true);
    expect(JSON.stringify(state.value)).not.toMatch(/encryptedKey|"csr"|ENC\(/);
  });

  it('answers refusals with a code the popup translates, never a rejection', async () => {
    const world = new World();
    const ctx = context(world);
    expect(await handle(ctx, { type: 'start', identityId: 'nope', keyType: 'P-256', usage: 'both', termsAgreed: true, keepKey: false })).toMatchObject({ ok: false, error: { code: 'unknownIdentity' } });
    expect(await handle(ctx, { type: 'approveReply', enrollmentId: 'missing' })).toMatchObject({ ok: false, error: { code: 'unknownEnrollment' } });
    expect(await handle(ctx, { type: 'revoke', identityId: 'id1', reason: 0 })).toMatchObject({ ok: false, error: { code: 'noCertificate' } });
  });

  it('offers the certificate chain for download when the key was not kept', async () => {
    const world = new World();
    const ctx = context(world);
    const started = await handle(ctx, { type: 'start', identityId: 'id1', keyType: 'P-256', usage: 'both', passphrase: 'correct horse battery', termsAgreed: true, keepKey: false });
    if (!started.ok) throw new Error(started.error.message);
    await ctx.enroller.advance(started.value.enrollmentId);
    await world.deliver(ctx.enroller, challengeMail('alice@example.test'));
    await world.elapse(ctx.enroller, 60_000);
    expect(world.downloads.map((d) => d.filename)).toEqual(['alice@example.test.p12']);
    expect(await handle(ctx, { type: 'download', identityId: 'id1' })).toEqual({ ok: true, value: { filename: 'alice@example.test.pem' } });
    expect(new TextDecoder().decode(world.downloads[1]?.bytes)).toContain('BEGIN CERTIFICATE');
  });

  it('recognises only its own messages', () => {
    expect(isEnvelope({ protocol: PROTOCOL, request: { type: 'getState' } })).toBe(true);
    expect(isEnvelope({ protocol: PROTOCOL, request: { type: 'rm -rf' } })).toBe(false);
    expect(isEnvelope({ type: 'getState' })).toBe(false);
    expect(isEnvelope(null)).toBe(false);
  });
});
