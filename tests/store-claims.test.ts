import { setTimeout as sleep } from 'node:timers/promises';
import { expect, test } from 'vitest';
import type { DialectName, Store } from '../src/store/handle.ts';
import { RecipientClaims, type Claim } from '../src/store/claims.ts';
import { Ledger, LedgerBatch } from '../src/store/ledger.ts';
import { SubscriberStore } from '../src/store/subscribers.ts';
import { FINAL_STATES } from '../src/store/types.ts';
import { describeEachDb, freshStore, handles } from './store-db.ts';

const EDITION = '2026-11-25-midweek';

async function seed(store: Store, n: number): Promise<number[]> {
  const subs = new SubscriberStore(store);
  const ids: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await subs.importOne({ email: `r${i}@example.com`, editions: i % 5 === 4 ? ['sunday'] : ['midweek'] });
    expect(r).toBe('added');
  }
  for await (const s of subs.all()) if (s.midweek) ids.push(s.id);
  return ids;
}

/** A sender as phase 2 will run it: claim, skip final rows, mark 'sending', "send" (append to `smtp`), record 'sent', complete. */
async function sender(store: Store, owner: string, smtp: { owner: string; id: number }[], options: { leaseMs?: number; batchSize?: number } = {}) {
  const claims = new RecipientClaims(store, EDITION, 'midweek', owner, { batchSize: options.batchSize ?? 7, leaseMs: options.leaseMs ?? 2_000 });
  const ledger = new Ledger(store, EDITION);
  const subs = new SubscriberStore(store);
  const taken: Claim[] = [];
  claims.startHeartbeat(() => undefined, 100);
  try {
    for (;;) {
      const claim = await claims.claimNext();
      if (claim === 'done') break;
      if (claim === 'wait') {
        await sleep(50);
        continue;
      }
      taken.push(claim);
      const recipients = await subs.activeBetween('midweek', claim.fromId, claim.toId);
      const states = await ledger.statesBetween(claim.fromId, claim.toId);
      const todo = recipients.filter((r) => !FINAL_STATES.has(states.get(r.id) ?? 'sending'));
      for (let i = 0; i < todo.length; i += 3) {
        const slice = todo.slice(i, i + 3);
        const marks = new LedgerBatch();
        for (const r of slice) marks.markSending(r.id, r.email, `<${r.id}@${owner}>`);
        await ledger.commit(marks);
        await sleep(2); // the SMTP transactions
        for (const r of slice) smtp.push({ owner, id: r.id });
        const replies = new LedgerBatch();
        for (const r of slice) replies.record({ subscriberId: r.id, state: 'sent', reply: '250 ok', messageId: `<${r.id}@${owner}>` }, r.email);
        await ledger.commit(replies);
      }
      await claims.complete(claim);
    }
  } finally {
    claims.stopHeartbeat();
  }
  return { taken, passFinished: await claims.passFinished() };
}

