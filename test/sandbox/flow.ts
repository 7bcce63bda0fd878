/**
 * Steps of an RFC 8823 enrollment driven by the independent test client, shared by the sandbox
 * suites: order → authorization (the mail goes out in the default `on-fetch` timing) → read the
 * challenge mail over IMAP → reply over SMTP → POST {} → wait for the decision.
 */
import { expect } from 'vitest';
import type { Sandbox, SandboxUser } from '../../sandbox/index';
import { responseValue, TestAcmeClient } from './acme-test-client';
import { armour, challengeMails, sendReply, type InboxMessage } from './mailbox';

export interface ChallengeJson {
  readonly url: string;
  readonly token: string;
  readonly from: string;
  readonly type: string;
  readonly status: string;
  readonly error?: { readonly type: string; readonly detail: string };
}

export interface Prepared {
  readonly client: TestAcmeClient;
  readonly orderUrl: string;
  readonly finalizeUrl: string;
  readonly authzUrl: string;
  readonly challenge: ChallengeJson;
}

/** A fresh account and an order for `user`; the authorization is not fetched yet. */
export async function order(sandbox: Sandbox, user: SandboxUser, client = new TestAcmeClient(sandbox)): Promise<Prepared> {
  if (!client.kid) expect((await client.newAccount()).status).toBe(201);
  const reply = await client.newOrder([user.email]);
  expect(reply.status, reply.text).toBe(201);
  const authzUrl = (reply.json!['authorizations'] as string[])[0]!;
  const authz = await client.get(authzUrl);
  const challenge = (authz.json!['challenges'] as ChallengeJson[])[0]!;
  return { client, orderUrl: reply.headers.get('location')!, finalizeUrl: reply.json!['finalize'] as string, authzUrl, challenge };
}

/** The challenge mail the sandbox sent for `authzUrl` (the last one, if resent), read over IMAP. */
export async function mailFor(sandbox: Sandbox, user: SandboxUser, authzUrl: string): Promise<{ mail: InboxMessage; tokenPart1: string }> {
  const sent = sandbox.challengesSent().filter((c) => c.authzUrl === authzUrl).at(-1);
  expect(sent, `a challenge mail was sent for ${authzUrl}`).toBeDefined();
  const mail = (await challengeMails(sandbox, user)).find((m) => m.messageId === sent!.messageId);
  expect(mail, `challenge mail ${sent!.messageId} in ${user.email}'s INBOX`).toBeDefined();
  return { mail: mail!, tokenPart1: mail!.subject.slice('ACME: '.length).replace(/\s+/g, '') };
}

/** Replies correctly (join as the sandbox is configured), POSTs {}, waits for the decision. */
export async function answer(sandbox: Sandbox, user: SandboxUser, p: Prepared, join: 'string' | 'bytes' = 'string'): Promise<Record<string, unknown>> {
  const { mail, tokenPart1 } = await mailFor(sandbox, user, p.authzUrl);
  await sendReply(sandbox, user, mail, armour(responseValue(tokenPart1, p.challenge.token, p.client.thumbprint, join)));
  const posted = await p.client.post(p.challenge.url, {});
  expect(posted.status, posted.text).toBe(200);
  return p.client.pollUntil(p.authzUrl, (a) => a['status'] !== 'pending');
}

/** The first challenge object of an authorization JSON. */
export function challengeOf(authz: Record<string, unknown>): ChallengeJson {
  return (authz['challenges'] as ChallengeJson[])[0]!;
}
