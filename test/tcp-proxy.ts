import { createServer, type Server, type Socket, connect } from 'node:net';

/**
 * A TCP proxy to a local port that a test can cut: `cut()` drops every connection and refuses new
 * ones (a database that went away); `cut('drop')` drops them too but accepts new ones only to
 * close them at once (a load balancer or pooler in front of a database that is down);
 * `restore()` passes connections through again, on the same port. `freeze()` keeps the
 * connections of the moment open but carries nothing more on them either way, not even a close (a
 * route gone silent: a NAT or a mobile network that forgot them); new ones pass.
 */
export interface TcpProxy {
  readonly port: number;
  cut(how?: 'refuse' | 'drop'): Promise<void>;
  freeze(): void;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let dropping = false;
  const frozen = new WeakSet<Socket>();
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const listening = createServer((client) => {
        if (dropping) return void client.destroy();
        const upstream = connect(targetPort, '127.0.0.1');
        // Either side going away takes the other with it, as on a direct connection: a refused
        // upstream (the database is down) closes the client's connection rather than leaving it waiting.
        for (const [socket, peer] of [[client, upstream], [upstream, client]] as const) {
          sockets.add(socket);
          socket.on('close', () => {
            sockets.delete(socket);
            if (!frozen.has(socket)) peer.destroy();
          });
          socket.on('error', () => {});
        }
        client.pipe(upstream).pipe(client);
      });
      server = listening;
      listening.once('error', reject);
      listening.listen(port, '127.0.0.1', () => resolve((listening.address() as { port: number }).port));
    });
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      dropAll();
      const closing = server;
      server = undefined;
      if (!closing) return resolve();
      closing.close(() => resolve());
    });
  const port = await listen(0);
  return {
    port,
    cut: async (how = 'refuse') => {
      if (how === 'refuse') return stop();
      dropping = true;
      dropAll();
    },
    freeze: () => {
      for (const socket of sockets) {
        frozen.add(socket);
        socket.unpipe();
        socket.pause();
      }
    },
    restore: async () => {
      dropping = false;
      if (!server) await listen(port);
    },
    close: stop,
  };
}
