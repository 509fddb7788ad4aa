import type { SessionData, SessionStore } from '../store/session-store.js';
import type { Metrics } from './metrics.js';

/**
 * A session store whose failed operations are counted (`postern_session_store_errors_total`).
 * main.ts puts it directly around the backend, below the read cache, and only when metrics are on.
 */
export function observedStore(inner: SessionStore, metrics: Metrics): SessionStore {
  return {
    get: (id: string) =>
      inner.get(id).catch((err: unknown) => {
        metrics.sessionStoreError('get');
        throw err;
      }),
    set: (id: string, data: SessionData, ttlMs: number) =>
      inner.set(id, data, ttlMs).catch((err: unknown) => {
        metrics.sessionStoreError('set');
        throw err;
      }),
    destroy: (id: string) =>
      inner.destroy(id).catch((err: unknown) => {
        metrics.sessionStoreError('destroy');
        throw err;
      }),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
}
