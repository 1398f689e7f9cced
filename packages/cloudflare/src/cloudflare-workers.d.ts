/** The part of the `cloudflare:workers` runtime module edge-kms uses (provided by workerd). */
declare module 'cloudflare:workers' {
  export abstract class DurableObject<Env = unknown> {
    protected readonly ctx: { storage: unknown; waitUntil(p: Promise<unknown>): void };
    protected readonly env: Env;
    constructor(ctx: unknown, env: Env);
  }
}
