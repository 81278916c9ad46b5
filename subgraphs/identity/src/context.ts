/** What identity's resolvers receive: the platform's request context plus identity's services. */
import type { BaseRequestContext } from '@graphex/runtime';
import type { AdminService } from './admin-service.ts';
import type { ApiKeyService } from './api-key-service.ts';
import type { AuthService } from './auth-service.ts';
import type { KycService } from './kyc-service.ts';
import type { TwoFactorService } from './two-factor-service.ts';
import type { UserLoader } from './user-loader.ts';

export interface SubgraphContext extends BaseRequestContext {
  readonly auth: AuthService;
  readonly twoFactor: TwoFactorService;
  readonly apiKeys: ApiKeyService;
  readonly kyc: KycService;
  readonly admin: AdminService;
  /** Batched, per-request user look-up by id (null for unknown or malformed ids). */
  readonly loadUser: UserLoader;
}
