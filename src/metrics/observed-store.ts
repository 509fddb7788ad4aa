import type { SessionData, SessionStore } from '../store/session-store.js';
import type { StoreOperation } from './labels.js';
import type { Metrics } from './metrics.js';

/**
 * A session store whose failed operations are counted (`postern_session_store_errors_total`).
 * main.ts puts it directly around the backend, below the read cache, and only when metrics are on.
 */
export function observedStore(inner: SessionStore, metrics: Metrics): SessionStore {
  const counted = <T>(operation: StoreOperation, pending: Promise<T>): Promise<T> =>
    pending.catch((err: unknown) => {
      metrics.sessionStoreError(operation);
      throw err;
    });
  return {
    get: (id: string) => counted('get', inner.get(id)),
    set: (id: string, data: SessionData, ttlMs: number) => counted('set', inner.set(id, data, ttlMs)),
    setIfExists: (id: string, data: SessionData, ttlMs: number) => counted('set', inner.setIfExists(id, data, ttlMs)),
    destroy: (id: string) => counted('destroy', inner.destroy(id)),
    listByUser: (user: string) => counted('list', inner.listByUser(user)),
    listAll: () => counted('list', inner.listAll()),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
}
