/**
 * Copies every reflect-metadata entry (route, guards, message patterns, ...) and the name from the
 * original method to its wrapper, so that decorators of other libraries work in any order.
 * @internal
 */
export function copyMethodMetadata(original: object, wrapped: object): void {
  const reflect = Reflect as unknown as {
    getMetadataKeys?: (target: object) => unknown[];
    getMetadata: (key: unknown, target: object) => unknown;
    defineMetadata: (key: unknown, value: unknown, target: object) => void;
  };
  if (typeof reflect.getMetadataKeys === 'function') {
    for (const key of reflect.getMetadataKeys(original)) {
      reflect.defineMetadata(key, reflect.getMetadata(key, original), wrapped);
    }
  }
  Object.defineProperty(wrapped, 'name', { value: (original as { name?: string }).name, configurable: true });
  Object.defineProperty(wrapped, 'length', { value: (original as { length?: number }).length, configurable: true });
}
