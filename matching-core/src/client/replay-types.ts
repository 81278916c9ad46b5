import type { EngineConfig } from '../engine.ts';

export type { CoreEvent } from '@graphex/schema';
export type EngineConfigLike = Partial<EngineConfig>;
