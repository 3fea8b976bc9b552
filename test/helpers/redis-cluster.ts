import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { pollUntil } from './time.js';

/** What the helper asks of a node's admin connection. */
interface Admin {
  readonly isReady: boolean;
  sendCommand(args: string[]): Promise<unknown>;
  destroy(): void;
}

/** Whether `port` can be listened on on loopback now. */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port P with P and its cluster bus port P + 10000 both free. */
async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 35_000);
    if (taken.has(port) || taken.has(port + 10_000) || taken.has(port - 10_000)) continue;
    if ((await isFree(port)) && (await isFree(port + 10_000))) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free port pair for a Redis Cluster node');
}

/**
 * Polls `check` every 50 ms until it is true (a check that throws, a node
 * not answering yet, counts as not yet); throws naming `what` after `timeoutMs`.
 */
function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const settled = () => check().catch(() => false);
  return pollUntil(settled, `Redis Cluster: ${what}`, timeoutMs, 50);
}

interface Node {
  readonly port: number;
  readonly dir: string;
  child: ChildProcess | undefined;
  admin: Admin | undefined;
}

/**
 * A real Redis Cluster on loopback: `redis-server --cluster-enabled yes` per
 * node (three masters and three replicas by default) on free port pairs,
 * joined by `redis-cli --cluster create`, without persistence. Helpers move
 * the slot that holds a backplane's keys and fail its master over, as an
 * operator (or a managed Redis) does.
 */
export class RedisCluster {
  private constructor(private readonly nodes: Node[]) {}

  /** Seed URLs: every node's. */
  get urls(): string[] {
    return this.nodes.map((node) => `redis://127.0.0.1:${node.port}`);
  }

  static async start(masters = 3): Promise<RedisCluster> {
    const taken = new Set<number>();
    const nodes: Node[] = [];
    for (let i = 0; i < masters * 2; i++) {
      nodes.push({
        port: await freeClusterPort(taken),
        dir: mkdtempSync(join(tmpdir(), 'signalling-hub-rcluster-')),
        child: undefined,
        admin: undefined,
      });
    }
    const cluster = new RedisCluster(nodes);
    try {
      for (const node of nodes) cluster.spawn(node);
      await Promise.all(
        nodes.map((node) =>
          until(async () => (await cluster.run(node, ['PING'])) === 'PONG', `node ${node.port} to answer`, 10_000),
        ),
      );
      await cluster.create();
      await cluster.settled();
    } catch (error) {
      await cluster.dispose();
      throw error;
    }
    return cluster;
  }

