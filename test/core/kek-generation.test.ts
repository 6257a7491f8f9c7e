import { JobsHarness, startJobsHarness } from '../jobs/harness';

/**
 * workspaces.kek_generation is the one number whose change drops cached KEKs on every replica (the invalidation
 * bus's poll). The trigger that maintains it, against real Postgres: outage-time flips (degraded, access_suspect)
 * never move it, whichever layer writes them; key events always do; nobody can set it by hand.
 */
let h: JobsHarness;
beforeAll(async () => {
  h = await startJobsHarness();
});
afterAll(async () => h?.close());

async function generation(id: string): Promise<number> {
  return Number((await h.ds.query(`SELECT kek_generation FROM workspaces WHERE id = $1`, [id]))[0].kek_generation);
}
async function update(id: string, set: string): Promise<number> {
  await h.ds.query(`UPDATE workspaces SET ${set}, state_version = state_version + 1 WHERE id = $1`, [id]);
  return generation(id);
}

it('never moves on degraded or access_suspect flips, nor on entering/leaving a CMK rewrap', async () => {
  const t = await h.awsTenant();
  const id = t.workspaceIds[0];
  const g = await generation(id);
  expect(await update(id, `degraded = true`)).toBe(g);
  expect(await update(id, `key_state = 'access_suspect'`)).toBe(g);
  expect(await update(id, `key_state = 'active', degraded = false`)).toBe(g);
  expect(await update(id, `key_state = 'rewrapping'`)).toBe(g);
  expect(await update(id, `key_state = 'active'`)).toBe(g);
  expect(await update(id, `kek_generation = 0`)).toBe(g); // not writable by hand
});

it('moves on shred, reinstate, rotation switch and retirement, and re-key', async () => {
  const t = await h.awsTenant();
  const id = t.workspaceIds[0];
  const other = await t.addKey();
  let g = await generation(id);
  const bumps = async (set: string) => {
    const next = await update(id, set);
    expect({ set, moved: next > g }).toEqual({ set, moved: true });
    g = next;
  };
  const stays = async (set: string) =>
    expect({ set, generation: await update(id, set) }).toEqual({ set, generation: g });
  await stays(`key_state = 'access_suspect'`);
  await bumps(`key_state = 'shredded'`);
  await bumps(`key_state = 'active'`); // reinstate
  await stays(`key_state = 'kek_rotating'`);
  await bumps(`current_kek_version = current_kek_version + 1`); // rotation switch
  await bumps(`key_state = 'active'`); // leaving kek_rotating: old versions retired
  await stays(`key_state = 'rekeying'`);
  await bumps(`key_state = 'active', key_configuration_id = '${other.keyConfigurationId}'`); // re-key committed
  await bumps(`key_state = 'unbound'`);
});
