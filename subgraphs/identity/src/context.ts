/** What identity's resolvers receive: the platform's request context plus identity's services. */
import type { BaseRequestContext } from '@graphex/runtime';
import type { AuthService } from './auth-service.ts';
import type { UserLoader } from './user-loader.ts';

export interface SubgraphContext extends BaseRequestContext {
  readonly auth: AuthService;
  /** Batched, per-request user look-up by id (null for unknown or malformed ids). */
  readonly loadUser: UserLoader;
}
