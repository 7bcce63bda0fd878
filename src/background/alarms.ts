/**
 * Typed wrapper of the WebExtension `alarms` API, which Thunderbird provides (docs/ADDON.md,
 * "Thunderbird facts") but the
 * generated Thunderbird types omit.
 */

export interface Alarm {
  readonly name: string;
  readonly scheduledTime: number;
  readonly periodInMinutes?: number;
}

export interface AlarmsApi {
  create(name: string, info: { when?: number; delayInMinutes?: number; periodInMinutes?: number }): void;
  clear(name: string): Promise<boolean>;
  get(name: string): Promise<Alarm | undefined>;
  readonly onAlarm: { addListener(listener: (alarm: Alarm) => void): void };
}

export function alarms(): AlarmsApi {
  return (messenger as unknown as { alarms: AlarmsApi }).alarms;
}
