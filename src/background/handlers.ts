/**
 * Answers the popup's requests (src/enroll/protocol.ts). No `messenger` here: the context is
 * passed in, so test/addon drives it with fakes.
 */
import type { Enroller } from '../enroll/enroller';
import { EnrollRequestError } from '../enroll/errors';
import { PortError, type AcmePort, type DownloadPort, type KeyPort } from '../enroll/ports';
import { enrollmentView, type ErrorValue, type IdentityView, type Request, type RequestType, type Response, type ResponseValues } from '../enroll/protocol';
import type { Settings } from '../enroll/settings';
import { base64Decode as base64ToBytes } from '../common/encoding';

export interface HandlerContext {
  readonly enroller: Enroller;
  readonly acme: AcmePort;
  readonly keys: KeyPort;
  readonly downloads: DownloadPort;
  readonly settings: () => Promise<Settings & { readonly locked: boolean }>;
  readonly identities: () => Promise<IdentityView[]>;
  /** Called after a request that may have started work: the flow continues in the background. */
  readonly kick: (enrollmentId?: string) => void;
}

function errorValue(error: unknown): ErrorValue {
  if (error instanceof EnrollRequestError) return { code: error.code, message: error.message };
  if (error instanceof PortError) {
    const problem = error.problem;
    const detail = problem?.detail;
    return {
      code: error.kind === 'wrongPassphrase' ? 'wrongPassphrase' : 'ca',
      message: error.message,
      ...(detail === undefined ? {} : { problemDetail: detail }),
      // Whole, not flattened: the popup says what each subproblem is about.
      ...(problem === undefined ? {} : { problem }),
    };
  }
  return { code: 'unexpected', message: error instanceof Error ? error.message : String(error) };
}

async function identityEmail(ctx: HandlerContext, identityId: string): Promise<string> {
  const identity = (await ctx.identities()).find((i) => i.id === identityId);
  if (!identity) throw new EnrollRequestError('unknownIdentity', `No identity ${identityId}.`);
  return identity.email;
}

async function value<T extends RequestType>(ctx: HandlerContext, request: Extract<Request, { type: T }>): Promise<ResponseValues[T]>;
async function value(ctx: HandlerContext, request: Request): Promise<ResponseValues[RequestType]> {
  const { enroller } = ctx;
  switch (request.type) {
    case 'getState': {
      const settings = await ctx.settings();
      return {
        identities: await ctx.identities(),
        directoryUrl: settings.directoryUrl,
        locked: settings.locked,
        defaults: { keyType: settings.keyType, usage: settings.usage, keepKey: settings.keepKey, askBeforeReplying: settings.askBeforeReplying },
        enrollments: (await enroller.list()).map(enrollmentView),
        certificates: await enroller.certificates(),
        autoRenew: settings.autoRenew,
        passphrasesToShow: await enroller.generatedPassphrasesWaiting(),
      };
    }
    case 'caInfo': {
      const settings = await ctx.settings();
      if (settings.directoryUrl === '') throw new EnrollRequestError('noDirectory', 'No certificate authority is configured.');
      return ctx.acme.caInfo(settings.directoryUrl);
    }
    case 'start': {
      const email = await identityEmail(ctx, request.identityId);
      const others = await Promise.all((request.alsoFor ?? []).map(async (identityId) => ({ identityId, email: await identityEmail(ctx, identityId) })));
      const result = await enroller.start({
        identityId: request.identityId,
        email,
        ...(others.length === 0 ? {} : { alsoFor: others }),
        keyType: request.keyType,
        usage: request.usage,
        termsAgreed: request.termsAgreed,
        keepKey: request.keepKey,
        ...(request.passphrase === undefined ? {} : { passphrase: request.passphrase }),
      });
      ctx.kick(result.enrollment.id);
      return { enrollmentId: result.enrollment.id, ...(result.generatedPassphrase === undefined ? {} : { generatedPassphrase: result.generatedPassphrase }) };
    }
    case 'approveReply':
      return enrollmentView(await enroller.approveReply(request.enrollmentId));
    case 'declineReply':
      return enrollmentView(await enroller.declineReply(request.enrollmentId));
    case 'cancel':
      return enrollmentView(await enroller.cancel(request.enrollmentId));
    case 'dismiss':
      await enroller.dismiss(request.enrollmentId);
      return null;
    case 'providePassphrase':
      return enrollmentView(await enroller.providePassphrase(request.enrollmentId, request.passphrase));
    case 'manualResponse':
      return { response: await enroller.manualResponse(request.enrollmentId, request.subject) };
    case 'manualSent': {
      const e = await enroller.manualSent(request.enrollmentId);
      ctx.kick(e.id);
      return enrollmentView(e);
    }
    case 'renew': {
      const result = await enroller.renew(request.identityId, request.passphrase, request.termsAgreed);
      ctx.kick(result.enrollment.id);
      return { enrollmentId: result.enrollment.id, ...(result.generatedPassphrase === undefined ? {} : { generatedPassphrase: result.generatedPassphrase }) };
    }
    case 'revoke':
      return enroller.revoke(request.identityId, request.reason);
    case 'trustRoot':
      return enroller.trustRoot(request.identityId, request.sha256Fingerprint);
    case 'declineRoot':
      return enroller.declineRoot(request.identityId);
    case 'recheck':
      return enroller.recheck(request.identityId);
    case 'setSendDefaults':
      return enroller.setSendDefaults(request.identityId, request.signMail, request.encrypt);
    case 'setAutoRenew':
      return enroller.setAutoRenew(request.identityId, request.on);
    case 'showPassphrase':
      return { passphrase: await enroller.revealGeneratedPassphrase(request.enrollmentId) };
    case 'revokeWithKey':
      return enroller.revokeWithCertificateKey(base64ToBytes(request.pkcs12), request.passphrase, request.reason);
    case 'download':
      return enroller.download(request.identityId, request.passphrase);
  }
}

/** One request, one answer; failures become an ErrorValue, never a rejected promise. */
export async function handle<T extends RequestType>(ctx: HandlerContext, request: Extract<Request, { type: T }>): Promise<Response<T>> {
  try {
    return { ok: true, value: await value(ctx, request) };
  } catch (error) {
    return { ok: false, error: errorValue(error) };
  }
}