  private spawn(node: Node): void {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(node.port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(node.dir, 'nodes.conf'),
        '--cluster-node-timeout',
        '2000',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        node.dir,
        '--protected-mode',
        'no',
        // Replicas sync at once (the default waits 5 s for more replicas to share a transfer).
        '--repl-diskless-sync',
        'yes',
        '--repl-diskless-sync-delay',
        '0',
        // A synced replica is listed in CLUSTER SLOTS once its offset is nonzero: pinged every second, not ten.
        '--repl-ping-replica-period',
        '1',
      ],
      { stdio: ['ignore', 'ignore', 'ignore'] },
    );
    child.on('error', () => {});
    node.child = child;
  }

  private create(): Promise<void> {
    return new Promise((resolve, reject) => {
      const args = [
        '--cluster',
        'create',
        ...this.nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ];
      const child = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (data: Buffer) => (output += data.toString()));
      child.stderr.on('data', (data: Buffer) => (output += data.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.once('error', (error) => reject(new Error(`cannot run redis-cli: ${error.message}`)));
      child.once('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`redis-cli --cluster create exited with ${code}: ${output}`));
      });
    });
  }

  private async adminOf(node: Node): Promise<Admin> {
    if (node.admin?.isReady) return node.admin;
    node.admin?.destroy();
    const admin = createClient({ url: `redis://127.0.0.1:${node.port}`, RESP: 2, socket: { reconnectStrategy: false } });
    admin.on('error', () => {});
    node.admin = admin;
    await admin.connect();
    return admin;
  }

  /** Runs one command on the node at `port` (or `node`). */
  private async run(node: Node, args: string[]): Promise<unknown> {
    return (await this.adminOf(node)).sendCommand(args);
  }

  command(port: number, args: string[]): Promise<unknown> {
    return this.run(this.nodeAt(port), args);
  }

  private nodeAt(port: number): Node {
    const node = this.nodes.find((n) => n.port === port);
    if (node === undefined) throw new Error(`no node on port ${port}`);
    return node;
  }

  /**
   * Slots as each node sees them: `from-to@port+replicas` of every master,
   * sorted. Redis lists a replica there only once it has synced (a nonzero
   * offset known by gossip); a client discovers replicas from this list.
   */
  private async slotsSeenBy(node: Node): Promise<string> {
    const slots = (await this.run(node, ['CLUSTER', 'SLOTS'])) as Array<[number, number, [string, number, string], ...unknown[]]>;
    return slots
      .map(([from, to, [, port], ...replicas]) => `${from}-${to}@${port}+${replicas.length}`)
      .sort()
      .join(',');
  }

  /** Resolves once every node says cluster_state:ok, all see the same slots and every master's replica is listed and in sync. */
  async settled(): Promise<void> {
    await until(async () => {
      const views = new Set<string>();
      for (const node of this.live()) {
        const info = String(await this.run(node, ['CLUSTER', 'INFO']));
        if (!info.includes('cluster_state:ok')) return false;
        views.add(await this.slotsSeenBy(node));
      }
      if (views.size !== 1 || (this.nodes.every((node) => node.child !== undefined) && [...views][0]!.includes('+0')))
        return false;
      for (const node of this.live()) {
        const replication = String(await this.run(node, ['INFO', 'replication']));
        if (replication.includes('role:slave') && !replication.includes('master_link_status:up')) return false;
      }
      return true;
    }, 'every node to agree on the slots and every replica to be in sync');
  }

  /** The hash slot of `key`. */
  async slotOf(key: string): Promise<number> {
    return Number(await this.run(this.live()[0]!, ['CLUSTER', 'KEYSLOT', key]));
  }

  /** Node id and port of every node, with its role and (for a replica) its master's id. */
  private async topology(): Promise<Array<{ id: string; port: number; master: boolean; of: string }>> {
    const text = String(await this.run(this.live()[0]!, ['CLUSTER', 'NODES']));
    return text
      .trim()
      .split('\n')
      .map((line) => {
        const [id, address, flags, of] = line.split(' ');
        return {
          id: id!,
          port: Number(address!.split(':')[1]!.split('@')[0]),
          master: flags!.includes('master') && !flags!.includes('fail'),
          of: of!,
        };
      });
  }

  /** Port of the master that serves `slot`. */
  async ownerOf(slot: number): Promise<number> {
    const slots = (await this.run(this.live()[0]!, ['CLUSTER', 'SLOTS'])) as Array<[number, number, [string, number]]>;
    const range = slots.find(([from, to]) => from <= slot && slot <= to);
    if (range === undefined) throw new Error(`slot ${slot} is not served`);
    return range[2][1];
  }

  /**
   * Moves `slot` to another master, as `redis-cli --cluster reshard` does:
   * IMPORTING on the target, MIGRATING on the source, its keys over with
   * MIGRATE (all keys at once, so that a script never sees part of them on
   * each side), then the slot assigned to the target everywhere. `during`
   * runs while the slot is migrating (commands then meet `ASK`). Returns the
   * new owner's port.
   */
  async moveSlot(slot: number, during?: () => Promise<void>): Promise<number> {
    const nodes = await this.topology();
    const fromPort = await this.ownerOf(slot);
    const from = nodes.find((n) => n.port === fromPort)!;
    const to = nodes.find((n) => n.master && n.port !== fromPort)!;
    const source = this.nodeAt(from.port);
    const target = this.nodeAt(to.port);
    await this.run(target, ['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', from.id]);
    await this.run(source, ['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', to.id]);
    await during?.();
    for (;;) {
      const keys = (await this.run(source, ['CLUSTER', 'GETKEYSINSLOT', String(slot), '100000'])) as string[];
      if (keys.length === 0) break;
      await this.run(source, ['MIGRATE', '127.0.0.1', String(to.port), '', '0', '5000', 'KEYS', ...keys]);
    }
    await this.run(target, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id]);
    await this.run(source, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id]);
    for (const node of nodes) {
      if (node.master && node.port !== from.port && node.port !== to.port) {
        await this.run(this.nodeAt(node.port), ['CLUSTER', 'SETSLOT', String(slot), 'NODE', to.id]);
      }
    }
    await this.settled();
    return to.port;
  }

  /** The nodes not killed. */
  private live(): Node[] {
    return this.nodes.filter((node) => node.child !== undefined);
  }

  /**
   * SIGKILLs the master at `port`, as a crash: the cluster promotes one of
   * its replicas after `cluster-node-timeout`. Returns the new master's port
   * once the live nodes agree.
   */
  async crash(port: number): Promise<number> {
    const nodes = await this.topology();
    const master = nodes.find((n) => n.port === port && n.master);
    const replica = nodes.find((n) => !n.master && n.of === master?.id);
    if (master === undefined || replica === undefined) throw new Error(`no master with a replica on port ${port}`);
    const node = this.nodeAt(port);
    const child = node.child!;
    node.child = undefined;
    node.admin?.destroy();
    node.admin = undefined;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
    const promoted = this.nodeAt(replica.port);
    await until(async () => ((await this.run(promoted, ['ROLE'])) as string[])[0] === 'master', `${replica.port} to take over`);
    await this.settled();
    return replica.port;
  }

  /**
   * A manual failover of the master at `port`: `CLUSTER FAILOVER` on one of
   * its replicas, which becomes master (the old master its replica). Returns
   * the new master's port once every node agrees.
   */
  async failover(port: number): Promise<number> {
    const nodes = await this.topology();
    const master = nodes.find((n) => n.port === port && n.master);
    if (master === undefined) throw new Error(`no master on port ${port}`);
    const replica = nodes.find((n) => !n.master && n.of === master.id);
    if (replica === undefined) throw new Error(`master ${port} has no replica`);
    const node = this.nodeAt(replica.port);
    const isMaster = async () => ((await this.run(node, ['ROLE'])) as string[])[0] === 'master';
    // A replica refuses (or silently gives up) a manual failover until it is in sync with its master: ask again.
    await until(
      async () => {
        await until(
          async () => String(await this.run(node, ['INFO', 'replication'])).includes('master_link_status:up'),
          'the replica to sync',
        );
        await this.run(node, ['CLUSTER', 'FAILOVER']);
        // Not promoted within 3 s: the replica gave this failover up, and the outer loop asks again.
        return pollUntil(isMaster, 'the failover', 3000, 50).then(
          () => true,
          () => false,
        );
      },
      `${replica.port} to become master`,
      30_000,
    );
    await until(async () => (await this.ownerOf(await this.anySlotOf(replica.port))) === replica.port, 'the slots to follow');
    await this.settled();
    return replica.port;
  }

  private async anySlotOf(port: number): Promise<number> {
    const slots = (await this.run(this.nodeAt(port), ['CLUSTER', 'SLOTS'])) as Array<[number, number, [string, number]]>;
    const range = slots.find(([, , [, p]]) => p === port);
    return range?.[0] ?? -1;
  }

  /** Keys matching `pattern` on the master that serves `slotKey`'s slot (a backplane's keys all share one). */
  async keys(slotKey: string, pattern: string): Promise<string[]> {
    const port = await this.ownerOf(await this.slotOf(slotKey));
    return (await this.command(port, ['KEYS', pattern])) as string[];
  }

  /** Kills every node and removes their directories. */
  async dispose(): Promise<void> {
    await Promise.all(
      this.nodes.map(async (node) => {
        node.admin?.destroy();
        node.admin = undefined;
        const child = node.child;
        node.child = undefined;
        if (child !== undefined && child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
          const gone = new Promise((resolve) => child.once('exit', resolve));
          child.kill('SIGKILL');
          await gone;
        }
        rmSync(node.dir, { recursive: true, force: true });
      }),
    );
  }
}
