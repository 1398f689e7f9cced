/**
 * Who is calling. Identities are configured (access key id, secret, principal); the SigV4
 * verifier turns a signed request into a Caller; key policies and grants decide what it may do.
 */

export interface Identity {
  accessKeyId: string;
  secretAccessKey: string;
  /** 12-digit account of the principal. */
  accountId: string;
  /** The principal: `arn:aws:iam::<account>:user/<name>`, `…:role/<name>` or `…:root`. */
  arn: string;
}

export interface Caller {
  accountId: string;
  arn: string;
  accessKeyId?: string;
  /** Source IP when the runtime knows it (aws:SourceIp). */
  sourceIp?: string;
  /** The request came over TLS (aws:SecureTransport). */
  secureTransport?: boolean;
  /** The Region the request is for (its SigV4 credential scope, or its endpoint). */
  region?: string;
}

export type IdentityLookup = (accessKeyId: string) => Identity | undefined | Promise<Identity | undefined>;

/** What authentication reads of a request: a fetch Request satisfies it, and so does a Node shell. */
export interface RequestLike {
  method: string;
  url: string;
  headers: { get(name: string): string | null };
}
