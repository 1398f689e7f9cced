/**
 * The Node server's connection limits: at most `maxConnections` open connections, at most
 * `maxConnectionsPerIp` from one client address (an IPv6 client counts per /64, the block one
 * customer usually gets), and a connection that sends nothing is closed after `silentTimeoutMs`
 * (node's headersTimeout only starts at a request's first byte).
 *
 * No address can starve the others. When a connection arrives and:
 * - its address is at its own limit: its oldest connection without a request in flight (an idle
 *   keep-alive connection, or one still sending headers) is closed to make room; if all of them
 *   are answering a request, the new connection is refused;
 * - the server is at its limit: the address holding the most connections gives one up (its
 *   oldest one without a request in flight, else its newest), unless the newcomer's address would
 *   then hold as many as it: the newcomer then makes room among its own, as above, or is refused.
 * So a client with fewer connections than the heaviest address always gets in, and an attacker
 * holding thousands of idle sockets loses them first.
 *
 * A refused connection is answered before its request is read, with an AWS-shaped 400
 * ThrottlingException (the error AWS SDKs retry with backoff), and closed.
 *
 * It wraps node:http's own `connection` listener, so a refused socket never reaches the HTTP
 * parser.
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { kResponse, rawAwsError, type TrackedSocket } from './http-guard.js';

export interface ConnectionLimits {
  /** Open connections at most; 0: no limit. */
  maxConnections: number;
  /** Open connections per client address at most; 0: no limit. */
  maxConnectionsPerIp: number;
  /** A connection that has sent no byte within this is closed; 0: never. */
  silentTimeoutMs: number;
}

interface Peer {
  readonly key: string;
  /** In the order they connected. */
  readonly sockets: Set<Socket>;
}

const kPeer = Symbol('edge-kms.peer');
const kSilentTimer = Symbol('edge-kms.silent-timer');
type Conn = TrackedSocket & { [kPeer]?: Peer; [kSilentTimer]?: ReturnType<typeof setTimeout> };

/** The address a connection counts against: IPv4 as is, IPv6 by its /64 prefix. */
export function peerKey(address: string | undefined): string | undefined {
  if (!address) return undefined;
  if (!address.includes(':')) return address;
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  const bare = address.split('%')[0]!.toLowerCase();
  const [head = '', tail] = bare.split('::');
  const parts = (s: string) => (s === '' ? [] : s.split(':'));
  const headParts = parts(head);
  const tailParts = tail === undefined ? [] : parts(tail);
  const width = (ps: string[]) => ps.reduce((n, p) => n + (p.includes('.') ? 2 : 1), 0);
  const zeros = Array<string>(Math.max(0, 8 - width(headParts) - width(tailParts))).fill('0');
  const groups = [...headParts, ...(tail === undefined ? [] : zeros), ...tailParts];
  return `${groups
    .slice(0, 4)
    .map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16).toString(16) : g))
    .join(':')}::/64`;
}

function busy(socket: Conn): boolean {
  const res = socket[kResponse];
  return res !== undefined && !res.writableFinished;
}

function oldestIdle(peer: Peer): Socket | undefined {
  for (const s of peer.sockets) if (!busy(s)) return s;
  return undefined;
}

function newest(peer: Peer): Socket | undefined {
  let last: Socket | undefined;
  for (const s of peer.sockets) last = s;
  return last;
}

function ignore(): void {}

function refuse(socket: Socket, message: string): void {
  socket.on('error', ignore);
  // Best effort: the answer goes out before the client's request is read, then the connection closes.
  socket.end(rawAwsError(400, 'ThrottlingException', message), () => socket.destroy());
  setTimeout(destroy, 1000, socket).unref();
}

function destroy(socket: Socket): void {
  socket.destroy();
}

function closeIfSilent(socket: Socket): void {
  if (socket.bytesRead === 0) socket.destroy();
}

export function limitConnections(server: Server, limits: ConnectionLimits): void {
  const { maxConnections: max, maxConnectionsPerIp: perIp, silentTimeoutMs } = limits;
  const peers = new Map<string, Peer>();
  let total = 0;

  const release = (socket: Conn): void => {
    const peer = socket[kPeer];
    if (!peer?.sockets.delete(socket)) return;
    total--;
    if (peer.sockets.size === 0) peers.delete(peer.key);
    clearTimeout(socket[kSilentTimer]);
  };
  function onClose(this: Conn): void {
    release(this);
  }
  // Accounted as gone at once: its 'close' comes later.
  const evict = (socket: Socket): void => {
    release(socket);
    socket.destroy();
  };
  const heaviest = (): Peer | undefined => {
    let top: Peer | undefined;
    for (const p of peers.values()) if (!top || p.sockets.size > top.sockets.size) top = p;
    return top;
  };

  /** True when the socket may be served (room was made if needed). */
  const admit = (socket: Conn): boolean => {
    const key = peerKey(socket.remoteAddress);
    if (key === undefined) {
      socket.destroy();
      return false;
    }
    let peer = peers.get(key);
    const count = peer?.sockets.size ?? 0;
    if (perIp > 0 && count >= perIp) {
      const victim = peer && oldestIdle(peer);
      if (!victim) {
        refuse(socket, `Too many connections from ${key} (at most ${perIp} at a time). Reuse or close connections, then retry.`);
        return false;
      }
      evict(victim);
    } else if (max > 0 && total >= max) {
      const top = heaviest();
      if (top && top !== peer && top.sockets.size > count + 1) {
        evict((oldestIdle(top) ?? newest(top))!);
      } else {
        const victim = peer && oldestIdle(peer);
        if (!victim) {
          refuse(socket, `The server is at its connection limit (${max}) and your address holds the most connections. Reuse or close connections, then retry.`);
          return false;
        }
        evict(victim);
      }
    }
    if (!peer) peers.set(key, (peer = { key, sockets: new Set() }));
    peer.sockets.add(socket);
    total++;
    socket[kPeer] = peer;
    socket.once('close', onClose);
    if (silentTimeoutMs > 0) {
      const timer = setTimeout(closeIfSilent, silentTimeoutMs, socket);
      timer.unref();
      socket[kSilentTimer] = timer;
    }
    return true;
  };

  // node:http sets up its parser in its own 'connection' listener: call it for admitted sockets only.
  const inner = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    if (!admit(socket)) return;
    for (const listener of inner) listener.call(server, socket);
  });
}
