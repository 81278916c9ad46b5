/**
 * @graphex/gateway — the edge of GraphEx: one federated GraphQL endpoint over the subgraphs, with
 * authentication, identity forwarding, error masking, health and offline GraphiQL.
 */
export { startGateway, gatewayDefaults } from './gateway.ts';
export type { GatewayOptions, RunningGateway } from './gateway.ts';
export { createAuthenticator, userAccessTokenVerifier, maxCredentialLength } from './auth/authenticate.ts';
export type { Authenticator, CredentialVerifier, CredentialContext } from './auth/authenticate.ts';
export { rootFieldPolicy, type ApiKeyRequirement } from './auth/operation-policy.ts';
export { clientIpOf } from './auth/edge-security.ts';
export { SubgraphDataSource, internalIdentityTokenFor } from './subgraph-data-source.ts';
export type {
  GatewayContext,
  InternalTokenSigner,
  SubgraphDataSourceOptions,
} from './subgraph-data-source.ts';
export { checkHealth, healthUrlOf } from './health.ts';
export type { HealthReport, HealthTarget, SubgraphHealth } from './health.ts';
export { defaultSupergraphPath, readSupergraphSdl, subgraphsOfSupergraph } from './supergraph.ts';
export type { SupergraphSubgraph } from './supergraph.ts';
export { prefersHtml } from './http/content-negotiation.ts';
