import { createServer } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { freePort } from '../../../local/dynamodb/dynamodb-local.ts';

const listen = (port: number) =>
  new Promise<() => Promise<void>>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () =>
      resolve(() => new Promise<void>((done) => server.close(() => done()))),
    );
  });

describe('freePort', () => {
  it('gives a port below the kernel ephemeral range that a server can then listen on', async () => {
    const ports = await Promise.all(Array.from({ length: 5 }, () => freePort()));
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(20_000);
      expect(port).toBeLessThan(32_768);
      const close = await listen(port);
      await close();
    }
  });

  it('skips a port that is taken and tries another', async () => {
    const taken = await freePort();
    const close = await listen(taken);
    // Its first candidate is the held port, its second one is not.
    const draw = (port: number) => (port - 20_000 + 0.5) / 12_000;
    const random = vi
      .spyOn(Math, 'random')
      .mockReturnValueOnce(draw(taken))
      .mockReturnValueOnce(draw(taken === 20_000 ? 20_001 : taken - 1));
    try {
      expect(await freePort()).toBe(taken === 20_000 ? 20_001 : taken - 1);
      expect(random).toHaveBeenCalledTimes(2);
    } finally {
      random.mockRestore();
      await close();
    }
  });
});
