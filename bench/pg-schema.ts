// A schema of its own in the bench's PostgreSQL for one run: the servers connect to it (its search_path
// in the URL), and the admin session that made it drops it afterwards.
import pg from 'pg';

export type BenchSchema = { name: string; url: string; admin: pg.Client; drop(): Promise<void> };

export async function createBenchSchema(databaseUrl: string, prefix: string): Promise<BenchSchema> {
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  const name = `${prefix}_${Date.now().toString(36)}`;
  await admin.query(`CREATE SCHEMA ${name}`);
  const url = new URL(databaseUrl);
  // Options already in the URL (auto_explain, log sampling while probing) are kept.
  url.searchParams.set('options', `${url.searchParams.get('options') ?? ''} -c search_path=${name}`.trim());
  return {
    name,
    url: url.toString(),
    admin,
    async drop() {
      await admin.query(`DROP SCHEMA ${name} CASCADE`);
      await admin.end();
    },
  };
}
