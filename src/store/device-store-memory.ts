import type { DeviceRecord, DeviceStore } from './device-store.js';

/** Devices in this process (no Redis configured): lost on restart, which only means signing in once with the ordinary limits. */
export class MemoryDeviceStore implements DeviceStore {
  private readonly devices = new Map<string, DeviceRecord>();
  private readonly byUser = new Map<string, Set<string>>();

  constructor(private readonly now: () => number = Date.now) {}

  async add(id: string, record: DeviceRecord): Promise<void> {
    this.sweep();
    this.devices.set(id, { user: record.user, expires: record.expires });
    let ids = this.byUser.get(record.user);
    if (ids === undefined) this.byUser.set(record.user, (ids = new Set()));
    ids.add(id);
  }

  async get(id: string): Promise<DeviceRecord | undefined> {
    const record = this.devices.get(id);
    if (record === undefined || record.expires <= this.now()) return undefined;
    return { ...record };
  }

  async remove(id: string): Promise<void> {
    const record = this.devices.get(id);
    if (record === undefined) return;
    this.devices.delete(id);
    this.byUser.get(record.user)?.delete(id);
  }

  async removeUser(user: string): Promise<number> {
    const ids = this.byUser.get(user);
    if (ids === undefined) return 0;
    const now = this.now();
    let live = 0;
    for (const id of ids) {
      const record = this.devices.get(id);
      if (record !== undefined && record.expires > now) live++;
      this.devices.delete(id);
    }
    this.byUser.delete(user);
    return live;
  }

  /** Drops ended trusts now and then, so that the maps do not grow without bound. */
  private sweep(): void {
    if (this.devices.size < 10_000) return;
    const now = this.now();
    for (const [id, record] of this.devices) {
      if (record.expires > now) continue;
      this.devices.delete(id);
      this.byUser.get(record.user)?.delete(id);
    }
    for (const [user, ids] of this.byUser) if (ids.size === 0) this.byUser.delete(user);
  }
}
