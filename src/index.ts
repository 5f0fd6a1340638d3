/**
 * The `openslb` package's programmatic API: embed a server in a test suite and call it the
 * way the official SDKs do. Everything else in the package is internal.
 */
export { startEmbedded, type EmbeddedOptions, type EmbeddedOpenSlb } from './embedded.js';
export { ApiClient, type ApiClientOptions, type ApiCallResult } from './client/api-client.js';
export { NLB_VERSION } from './products/nlb/index.js';
export { GWLB_VERSION } from './products/gwlb/index.js';
export { ManualScheduler, type Scheduler } from './util/scheduler.js';
