import type Redis from 'ioredis';

/** Remove what one test file wrote to the shared test-bed Redis (each file uses its own key prefix). */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<void> {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
}
