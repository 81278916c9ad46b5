import type { BaseRequestContext } from '@graphex/runtime';
import type { ReferenceDataView } from './store/reference-data.ts';

/** What every market-data resolver receives: the verified identity plus a per-request data view. */
export interface SubgraphContext extends BaseRequestContext {
  readonly referenceData: ReferenceDataView;
}