function runOn(dialect: DialectName) {
  test('two senders on one edition: every recipient once, both did part of the work', async () => {
    const { store, target } = await freshStore(dialect);
    const ids = await seed(store, 150);
    const [a, b] = await handles(dialect, store, target, 2);
    const smtp: { owner: string; id: number }[] = [];
    const [ra, rb] = await Promise.all([sender(a!, 'host-a:1:a', smtp), sender(b!, 'host-b:2:b', smtp)]);
    expect(smtp.map((s) => s.id).sort((x, y) => x - y)).toEqual(ids);
    expect(ra.taken.length).toBeGreaterThan(0);
    expect(rb.taken.length).toBeGreaterThan(0);
    expect(new Set(smtp.map((s) => s.owner))).toEqual(new Set(['host-a:1:a', 'host-b:2:b']));
    expect(ra.passFinished && rb.passFinished).toBe(true);
    const rows = await store.db.selectFrom('deliveries').select(['state', 'attempts']).execute();
    expect(rows).toHaveLength(ids.length);
    expect(rows.every((r) => r.state === 'sent' && r.attempts === 1)).toBe(true);
  });

  test('a sender that dies mid-claim: its unstarted recipients go to another within the lease, its copy past end-of-data is in doubt, its copy still sending is resent', async () => {
    const { store, target } = await freshStore(dialect);
    const ids = await seed(store, 40);
    const [a, b] = await handles(dialect, store, target, 2);
    const leaseMs = 400;
    // Sender A claims a batch, delivers one recipient, has one in flight, and is killed (no heartbeat, no completion).
    const dead = new RecipientClaims(a!, EDITION, 'midweek', 'host-a:1:dead', { batchSize: 10, leaseMs });
    const claim = (await dead.claimNext()) as Claim;
    expect(claim).toMatchObject({ fromId: 1 });
    const ledgerA = new Ledger(a!, EDITION);
    const [first, second, third] = (await new SubscriberStore(a!).activeBetween('midweek', claim.fromId, claim.toId)).slice(0, 3);
    await ledgerA.commit(new LedgerBatch().markSending(first!.id, first!.email, '<1>').markSending(second!.id, second!.email, '<2>').markSending(third!.id, third!.email, '<3>'));
    await ledgerA.commit(new LedgerBatch().markEndOfData(second!.id)); // third: killed before its end-of-data
    await ledgerA.record({ subscriberId: first!.id, state: 'sent', reply: '250 ok', messageId: '<1>' }, first!.email);
    const smtp = [{ owner: 'host-a:1:dead', id: first!.id }, { owner: 'host-a:1:dead', id: second!.id }];
    const started = Date.now();
    const rb = await sender(b!, 'host-b:2:b', smtp, { leaseMs, batchSize: 10 });
    const takeover = rb.taken.find((c) => c.tookOverFrom);
    expect(takeover).toMatchObject({ fromId: claim.fromId, toId: claim.toId, tookOverFrom: 'host-a:1:dead', leftoversInDoubt: [second!.email], leftoversResent: [third!.email] });
    expect(Date.now() - started).toBeLessThan(10_000);
    // Everyone got it; the only duplicate possible is the in-doubt copy, and it was not resent.
    expect(smtp.map((s) => s.id).sort((x, y) => x - y)).toEqual(ids);
    const ledger = new Ledger(store, EDITION);
    expect(await ledger.counts()).toMatchObject({ sent: ids.length - 1, in_doubt: 1, sending: 0 });
    // The dead sender, were it only paused, learns at its next heartbeat that the claim is gone.
    expect(await dead.renew()).toEqual([claim]);
  });

  test('a heartbeat keeps a claim; a later run starts a new pass only after the last one finished', async () => {
    const { store, target } = await freshStore(dialect);
    await seed(store, 12);
    const [a, b] = await handles(dialect, store, target, 2);
    const holder = new RecipientClaims(a!, EDITION, 'midweek', 'host-a:1:a', { batchSize: 100, leaseMs: 300 });
    const claim = (await holder.claimNext()) as Claim;
    holder.startHeartbeat(() => undefined, 50);
    const other = new RecipientClaims(b!, EDITION, 'midweek', 'host-b:2:b', { batchSize: 100, leaseMs: 300 });
    expect(await other.join()).toBe(1); // joins the pass in progress
    await sleep(700);
    expect(await other.claimNext()).toBe('wait'); // still held: renewed past its 300 ms lease
    expect(await other.passFinished()).toBe(false);
    holder.stopHeartbeat();
    await holder.complete(claim);
    expect(await other.claimNext()).toBe('done');
    expect(await holder.claimNext()).toBe('done');
    // A later run (retrying deferred recipients) goes over everyone again in pass 2.
    const later = new RecipientClaims(b!, EDITION, 'midweek', 'host-b:3:c', { batchSize: 100, leaseMs: 300 });
    expect(await later.join()).toBe(2);
    const again = (await later.claimNext()) as Claim;
    expect(again).toMatchObject({ pass: 2, fromId: 1 });
    expect(await other.claimNext()).toBe('done'); // its pass (1) is over; it does not join pass 2 by itself
    // A claim given back on a clean stop is free at once, not after its lease.
    const joiner = new RecipientClaims(a!, EDITION, 'midweek', 'host-a:4:d', { batchSize: 100, leaseMs: 60_000 });
    expect(await joiner.claimNext()).toBe('wait');
    await later.release(again);
    expect(await joiner.claimNext()).toMatchObject({ pass: 2, fromId: 1, tookOverFrom: 'host-b:3:c' });
  });
}

describeEachDb('Recipient claims (several senders on one edition)', runOn);
