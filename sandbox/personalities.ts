/**
 * Sandbox personalities: the RFC 8823 CAs in the field read the RFC differently in four places
 * — how token-part1 is written, how the token halves are joined, when the challenge mail goes
 * out, and what makes the CA look at the reply. A personality is one documented bundle of these
 * four knobs, named after the behaviour and modelled on a real implementation. Everything else
 * (JWS, nonces, DKIM, CSR and reply checks) stays as strict as ever.
 */
import type { ChallengeKnobs, PersonalityName } from './types';

export interface Personality extends ChallengeKnobs {
  readonly name: PersonalityName;
  /** The implementation(s) whose behaviour it copies, and where that was seen. */
  readonly models: string;
  /** One line on what a client has to cope with. */
  readonly summary: string;
}

export const PERSONALITIES: Readonly<Record<PersonalityName, Personality>> = {
  default: {
    name: 'default',
    challengeTiming: 'on-fetch', tokenJoin: 'string', tokenEncoding: 'base64url', validation: 'on-reply',
    models: 'the common reading of the string-joining servers (rapidmx acme-server, acme2certifier, Akāmu) with the plainest timing: mail when the authorization is first read, reply judged on arrival',
    summary: 'unpadded base64url token-part1, string join, mail at the first authorization fetch, reply judged when it arrives',
  },
  'rfc-example': {
    name: 'rfc-example',
    challengeTiming: 'on-fetch', tokenJoin: 'string', tokenEncoding: 'base64-padded', validation: 'on-reply',
    models: 'RFC 8823 §3.1\'s own example (Subject "ACME: LgYemJLy3F1LDkiJrdIGbEzyFJyOyf6vBdyZ1TG3sME="), which acme4j accepts and answers with a string join',
    summary: 'token-part1 in padded standard base64 (32 bytes, 44 characters with "="), used verbatim in a string join',
  },
  'bytes-join': {
    name: 'bytes-join',
    challengeTiming: 'on-fetch', tokenJoin: 'bytes', tokenEncoding: 'base64url', validation: 'on-reply',
    models: 'CASTLE (the CA of the certbot-castle plugin) and acmez, which decode both halves and re-encode the concatenated bytes',
    summary: 'the key authorization starts with base64url(decode(part1) ‖ decode(part2)); a string-join answer is refused',
  },
  'mail-after-post': {
    name: 'mail-after-post',
    challengeTiming: 'after-post', tokenJoin: 'string', tokenEncoding: 'base64url', validation: 'on-reply',
    models: 'Akāmu, whose POST to the challenge is what sends the challenge mail; the reply is then checked when it arrives',
    summary: 'no mail until the client POSTs {} to the challenge; a client waiting for the mail before it POSTs waits forever',
  },
  'validate-on-post': {
    name: 'validate-on-post',
    challengeTiming: 'on-fetch', tokenJoin: 'string', tokenEncoding: 'base64url', validation: 'on-post',
    models: 'acme2certifier: the challenge (and its mail) is made when the authorization is first read; the POST runs the check 5 times 0.5 s apart',
    summary: 'reply first, then POST: the POST looks 5 times 0.5 s apart and answers with the verdict; a reply arriving later is lost',
  },
};

export const PERSONALITY_NAMES = Object.keys(PERSONALITIES) as readonly PersonalityName[];
