import type { MemorySessionStore } from '../../src/store/memory-store.js';
import type { SessionStore } from '../../src/store/session-store.js';

/**
 * The real memory store as a store that must always be asked, as a Redis store is: every method
 * goes to `inner`, but there is no readNow. `get` may be replaced (to count reads, or to fail).
 */
export function askedStore(inner: MemorySessionStore, get: SessionStore['get'] = (id) => inner.get(id)): SessionStore {
  return {
    get,
    set: (id, data, ttl) => inner.set(id, data, ttl),
    setIfExists: (id, data, ttl) => inner.setIfExists(id, data, ttl),
    destroy: (id) => inner.destroy(id),
    listByUser: (user) => inner.listByUser(user),
    listAll: () => inner.listAll(),
    ping: () => inner.ping(),
    close: () => inner.close(),
  };
}
